"""The sandbox's in-memory records: orgs and the users, admins and conversations they hold.

Records are plain dataclasses mutated in place; the asyncio server runs one handler step at a
time and no handler awaits while changing them, so no locking is needed.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sandboxkit.ratelimit import SlidingWindow
from sandboxkit.requestlog import OrgStats

from vitally_sandbox.specs import (
    AdminSpec,
    LicenseStatus,
    OrgSpec,
    Scope,
    TokenSpec,
    UserSpec,
    token_specs,
)

ParticipantType = Literal["user", "admin"]
MessageType = Literal["inbound", "outbound"]


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Participant:
    type: ParticipantType
    id: str


@dataclass
class User:
    id: str
    email: str
    name: str | None
    external_id: str | None
    traits: dict[str, Any]
    created_at: float
    seq: int
    deactivated_at: float | None = None


@dataclass
class Admin:
    id: str
    email: str
    name: str | None
    license_status: LicenseStatus


@dataclass
class Message:
    id: str
    type: MessageType
    external_id: str
    conversation_id: str
    message: str
    timestamp: float
    sender: Participant
    to: list[Participant]
    cc: list[Participant]
    bcc: list[Participant]
    # When the sandbox stored it (its clock), unlike `timestamp`, which the client may set:
    # what the control API reports so benchmarks can time the write end to end.
    received_at: float


@dataclass
class Conversation:
    id: str
    external_id: str
    subject: str | None
    traits: dict[str, Any]
    messages: list[Message]
    created_at: float
    updated_at: float
    seq: int


@dataclass
class Org:
    """One Vitally tenant with its tokens, people, conversations, window and counters."""

    subdomain: str
    tokens: dict[str, frozenset[Scope]]
    rate_limit: int | None
    users: dict[str, User] = field(default_factory=dict)
    admins: dict[str, Admin] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    fault_override: dict[str, Any] = field(default_factory=dict)
    window: SlidingWindow = field(default_factory=SlidingWindow)
    stats: OrgStats = field(default_factory=OrgStats)

    def message_count(self) -> int:
        return sum(len(c.messages) for c in self.conversations.values())


class TokenTaken(ValueError):
    """A token may open one org only, since the token alone tells the sandbox which org."""


class DuplicateId(ValueError):
    """A user or admin id is already in use in the org."""


class Store:
    """All orgs, plus the sequence that orders records created in the same clock tick."""

    def __init__(self) -> None:
        self.orgs: dict[str, Org] = {}
        self._seq = itertools.count()

    def next_seq(self) -> int:
        return next(self._seq)

    def clear(self) -> None:
        self.orgs.clear()

    def org_for_token(self, token: str) -> Org | None:
        # A handful of orgs and tokens: a scan is cheaper to keep right than an index.
        return next((o for o in self.orgs.values() if token in o.tokens), None)

    def put_org(self, spec: OrgSpec, now: float) -> Org:
        """Create the org, or replace an org of that subdomain together with all its data."""
        org = Org(spec.subdomain, {}, spec.rate_limit)
        self.set_tokens(org, spec.tokens)
        for user in spec.users:
            self.add_user(org, user, now)
        for admin in spec.admins:
            self.add_admin(org, admin)
        self.orgs[spec.subdomain] = org
        return org

    def set_tokens(self, org: Org, tokens: list[str | TokenSpec]) -> None:
        specs = token_specs(tokens)
        for spec in specs:
            owner = self.org_for_token(spec.token)
            if owner is not None and owner.subdomain != org.subdomain:
                raise TokenTaken(f"token already belongs to org {owner.subdomain!r}")
        org.tokens = {spec.token: spec.scope_set() for spec in specs}

    def add_user(self, org: Org, spec: UserSpec, now: float) -> User:
        user = User(
            id=_fresh_id(spec.id, org.users),
            email=spec.email,
            name=spec.name,
            external_id=spec.external_id,
            traits=dict(spec.traits),
            created_at=now,
            seq=self.next_seq(),
            deactivated_at=now if spec.deactivated else None,
        )
        org.users[user.id] = user
        return user

    def add_admin(self, org: Org, spec: AdminSpec) -> Admin:
        admin = Admin(_fresh_id(spec.id, org.admins), spec.email, spec.name, spec.license_status)
        org.admins[admin.id] = admin
        return admin


def _fresh_id(wanted: str | None, taken: dict[str, Any]) -> str:
    if wanted is None:
        return new_id()
    if wanted in taken:
        raise DuplicateId(f"id {wanted!r} already exists")
    return wanted
