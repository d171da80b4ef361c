"""Merging what Unthread answered into what an event said, for :mod:`processors.enrichment`.

The event always wins: a field is taken from the fetched conversation only where the event
left it empty, and a person the event named keeps their id and name while gaining an email.
An assignee the payload named, even as null, is the event's word and stays. Tags named by id
alone are as good as left out. ``updatedAt`` is never taken: it dates the event's own data
(:func:`processors.conversations.versions_of`), and a looked-up one would date the lookup.
"""

from __future__ import annotations

from schemas.events import Conversation, Person, Tag
from schemas.unthread import UnthreadUser


def ids_only(tags: list[Tag] | None) -> bool:
    """Whether tags were given by id alone, without one name: their names are unknown."""
    return bool(tags) and not any(tag.name for tag in tags or [])


def says_assignee(conversation: Conversation) -> bool:
    """Whether the payload carried either assignee field, even as null (unassigned)."""
    return bool({"assigned_to_user", "assigned_to_user_id"} & conversation.model_fields_set)


# What a fetched conversation may fill in; `id` is the event's own.
_FILLABLE = (
    "friendly_id",
    "title",
    "status",
    "priority",
    "customer_id",
    "channel_id",
    "created_at",
    "tags",
    "initial_message",
)


def missing_from(event: Conversation, fetched: Conversation) -> dict[str, object]:
    """The fields the event left empty that the fetched conversation has; an assignee the
    payload named stays."""
    fields: tuple[str, ...] = _FILLABLE
    people: tuple[str, ...] = ("submitter_user",)
    if not says_assignee(event):
        fields, people = (*fields, "assigned_to_user_id"), (*people, "assigned_to_user")
    update: dict[str, object] = {
        name: getattr(fetched, name)
        for name in fields
        if _left_out(name, getattr(event, name)) and getattr(fetched, name) is not None
    }
    for name in people:
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


def with_user(person: Person | None, user: UnthreadUser) -> Person:
    return _merged(person, user.as_person())


def _left_out(name: str, value: object) -> bool:
    return value is None or (name == "tags" and isinstance(value, list) and ids_only(value))
