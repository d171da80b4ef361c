"""Filling in what a sparse Unthread event left out, from Unthread's REST API.

Webhooks often carry ids only: a `message_created` with `userId` (a Slack id) or
`sentByUserId` (an Unthread user id) but no `user`/`sentByUser`, no email and no time; a
`conversation_*` without `initialMessage`, `submitterUser` or `status`. The sync needs the
sender's email, the conversation's submitter and initial message, and a message time.
:func:`enrich` returns the event with those filled in where the event had nothing, never
overwriting what the event said, plus what stayed unresolved and why.

* A message's time comes from its Slack `ts`, else from the tail of its id
  (`T08DF0UA02H-C08DWG00P25-1748707942.332879`); no call needed, so this happens with or
  without a key.
* Sender: only for messages the sync would post (no private notes, autoresponses or bot
  posts without `sentByUserId`, see :mod:`processors.direction`). With `sentByUserId` the
  sender is that Unthread user, looked up by id; else the `userId` Slack user.
* Conversation: one `GET /conversations/{id}` when the initial message, the submitter's
  email, the status or the creation time is missing (or an assignee is named by id only);
  then every field the event left empty (title included) is taken from the answer, and
  people still without an email are looked up by id.

Without a tenant Unthread key no call is made: the result says which ids would have been
looked up (`why="no_unthread_key"`), so the audit can say that a key would fix it.
:class:`unthread.UnthreadError` from a lookup is not caught here: the stream layer decides
(transient: retry or park; `unthread_auth_failed`: the tenant's key needs replacing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from schemas.events import (
    Conversation,
    ConversationEvent,
    InboundEvent,
    Message,
    MessageEvent,
    Person,
)
from schemas.unthread import UnthreadUser
from unthread.target import UnthreadTarget

# Slack's ts: unix seconds with a microsecond fraction ("1748707942.332879").
_SLACK_TS = re.compile(r"^\d{9,11}\.\d{1,6}$")

LookedUp = Literal["user", "sentByUser", "conversation", "submitterUser", "assignedToUser"]
LookedUpBy = Literal["slackId", "id"]
Why = Literal["no_unthread_key", "not_found"]


class UnthreadLookup(Protocol):
    """Unthread users and conversations by id (cached in production:
    :class:`processors.unthread_lookup.CachedUnthreadLookup`)."""

    async def user_by_slack_id(
        self, target: UnthreadTarget, slack_id: str
    ) -> UnthreadUser | None: ...

    async def user_by_id(self, target: UnthreadTarget, user_id: str) -> UnthreadUser | None: ...

    async def conversation(
        self, target: UnthreadTarget, conversation_id: str
    ) -> Conversation | None: ...


@dataclass(frozen=True)
class Unresolved:
    """One thing the event left out that could not be filled in: which, by which id, why.
    `where` is "message", "conversation" or "initialMessage"."""

    where: Literal["message", "conversation", "initialMessage"]
    what: LookedUp
    by: LookedUpBy
    id: str
    why: Why


@dataclass(frozen=True)
class Enrichment:
    """The event as the sync should see it, and what stayed unresolved."""

    event: InboundEvent
    unresolved: tuple[Unresolved, ...] = ()
    lookups: int = 0  # lookups asked of the port (cache hits included)

    @property
    def needs_unthread_key(self) -> bool:
        """True when a tenant Unthread key would have let us look something up."""
        return any(item.why == "no_unthread_key" for item in self.unresolved)


async def enrich(
    event: InboundEvent, *, target: UnthreadTarget | None, lookup: UnthreadLookup
) -> Enrichment:
    """`event` with what it left out filled in; see the module docstring for the rules."""
    resolver = _Resolver(target, lookup)
    if isinstance(event, MessageEvent):
        message = await resolver.message(event.data, "message")
        enriched: InboundEvent = event.model_copy(update={"data": message})
    elif isinstance(event, ConversationEvent) and event.event != "conversation_deleted":
        conversation = await resolver.conversation(event.data)
        enriched = event.model_copy(update={"data": conversation})
    else:
        return Enrichment(event)
    return Enrichment(enriched, tuple(resolver.unresolved), resolver.lookups)


def slack_time(message: Message) -> datetime | None:
    """The message's time from its Slack `ts`, else from the `ts` that ends its id."""
    for candidate in (message.ts, message.id.rsplit("-", 1)[-1]):
        if candidate and _SLACK_TS.match(candidate):
            return datetime.fromtimestamp(float(candidate), UTC)
    return None


