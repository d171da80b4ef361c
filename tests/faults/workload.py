"""A deterministic workload for the fault suite, built with demo/events.py's builders.

T tenants, each its own sandbox org (users, admins, token) connected through the CLI. Each
tenant has C conversations: a ``conversation_created`` carrying the initial message, then M
replies alternating support / customer. Every person exists in Vitally, so every message
must end up there exactly once, in produced order.

Records are interleaved across conversations (round by round, conversations in a seeded
shuffle per round), so a run keeps many conversations in flight at once, and each
conversation's own events keep their order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from demo.events import Record, conversation, envelope, message

from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

DEFAULT_ADMIN = "ops@vendor.example"
# High enough that pacing never decides a scenario's runtime; storm429 lowers it on purpose.
FAST_RATE_LIMIT = 100_000

Expected = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    subdomain: str
    token: str
    customers: tuple[str, ...]
    agents: tuple[str, ...]


@dataclass
class Workload:
    tenants: int = 2
    conversations: int = 150
    replies: int = 9
    seed: int = 7
    prefix: str = "f"
    _tenants: list[Tenant] = field(default_factory=list, init=False)
    _records: list[Record] = field(default_factory=list, init=False)
    _expected: Expected = field(default_factory=dict, init=False)

    @property
    def events(self) -> int:
        return self.tenants * self.conversations * (1 + self.replies)

    def tenant_list(self) -> list[Tenant]:
        if not self._tenants:
            self._tenants = [self._tenant(i) for i in range(self.tenants)]
        return self._tenants

    def setup(
        self, sandbox: SandboxHandle, deployed: Deployment, *, rate_limit: int = FAST_RATE_LIMIT
    ) -> None:
        """Create each tenant's org and connect it; call before building the records."""
        for tenant in self.tenant_list():
            sandbox.add_org(
                tenant.subdomain,
                tokens=[tenant.token],
                users=[{"email": e, "name": e.split("@")[0]} for e in tenant.customers],
                admins=[
                    {"email": e, "name": e.split("@")[0], "licenseStatus": "active"}
                    for e in (*tenant.agents, DEFAULT_ADMIN)
                ],
                rate_limit=rate_limit,
            )
            deployed.connect(tenant.tenant_id, subdomain=tenant.subdomain, api_key=tenant.token)

    def records(self) -> list[Record]:
        """Every record in produced order (built once: timestamps follow the first call,
        which must come after :meth:`setup`, since earlier conversations are not synced)."""
        if not self._records:
            self._build(datetime.now(UTC) + timedelta(seconds=1))
        return self._records

    def expected(self) -> Expected:
        """{tenant subdomain: {conversation id: [message externalIds in produced order]}}."""
        self.records()
        return self._expected

    def conversation_ids(self) -> list[tuple[str, str]]:
        """(tenant id, conversation id) of every conversation."""
        by_sub = {t.subdomain: t.tenant_id for t in self.tenant_list()}
        return [(by_sub[s], c) for s, convs in self.expected().items() for c in convs]

    def _tenant(self, index: int) -> Tenant:
        sub = f"{self.prefix}org{index}"
        return Tenant(
            tenant_id=f"T{index:02d}{self.prefix.upper()}",
            subdomain=sub,
            token=f"{sub}-secret",
            customers=tuple(f"cust{k}@{sub}-customer.example" for k in range(5)),
            agents=tuple(f"agent{k}@vendor.example" for k in range(3)),
        )

    def _build(self, start: datetime) -> None:
        rng = random.Random(self.seed)  # noqa: S311 - a reproducible interleaving
        threads: list[list[Record]] = []
        for tenant in self.tenant_list():
            self._expected[tenant.subdomain] = {}
            for c in range(self.conversations):
                conv_id = f"{self.prefix}-{tenant.subdomain}-c{c:04d}"
                events, ids = self._conversation(tenant, c, conv_id, start)
                threads.append(events)
                self._expected[tenant.subdomain][conv_id] = ids
        for step in range(1 + self.replies):
            order = list(range(len(threads)))
            rng.shuffle(order)
            self._records.extend(threads[i][step] for i in order)

    def _conversation(
        self, tenant: Tenant, index: int, conv_id: str, start: datetime
    ) -> tuple[list[Record], list[str]]:
        customer = tenant.customers[index % len(tenant.customers)]
        agent = tenant.agents[index % len(tenant.agents)]
        at = start + timedelta(milliseconds=index)
        initial_id = f"{conv_id}-m00"
        initial = message(
            conv_id, f"Conversation {index}: *export* fails", message_id=initial_id,
            sender=customer, external=True, at=at,
        )  # fmt: skip
        data = conversation(
            conv_id, title=f"Issue {index}", submitter=customer, assignee=agent,
            initial=initial, created_at=at,
        )  # fmt: skip
        records = [
            Record.of(conv_id, envelope(tenant.tenant_id, "conversation_created", data, at=at))
        ]
        ids = [initial_id]
        for step in range(1, 1 + self.replies):
            support = step % 2 == 1
            message_id = f"{conv_id}-m{step:02d}"
            when = at + timedelta(seconds=step)
            body = _reply(conv_id, step, message_id, agent if support else customer, support, when)
            records.append(
                Record.of(conv_id, envelope(tenant.tenant_id, "message_created", body, at=when))
            )
            ids.append(message_id)
        return records, ids


def _reply(
    conv_id: str, step: int, message_id: str, sender: str, support: bool, at: datetime
) -> dict[str, Any]:
    text = f"reply {step} from {'support' if support else 'the customer'}"
    return message(conv_id, text, message_id=message_id, sender=sender, external=not support, at=at)
