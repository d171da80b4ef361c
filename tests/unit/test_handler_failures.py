"""Each class of failure while handling one record, and what it does (README, Failures):
what may clear by itself parks, a bug fails the record to the DLQ, a surprise while resuming
leaves the conversation waiting, and only Kafka refusing our output stops the worker."""

from __future__ import annotations

from typing import Any

import pytest

from apiclient.errors import ApiError
from schemas.audit import AuditRecord, Reason
from schemas.state import ConversationState
from streams.handler import OutputFailed, _given_up
from tests.unit.sync_world import created, posted
from tests.unit.test_handler import CREATE, KEY, Harness, outcome
from unthread import errors as unthread_errors
from vitally import errors as vitally_errors
from vitally.errors import VitallyServerError


class BrokenStates:
    """A conversations table whose writes fail as a bug in our bookkeeping would."""

    def __init__(self) -> None:
        self.data: dict[str, ConversationState] = {}

    def get(self, key: str) -> ConversationState | None:
        return self.data.get(key)

    def put(self, key: str, state: ConversationState) -> None:
        raise RuntimeError("bookkeeping bug")


async def test_a_transient_failure_parks_with_backoff_and_an_audit_record() -> None:
    h = Harness(max_attempts=1)
    h.vitally.fail_next(
        "create_conversation", VitallyServerError(503, method="POST", path=CREATE), times=1
    )
    audit = await h.feed(created())
    assert outcome(audit) == ("parked", "vitally_unavailable")
    assert h.outputs.dead_letters == []


async def test_a_bug_in_processing_fails_the_record_to_the_dlq() -> None:
    h = Harness()
    h.vitally.fail_next("find_admin_by_email", KeyError("bug"))
    audit = await h.feed(created())
    assert outcome(audit) == ("failed", "internal_error")
    assert [d.reason for d in h.outputs.dead_letters] == ["internal_error"]


async def test_a_bug_in_our_bookkeeping_fails_the_record_to_the_dlq_without_raising() -> None:
    h = Harness()
    h.handler._states = BrokenStates()
    audit = await h.feed(created())
    assert outcome(audit) == ("failed", "internal_error") and audit.detail == "RuntimeError"
    assert audit.tenant_id is None  # nothing of the event in it: it must serialise
    [letter] = h.outputs.dead_letters
    assert letter.reason == "internal_error" and letter.source.offset == h.offset


async def test_an_audit_record_that_cannot_be_serialised_fails_the_record_not_the_worker() -> None:
    h = Harness()
    sent = h.outputs.audit

    async def picky(record: AuditRecord) -> None:
        if record.tenant_id is not None:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        await sent(record)

    h.outputs.audit = picky  # type: ignore[method-assign]
    audit = await h.handler.handle(h.source(created()))
    assert [outcome(a) for a in audit] == [("failed", "internal_error")]


async def test_kafka_refusing_our_output_is_the_one_failure_that_raises() -> None:
    h = Harness()

    async def refused(record: AuditRecord) -> None:
        raise OutputFailed("audit record not sent")

    h.outputs.audit = refused  # type: ignore[method-assign]
    with pytest.raises(OutputFailed):
        await h.handler.handle(h.source(created()))


async def test_a_surprise_while_resuming_leaves_the_conversation_waiting_and_deferred() -> None:
    h = Harness(max_attempts=1)
    h.vitally.fail_next(
        "create_conversation", VitallyServerError(503, method="POST", path=CREATE), times=1
    )
    await h.feed(created())
    await h.feed(posted(message_id="m_2"))
    broken = h.handler._waiting
    h.handler._waiting = None  # type: ignore[assignment]  # every resume step now raises
    assert await h.resume() == []
    h.handler._waiting = broken
    assert len(h.parked) == 2
    now = int(h.clock.seconds * 1000)
    assert h.handler._index.due(now, {3}) == []  # not every 30 s: after the longest backoff
    assert h.handler._index.due(now + 3600 * 1000, {3}) == [(KEY, 3)]


# What an event that gives up on a failure ends as: one map from the API to its reasons.
@pytest.mark.parametrize(
    ("error", "park", "reason"),
    [
        (vitally_errors.status_error(404, method="GET", path="/x"), None, "vitally_rejected"),
        (vitally_errors.status_error(422, method="POST", path="/x"), None, "vitally_rejected"),
        (
            vitally_errors.status_error(503, method="GET", path="/x"),
            "vitally_unavailable",
            "vitally_unavailable",
        ),
        (
            vitally_errors.status_error(429, method="GET", path="/x"),
            "vitally_rate_limited",
            "vitally_unavailable",
        ),
        (vitally_errors.status_error(302, method="GET", path="/x"), None, "vitally_unavailable"),
        (unthread_errors.status_error(404, method="GET", path="/x"), None, "unthread_rejected"),
        (
            unthread_errors.status_error(503, method="GET", path="/x"),
            "unthread_unavailable",
            "unthread_unavailable",
        ),
        (
            unthread_errors.status_error(429, method="GET", path="/x"),
            "unthread_rate_limited",
            "unthread_rate_limited",
        ),
        (unthread_errors.status_error(302, method="GET", path="/x"), None, "unthread_rejected"),
    ],
)
def test_each_api_failure_ends_with_its_own_reason(
    error: ApiError[Any], park: Reason | None, reason: Reason
) -> None:
    ended = _given_up(error, park)
    assert (ended.outcome, ended.reason) == ("failed", reason)
    assert ended.detail == f"{error.reason} {error.method} /x"
