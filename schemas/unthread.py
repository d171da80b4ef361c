"""Unthread REST API answers that the enrichment reads (the conversation itself is
`schemas.events.Conversation`: the REST object and a webhook's `data` are the same shape).

List endpoints answer `{data, totalCount, cursors: {hasNext, hasPrevious, next?, previous?}}`.
Models ignore unknown fields and accept missing ones, like the webhook models.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from schemas.events import Conversation, Person, ThreadMessage

T = TypeVar("T")


class _Answer(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class UnthreadUser(_Answer):
    """An Unthread user (agent or customer); `slack_id` is the `userId` messages carry."""

    id: str = Field(min_length=1)
    name: str | None = None
    email: str | None = None
    slack_id: str | None = None
    photo: str | None = None

    def as_person(self) -> Person:
        return Person(id=self.id, name=self.name, email=self.email)


class Cursors(_Answer):
    """Where a list page sits: whether there are pages after and before it, and their cursors."""

    has_next: bool = False
    has_previous: bool = False
    next: str | None = None
    previous: str | None = None


class ListPage(_Answer, Generic[T]):
    """One page of a `POST /<object>/list` answer."""

    data: list[T] = Field(default_factory=list)
    total_count: int | None = None
    cursors: Cursors = Field(default_factory=Cursors)


ListOperator = Literal["==", "!=", ">", "<", "in", "notIn", "contains", "notContains", "like"]


class Condition(BaseModel):
    """One `where` entry of a list request: `field operator value`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    operator: ListOperator
    value: Any = None


class ListQuery(BaseModel):
    """The body of a `POST /<object>/list` request (Unthread caps `limit` at 100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    where: list[Condition] = Field(default_factory=list)
    order: list[str] | None = None
    descending: bool = False
    limit: int = Field(default=100, ge=1, le=100)
    cursor: str | None = None

    def body(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True)
        if not self.descending:
            del body["descending"]
        return body

    def next_page(self, cursor: str) -> ListQuery:
        return self.model_copy(update={"cursor": cursor})


ConversationPage = ListPage[Conversation]
MessagePage = ListPage[ThreadMessage]
