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
* Mentions: a ``<@U…>`` in an initial message's text that names the conversation's
  submitter or assignee gets their name, key or not; one that the event's people do not
  name is looked up among the tenant's Unthread users by Slack id (at most ten per
  message). The name is written into the text as Slack's mention label
  (:mod:`processors.mentions`). A name is never what the sync needs: without a key, or not
  found, the mention stays neutral and nothing is noted as unresolved.
* Conversation created: one `GET /conversations/{id}` when the initial message, the
  submitter's email, the status or the creation time is missing, or the payload says nothing
  of an assignee; then every field the event left empty (title included, tags named by id
  alone) is taken from the answer, and people still without an email are looked up by id.
  An assignee the payload names as null stays unassigned: that is what the event said.
* Conversation updated: the webhook's usual shape is ids only. The conversation is fetched
  when the payload says nothing of its assignee or its status, or names its tags by id
  alone; then every field it left out (status, priority, tags, title, assignee, ...) is
  Unthread's current value, so the update applies what Unthread shows now. An assignee named
  by id is looked up by id.

Without a tenant Unthread key no call is made: the result says which ids would have been
looked up (`why="no_unthread_key"`), so the audit can say that a key would fix it.
:class:`unthread.UnthreadError` from a lookup is not caught here: the stream layer decides
(transient: retry or park; `unthread_auth_failed`: the tenant's key needs replacing).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar

from processors.body import mention_names
from processors.direction import not_synced
from processors.filling import ids_only, missing_from, says_assignee, with_user
from processors.mentions import NO_NAMES, labelled, names_of, unnamed
from schemas.events import (
    Conversation,
    ConversationEvent,
    ConversationEventType,
    InboundEvent,
    Message,
    MessageEvent,
    RevisionEvent,
)
from schemas.unthread import UnthreadUser
from unthread.target import UnthreadTarget

# Slack's ts: unix seconds with a microsecond fraction ("1748707942.332879").
_SLACK_TS = re.compile(r"^\d{9,11}\.\d{1,6}$")

LookedUp = Literal["user", "sentByUser", "conversation", "submitterUser", "assignedToUser"]
LookedUpBy = Literal["slackId", "id"]
Where = Literal["message", "conversation", "initialMessage"]
Why = Literal["no_unthread_key", "not_found"]
T = TypeVar("T")


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

    where: Where
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
    if isinstance(event, MessageEvent) or (
        isinstance(event, RevisionEvent) and event.event == "message_updated"
    ):
        # An edit's body is rendered as its message_created's was: mentions by name.
        message = await resolver.message(event.data, "message")
        enriched: InboundEvent = event.model_copy(update={"data": message})
    elif isinstance(event, ConversationEvent) and event.event != "conversation_deleted":
        conversation = await resolver.conversation(event.data, event.event)
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
        self,
        message: Message,
        where: Literal["message", "initialMessage"],
        people: Mapping[str, str] = NO_NAMES,
    ) -> Message:
        """The message with what it left out filled in; ``people``: names the rest of the
        event gives (a conversation's submitter and assignee), for its mentions."""
        update: dict[str, object] = {}
        if message.timestamp is None and (at := slack_time(message)) is not None:
            update["timestamp"] = at
        if _is_synced(message):
            update.update(await self._sender(message, where))
        if update:
            message = message.model_copy(update=update)
        return await self._mentions(message, people)

    async def _mentions(self, message: Message, people: Mapping[str, str]) -> Message:
        if not message.text or message.is_private_note:
            return message
        names = dict(people)
        if self.target is not None:
            for slack_id in unnamed(message.text, {**people, **mention_names(message)}):
                self.lookups += 1
                found = await self.lookup.user_by_slack_id(self.target, slack_id)
                if found is not None and found.name:
                    names[slack_id] = found.name
        return (
            message.model_copy(update={"text": labelled(message.text, names)}) if names else message
        )

    async def conversation(
        self, conversation: Conversation, kind: ConversationEventType
    ) -> Conversation:
        created = kind == "conversation_created"
        update: dict[str, object] = {}
        if _needs_fetch(conversation, kind):
            fetched = await self._conversation(conversation.id)
            if fetched is not None:
                update = missing_from(conversation, fetched)
        merged = conversation.model_copy(update=update) if update else conversation
        merged = await self._assignee(merged)
        # An update syncs no people but its assignee: the rest would be lookups for nothing.
        return await self._submitter_and_initial(merged) if created else merged

    async def _assignee(self, conversation: Conversation) -> Conversation:
        assignee = conversation.assigned_to_user
        assignee_id = (assignee.id if assignee else None) or conversation.assigned_to_user_id
        if (assignee is not None and assignee.email) or not assignee_id:
            return conversation
        found = await self._by_id(assignee_id, "conversation", "assignedToUser")
        if found is None:
            return conversation
        return conversation.model_copy(update={"assigned_to_user": with_user(assignee, found)})

    async def _submitter_and_initial(self, conversation: Conversation) -> Conversation:
        update: dict[str, object] = {}
        submitter = conversation.submitter_user
        if submitter is not None and not submitter.email and submitter.id:
            found = await self._by_id(submitter.id, "conversation", "submitterUser")
            if found is not None:
                submitter = update["submitter_user"] = with_user(submitter, found)
        if conversation.initial_message is not None:
            people = names_of((submitter, conversation.assigned_to_user))
            initial = await self.message(conversation.initial_message, "initialMessage", people)
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
                    return {"sent_by_user": with_user(sent_by, found)}
            # Direction reads `user.email` when the on-behalf sender has none.
        user = message.user
        if user is not None and user.email:
            return {}
        if message.user_id:
            found = await self._by_slack_id(message.user_id, where, "user")
            if found is not None:
                return {"user": with_user(user, found)}
        return {}

    async def _conversation(self, conversation_id: str) -> Conversation | None:
        def fetch(target: UnthreadTarget) -> Awaitable[Conversation | None]:
            return self.lookup.conversation(target, conversation_id)

        return await self._ask("conversation", "conversation", "id", conversation_id, fetch)

    async def _by_id(self, user_id: str, where: Where, what: LookedUp) -> UnthreadUser | None:
        def fetch(target: UnthreadTarget) -> Awaitable[UnthreadUser | None]:
            return self.lookup.user_by_id(target, user_id)

        return await self._ask(where, what, "id", user_id, fetch)

    async def _by_slack_id(
        self, slack_id: str, where: Where, what: LookedUp
    ) -> UnthreadUser | None:
        def fetch(target: UnthreadTarget) -> Awaitable[UnthreadUser | None]:
            return self.lookup.user_by_slack_id(target, slack_id)

        return await self._ask(where, what, "slackId", slack_id, fetch)

    async def _ask(
        self,
        where: Where,
        what: LookedUp,
        by: LookedUpBy,
        value: str,
        fetch: Callable[[UnthreadTarget], Awaitable[T | None]],
    ) -> T | None:
        """One lookup, or a note of why it could not be made or found nothing."""
        if self.target is None:
            self.unresolved.append(Unresolved(where, what, by, value, "no_unthread_key"))
            return None
        self.lookups += 1
        found = await fetch(self.target)
        if found is None:
            self.unresolved.append(Unresolved(where, what, by, value, "not_found"))
        return found


def _is_synced(message: Message) -> bool:
    """Whether the sync would post this message as its sender's (processors.direction):
    senders of notes, autoresponses and bot posts are not worth a lookup."""
    return not_synced(message) is None


def _needs_fetch(conversation: Conversation, kind: ConversationEventType) -> bool:
    if not says_assignee(conversation) or conversation.status is None:
        return True
    if kind != "conversation_created":
        return ids_only(conversation.tags)
    submitter = conversation.submitter_user
    return bool(
        conversation.initial_message is None
        or submitter is None
        or not submitter.email
        or conversation.status is None
        or conversation.created_at is None
    )
