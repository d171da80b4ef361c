"""The benchmark's workload: tenants, their people, and conversations with several messages.

:func:`generate` is deterministic for a seed: it returns a *plan* (who says what, in which
order) without timestamps. :func:`render` turns one planned event into an input-topic
Kafka record at produce time, so each event's ``eventTimestamp`` is when it was produced and
the latency from event to Vitally write can be measured against it.

Skew: a few conversations are hot. ``hot_fraction`` of the conversations (10% by default)
carry ``hot_share`` of all messages (half by default); the rest share the remainder evenly.
Events of all conversations are interleaved at random (a uniform shuffle of the multiset of
conversation slots), so a hot conversation's messages are spread over the whole stream, as
they would be in a busy workspace, rather than arriving as one burst.

Sparse (``WorkloadConfig.sparse``): the same plan rendered as Unthread's webhooks send it
(:func:`render_sparse`): ids only, ``content``, no time, no people. A ``conversation_created``
carries its id, title, the submitter's Slack id and epoch-millisecond times, without
``initialMessage``, ``submitterUser`` or assignee; a customer's message only the Slack
``userId``; an agent's message (posted from the dashboard) Unthread's bot as ``userId`` and
the agent's Unthread id as ``sentByUserId``. :func:`unthread_directory` is what the tenant's
Unthread workspace holds for the worker to look up (every person, every conversation with
its initial message), and :func:`minimum_lookups` the Unthread calls a perfect cache makes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from demo.events import Record, conversation, envelope, message, reply

EventKind = Literal["conversation_created", "message_created"]
TOPICS = ("CSV export", "SSO login", "billing", "webhooks", "the API", "permissions")


@dataclass(frozen=True)
class WorkloadConfig:
    """Sizes of one workload; ``messages`` is the average per conversation, initial included."""

    tenants: int = 8
    conversations: int = 300
    messages: int = 10
    hot_fraction: float = 0.1
    hot_share: float = 0.5
    customers_per_tenant: int = 25
    agents_per_tenant: int = 4
    seed: int = 42
    sparse: bool = False  # rendered as webhooks with ids only (render_sparse)

    @property
    def events(self) -> int:
        return self.conversations * self.messages


@dataclass(frozen=True)
class TenantPlan:
    """One Unthread workspace and the Vitally org it syncs to (same people in both)."""

    tenant_id: str
    customers: tuple[str, ...]
    agents: tuple[str, ...]
    default_admin: str = "ops@vendor.example"


@dataclass(frozen=True)
class EventPlan:
    """One input record: a new conversation (with its initial message) or a reply."""

    tenant_id: str
    conversation_id: str
    kind: EventKind
    message_id: str
    sender: str
    support: bool
    position: int  # the message's place in its conversation, 0 = the initial message
    title: str
    customer: str
    assignee: str

    @property
    def text(self) -> str:
        who = "agent" if self.support else "customer"
        return f"Message {self.position} from the {who} about *{self.title}*, see <https://app.example/x|this>"


@dataclass(frozen=True)
class Workload:
    config: WorkloadConfig
    tenants: tuple[TenantPlan, ...]
    events: tuple[EventPlan, ...]  # in produce order

    def conversation_messages(self) -> dict[tuple[str, str], list[str]]:
        """(tenant, conversation) -> its message ids in produced order."""
        ordered: dict[tuple[str, str], list[str]] = {}
        for event in self.events:
            ordered.setdefault((event.tenant_id, event.conversation_id), []).append(
                event.message_id
            )
        return ordered


def message_counts(config: WorkloadConfig) -> list[int]:
    """Messages per conversation: the hot ones first, each at least 1 (its initial message)."""
    total, count = config.events, config.conversations
    hot = max(1, round(count * config.hot_fraction)) if config.hot_fraction > 0 else 0
    hot = min(hot, count)
    cold = count - hot
    hot_total = round(total * config.hot_share) if cold else total
    counts = _spread(hot_total, hot) + _spread(total - hot_total, cold)
    # A lopsided configuration could leave some conversation empty: every one has its opening.
    return [max(1, n) for n in counts]


def generate(config: WorkloadConfig, *, prefix: str = "") -> Workload:
    """The plan for ``config``; ``prefix`` keeps ids unique when several runs share a sandbox."""
    rng = random.Random(config.seed)  # noqa: S311 - a workload, not a secret
    tenants = tuple(_tenant(i, config) for i in range(config.tenants))
    counts = message_counts(config)
    slots = [index for index, n in enumerate(counts) for _ in range(n)]
    rng.shuffle(slots)
    plans = [
        _conversation(index, tenants[index % len(tenants)], rng, prefix)
        for index in range(len(counts))
    ]
    positions = [0] * len(counts)
    events: list[EventPlan] = []
    for index in slots:
        tenant_id, conversation_id, title, customer, assignee = plans[index]
        position = positions[index]
        positions[index] += 1
        support = position % 2 == 1  # customer opens, then support and customer alternate
        events.append(
            EventPlan(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                kind="conversation_created" if position == 0 else "message_created",
                message_id=f"{conversation_id}-m{position:04d}",
                sender=assignee if support else customer,
                support=support,
                position=position,
                title=title,
                customer=customer,
                assignee=assignee,
            )
        )
    return Workload(config, tenants, tuple(events))


def render(event: EventPlan, at: datetime, *, sparse: bool = False) -> Record:
    """The Kafka record for ``event`` as if it happened at ``at`` (its eventTimestamp);
    ``sparse``: as a webhook with ids only (:func:`render_sparse`)."""
    if sparse:
        return render_sparse(event, at)
    if event.kind == "message_created":
        return reply(
            event.tenant_id, event.conversation_id, event.text, sender=event.sender,
            support=event.support, at=at, message_id=event.message_id,
        )  # fmt: skip
    initial = message(
        event.conversation_id, event.text, message_id=event.message_id, sender=event.customer,
        external=True, at=at,
    )  # fmt: skip
    data = conversation(
        event.conversation_id, title=f"Problem with {event.title}", submitter=event.customer,
        assignee=event.assignee, initial=initial, created_at=at,
    )  # fmt: skip
    return Record.of(
        event.conversation_id, envelope(event.tenant_id, "conversation_created", data, at=at)
    )


# The user id Unthread's bot posts dashboard replies under (sentByUserId names the agent).
UNTHREAD_BOT_SLACK_ID = "U0UNTHREADBOT"


def unthread_user_id(email: str) -> str:
    """The Unthread user id of a workload person (customer or agent)."""
    return "ut-" + _id_part(email).lower()


def slack_id(email: str) -> str:
    """The Slack user id of a workload person."""
    return "U" + _id_part(email).upper().replace("-", "")


def render_sparse(event: EventPlan, at: datetime) -> Record:
    """``event`` as Unthread's webhook sends it: ids only, no people, no message time."""
    millis = int(at.timestamp() * 1000)
    data: dict[str, Any]
    if event.kind == "conversation_created":
        data = {
            "id": event.conversation_id,
            "title": f"Problem with {event.title}",
            "userId": slack_id(event.customer),
            "createdAt": millis,
            "updatedAt": millis,
        }
    elif event.support:
        data = {
            "id": event.message_id,
            "conversationId": event.conversation_id,
            "content": event.text,
            "botName": event.sender.split("@")[0],
            "userId": UNTHREAD_BOT_SLACK_ID,
            "sentByUserId": unthread_user_id(event.sender),
        }
    else:
        data = {
            "id": event.message_id,
            "conversationId": event.conversation_id,
            "content": event.text,
            "userId": slack_id(event.sender),
        }
    return Record.of(event.conversation_id, envelope(event.tenant_id, event.kind, data, at=at))


