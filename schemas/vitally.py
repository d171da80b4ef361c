"""The Vitally REST payloads we send and read (docs/interfaces.md, Vitally calls).

Vitally speaks camelCase JSON; the models use snake_case names with camelCase aliases, and
accept either name when built. Requests reject unknown fields (a typo should fail here, not be
silently dropped); responses ignore them, since live tenants send far more than is documented.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer
from pydantic.alias_generators import to_camel

from schemas.timestamps import LenientTimestamp

ParticipantType = Literal["user", "admin"]
JsonScalar = str | int | float | bool | None
TraitValue = JsonScalar | list[JsonScalar]

T = TypeVar("T")


class _Request(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class _Response(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Participant(_Request):
    """A message's sender or recipient: a Vitally user (customer) or admin (teammate), by id."""

    type: ParticipantType
    id: str


class MessageCreate(_Request):
    """One message, posted alone or as part of a new conversation.

    `external_id` is our dedupe key (the Unthread message id); `message` is HTML.
    Vitally infers inbound/outbound from the sender's type.
    """

    external_id: str
    message: str
    from_: Participant = Field(alias="from")
    to: list[Participant]
    # Naive datetimes are refused: guessing their zone would silently shift messages.
    timestamp: AwareDatetime | None = None

    @field_serializer("timestamp")
    def _utc_millis(self, value: datetime | None) -> str | None:
        # Vitally documents "2020-12-11T20:16:27.370Z": UTC, milliseconds, "Z".
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ConversationCreate(_Request):
    """A new conversation with its first message(s); `external_id` is the Unthread id.

    Status and source are read-only in Vitally, so the source's state travels in `traits`.
    """

    external_id: str
    subject: str
    messages: list[MessageCreate] = Field(min_length=1)
    traits: dict[str, TraitValue] = Field(default_factory=dict)
    # Returned by Vitally but not in its documented create body; sent only when set.
    external_url: str | None = None


class ConversationUpdate(_Request):
    """A change to an existing conversation (``PUT /resources/conversations/:id``).

    Vitally merges `traits` into the conversation's (a null value removes that trait) and
    replaces `subject`; fields left None are not sent. Status is read-only in Vitally, so
    the source's status travels in `traits` here too.
    """

    subject: str | None = None
    traits: dict[str, TraitValue] | None = None
    # Vitally updates the conversation's messages of these externalIds (an edit in Unthread).
    messages: list[MessageCreate] | None = None

    def body(self) -> dict[str, object]:
        """The JSON body: only the fields set, trait values of null kept (they clear)."""
        body: dict[str, object] = {}
        if self.subject is not None:
            body["subject"] = self.subject
        if self.traits:
            body["traits"] = dict(self.traits)
        if self.messages:
            body["messages"] = [
                m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in self.messages
            ]
        return body


class VitallyUser(_Response):
    """A customer-side person in Vitally."""

    id: str
    email: str | None = None
    name: str | None = None
    external_id: str | None = None
    created_at: LenientTimestamp = None
    deactivated_at: LenientTimestamp = None
    # Not Vitally's: how many users its email search found with this email (the client sets
    # it when it picks one of several; 1 when the email named one user).
    same_email: int = 1


class VitallyAdmin(_Response):
    """A teammate in Vitally; `license_status` is active, deactivated or auto-created."""

    id: str
    email: str | None = None
    name: str | None = None
    license_status: str | None = None

    @property
    def is_active(self) -> bool:
        """Only a licensed admin counts: "auto-created" ones are placeholders."""
        return self.license_status == "active"


class VitallyParticipant(_Response):
    """A message's sender or recipient as Vitally returns it."""

    type: ParticipantType
    id: str

    def as_request(self) -> Participant:
        return Participant(type=self.type, id=self.id)


class VitallyMessage(_Response):
    """A message as Vitally returns it (a conversation read on its own carries them whole)."""

    id: str
    external_id: str | None = None
    conversation_id: str | None = None
    type: str | None = None
    # Sent back as it is with an edit: a time without a zone is UTC, an unreadable one unknown.
    timestamp: LenientTimestamp = None
    message: str | None = None
    from_: VitallyParticipant | None = Field(default=None, alias="from")
    to: list[VitallyParticipant] = Field(default_factory=list)


class VitallyConversationSummary(_Response):
    """A conversation as listed (lists carry no messages)."""

    id: str
    external_id: str | None = None
    subject: str | None = None
    created_at: LenientTimestamp = None


class VitallyConversation(VitallyConversationSummary):
    """One conversation read on its own, with its messages."""

    messages: list[VitallyMessage] = Field(default_factory=list)


class Page(_Response, Generic[T]):
    """One page of a list; pass `next` back as the `from` cursor, None at the end."""

    results: list[T]
    next: str | None = None