@dataclass
class _Resolver:
    target: UnthreadTarget | None
    lookup: UnthreadLookup
    unresolved: list[Unresolved] = field(default_factory=list)
    lookups: int = 0

    async def message(
        self, message: Message, where: Literal["message", "initialMessage"]
    ) -> Message:
        update: dict[str, object] = {}
        if message.timestamp is None and (at := slack_time(message)) is not None:
            update["timestamp"] = at
        if _is_synced(message):
            update.update(await self._sender(message, where))
        return message.model_copy(update=update) if update else message

    async def conversation(self, conversation: Conversation) -> Conversation:
        update: dict[str, object] = {}
        if _is_sparse(conversation):
            fetched = await self._conversation(conversation.id)
            if fetched is not None:
                update = _missing_from(conversation, fetched)
        merged = conversation.model_copy(update=update) if update else conversation
        return await self._people(merged)

    async def _people(self, conversation: Conversation) -> Conversation:
        update: dict[str, object] = {}
        submitter = conversation.submitter_user
        if submitter is not None and not submitter.email and submitter.id:
            found = await self._by_id(submitter.id, "conversation", "submitterUser")
            if found is not None:
                update["submitter_user"] = _with(submitter, found)
        assignee = conversation.assigned_to_user
        assignee_id = (assignee.id if assignee else None) or conversation.assigned_to_user_id
        if (assignee is None or not assignee.email) and assignee_id:
            found = await self._by_id(assignee_id, "conversation", "assignedToUser")
            if found is not None:
                update["assigned_to_user"] = _with(assignee, found)
        if conversation.initial_message is not None:
            initial = await self.message(conversation.initial_message, "initialMessage")
            if initial.conversation_id is None:
                initial = initial.model_copy(update={"conversation_id": conversation.id})
            update["initial_message"] = initial
        return conversation.model_copy(update=update) if update else conversation

    async def _sender(
        self, message: Message, where: Literal["message", "initialMessage"]
    ) -> dict[str, object]:
        sent_by = message.sent_by_user
        if message.sent_by_user_id or sent_by is not None:
            if sent_by is not None and sent_by.email:
                return {}
            sent_by_id = (sent_by.id if sent_by else None) or message.sent_by_user_id
            if sent_by_id:
                found = await self._by_id(sent_by_id, where, "sentByUser")
                if found is not None:
                    return {"sent_by_user": _with(sent_by, found)}
            # Direction reads `user.email` when the on-behalf sender has none.
        user = message.user
        if user is not None and user.email:
            return {}
        if message.user_id:
            found = await self._by_slack_id(message.user_id, where, "user")
            if found is not None:
                return {"user": _with(user, found)}
        return {}

    async def _conversation(self, conversation_id: str) -> Conversation | None:
        if self.target is None:
            self._miss("conversation", "conversation", "id", conversation_id, "no_unthread_key")
            return None
        self.lookups += 1
        found = await self.lookup.conversation(self.target, conversation_id)
        if found is None:
            self._miss("conversation", "conversation", "id", conversation_id, "not_found")
        return found

    async def _by_id(
        self, user_id: str, where: Literal["message", "conversation", "initialMessage"],
        what: LookedUp,
    ) -> UnthreadUser | None:  # fmt: skip
        if self.target is None:
            self._miss(where, what, "id", user_id, "no_unthread_key")
            return None
        self.lookups += 1
        found = await self.lookup.user_by_id(self.target, user_id)
        if found is None:
            self._miss(where, what, "id", user_id, "not_found")
        return found

    async def _by_slack_id(
        self, slack_id: str, where: Literal["message", "initialMessage"], what: LookedUp
    ) -> UnthreadUser | None:
        if self.target is None:
            self._miss(where, what, "slackId", slack_id, "no_unthread_key")
            return None
        self.lookups += 1
        found = await self.lookup.user_by_slack_id(self.target, slack_id)
        if found is None:
            self._miss(where, what, "slackId", slack_id, "not_found")
        return found

    def _miss(
        self,
        where: Literal["message", "conversation", "initialMessage"],
        what: LookedUp,
        by: LookedUpBy,
        value: str,
        why: Why,
    ) -> None:
        self.unresolved.append(Unresolved(where, what, by, value, why))


def _is_synced(message: Message) -> bool:
    """Whether the sync would post this message (processors.direction rules 1-2): senders
    of notes, autoresponses and bot posts are not worth a lookup."""
    if message.is_private_note or message.is_autoresponse:
        return False
    return not (message.bot_id and not message.sent_by_user_id)


def _is_sparse(conversation: Conversation) -> bool:
    submitter = conversation.submitter_user
    assignee_named_by_id_only = conversation.assigned_to_user_id and (
        conversation.assigned_to_user is None
    )
    return bool(
        conversation.initial_message is None
        or submitter is None
        or not submitter.email
        or conversation.status is None
        or conversation.created_at is None
        or assignee_named_by_id_only
    )


# What a fetched conversation may fill in; `id` is the event's own.
_FILLABLE = (
    "friendly_id",
    "title",
    "status",
    "priority",
    "customer_id",
    "channel_id",
    "created_at",
    "updated_at",
    "assigned_to_user_id",
    "tags",
    "initial_message",
)
_PEOPLE = ("submitter_user", "assigned_to_user")


def _missing_from(event: Conversation, fetched: Conversation) -> dict[str, object]:
    """The fields the event left empty that the fetched conversation has."""
    update: dict[str, object] = {
        name: getattr(fetched, name)
        for name in _FILLABLE
        if getattr(event, name) is None and getattr(fetched, name) is not None
    }
    for name in _PEOPLE:
        mine: Person | None = getattr(event, name)
        theirs: Person | None = getattr(fetched, name)
        if theirs is not None and (mine is None or (not mine.email and theirs.email)):
            update[name] = _merged(mine, theirs)
    return update


def _merged(mine: Person | None, theirs: Person) -> Person:
    if mine is None:
        return theirs
    return Person(
        id=mine.id or theirs.id, name=mine.name or theirs.name, email=mine.email or theirs.email
    )


def _with(person: Person | None, user: UnthreadUser) -> Person:
    return _merged(person, user.as_person())