@dataclass(frozen=True)
class UnthreadWorkspace:
    """What one tenant's Unthread workspace holds for the sparse workload's lookups, in the
    shapes the Unthread sandbox's control API takes (``UnthreadSandboxHandle.add_tenant``)."""

    users: tuple[dict[str, Any], ...]
    conversations: tuple[dict[str, Any], ...]


def unthread_directory(workload: Workload) -> dict[str, UnthreadWorkspace]:
    """Tenant id -> its Unthread workspace: every person, and every conversation as
    ``GET /conversations/{id}`` answers it (submitter, assignee, initial message)."""
    conversations: dict[str, list[dict[str, Any]]] = {t.tenant_id: [] for t in workload.tenants}
    for event in workload.events:
        if event.kind != "conversation_created":
            continue
        conversations[event.tenant_id].append(
            {
                "id": event.conversation_id,
                "title": f"Problem with {event.title}",
                "status": "open",
                "submitterUserId": unthread_user_id(event.customer),
                "assignedToUserId": unthread_user_id(event.assignee),
                # No ts: the message's time is the event's, as in the full workload.
                "initialMessage": {
                    "id": event.message_id,
                    "text": event.text,
                    "userId": slack_id(event.customer),
                },
            }
        )
    return {
        tenant.tenant_id: UnthreadWorkspace(
            users=tuple(
                {
                    "id": unthread_user_id(email),
                    "name": email.split("@")[0],
                    "email": email,
                    "slackId": slack_id(email),
                }
                for email in (*tenant.customers, *tenant.agents)
            ),
            conversations=tuple(conversations[tenant.tenant_id]),
        )
        for tenant in workload.tenants
    }


def minimum_lookups(workload: Workload) -> int:
    """Unthread calls for the sparse workload when each conversation and each person is
    looked up once: a conversation on its ``conversation_created`` (the answer names its
    submitter, assignee and initial message's sender), a person on their first reply."""
    conversations = sum(1 for event in workload.events if event.position == 0)
    people = {(event.tenant_id, event.sender) for event in workload.events if event.position}
    return conversations + len(people)


def _id_part(email: str) -> str:
    local, _, domain = email.partition("@")
    return "".join(ch for ch in f"{local}-{domain.split('.')[0]}" if ch.isalnum() or ch == "-")


def _spread(total: int, parts: int) -> list[int]:
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _tenant(index: int, config: WorkloadConfig) -> TenantPlan:
    domain = f"customer{index:02d}.example"
    return TenantPlan(
        tenant_id=f"T{index:02d}BENCH",
        customers=tuple(f"c{j:03d}@{domain}" for j in range(config.customers_per_tenant)),
        agents=tuple(f"agent{k:02d}@vendor.example" for k in range(config.agents_per_tenant)),
    )


def _conversation(
    index: int, tenant: TenantPlan, rng: random.Random, prefix: str
) -> tuple[str, str, str, str, str]:
    return (
        tenant.tenant_id,
        f"{prefix}conv-{index:05d}",
        rng.choice(TOPICS),
        rng.choice(tenant.customers),
        rng.choice(tenant.agents),
    )
