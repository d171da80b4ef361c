"""The Vitally request bodies the sandbox accepts: a conversation and a message.

Parsing is strict about types (a number where a string belongs is a 400, as a careful
Vitally would answer) and quiet about extra fields, which Vitally ignores. Whether the
participants exist is checked against the org afterwards, in `check_participants`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sandboxkit.clock import parse_iso
from sandboxkit.errors import bad_request

from vitally_sandbox.state import Org, Participant, ParticipantType


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)


class ParticipantIn(_Body):
    type: ParticipantType
    id: str = Field(min_length=1)

    def record(self) -> Participant:
        return Participant(self.type, self.id)


class MessageIn(_Body):
    """One message. An empty `message` is refused: the sandbox assumes the stricter Vitally."""

    external_id: str = Field(alias="externalId", min_length=1)
    message: str = Field(min_length=1)
    sender: ParticipantIn = Field(alias="from")
    to: list[ParticipantIn] = Field(min_length=1)
    cc: list[ParticipantIn] = Field(default_factory=list)
    bcc: list[ParticipantIn] = Field(default_factory=list)
    timestamp: float | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _iso_timestamp(cls, value: object) -> float | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be an ISO-8601 string")
        try:
            return parse_iso(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from exc

    def participants(self) -> list[tuple[str, ParticipantIn]]:
        """Every participant with where it sits in the message, for error messages."""
        found = [("from", self.sender)]
        for name, group in (("to", self.to), ("cc", self.cc), ("bcc", self.bcc)):
            found += [(f"{name}[{i}]", p) for i, p in enumerate(group)]
        return found


class ConversationIn(_Body):
    external_id: str = Field(alias="externalId", min_length=1)
    subject: str | None = None
    messages: list[MessageIn] = Field(min_length=1)
    traits: dict[str, Any] | None = None


class ConversationUpdateIn(_Body):
    """A `PUT /resources/conversations/:id` body: the editable fields, each optional.

    Vitally documents `subject`, `messages` and `traits` as editable; the rest (`status`,
    `rating`, `source`, `externalId`, the participants) is read-only or create-only and,
    like unknown fields, ignored.
    """

    subject: str | None = None
    messages: list[MessageIn] | None = None
    traits: dict[str, Any] | None = None


def check_participants(org: Org, message: MessageIn, where: str) -> None:
    """Refuse a participant that is not a user or admin of the org under its stated type."""
    for place, participant in message.participants():
        known = org.users if participant.type == "user" else org.admins
        if participant.id not in known:
            kind, wanted = participant.type, participant.id
            raise bad_request(f"{where}{place}.id: no {kind} with id {wanted!r}")
