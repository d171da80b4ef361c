"""EventHandler and the DLQ: what a dead letter says, and a failed record handled again
(replayed at its offset, or re-driven from the DLQ) without a second write in Vitally."""

from __future__ import annotations

from dataclasses import replace

from schemas.dead_letter import REDRIVEN_FROM
from streams.handler import SourceRecord
from tests.unit.sync_world import CONV, created, posted
from tests.unit.test_handler import KEY, MESSAGES, Harness, outcome
from vitally.errors import VitallyRejected


def _redriven(h: Harness, record: SourceRecord) -> SourceRecord:
    """``record`` produced again by ``dlq redrive``: a new offset, the marker header."""
    h.offset += 1
    headers = (*record.headers, (REDRIVEN_FROM, b"vitally-sync.dlq/3/0"))
    return replace(record, offset=h.offset, headers=headers)


async def test_a_rejection_says_its_class_stage_attempts_and_times() -> None:
    h = Harness()
    await h.feed(created())
    h.vitally.fail_next("add_message", VitallyRejected(422, method="POST", path=MESSAGES))
    source = replace(h.source(posted()), headers=(("traceparent", b"00-abc-01"),))
    await h.feed(source)
    [letter] = h.outputs.dead_letters
    assert letter.source.headers == (("traceparent", b"00-abc-01"),)  # the input's own, kept
    failure = letter.failure
    assert (failure.reason, failure.stage) == ("vitally_rejected", "sync")
    assert failure.error_class == "vitally.errors.VitallyRejected"
    assert failure.detail == "vitally_rejected POST /resources/conversations/{id}/messages"
    assert failure.attempts == 1 and failure.tenant_id == "T01ACME"
    assert failure.first_attempt_at == failure.failed_at > 0


async def test_an_invalid_record_is_a_parse_failure() -> None:
    h = Harness()
    await h.feed(h.raw(CONV.encode(), b"{not json"))
    [letter] = h.outputs.dead_letters
    assert (letter.failure.stage, letter.reason) == ("parse", "invalid_json")
    assert letter.failure.error_class == "schemas.events.InvalidEvent"
    assert letter.failure.tenant_id is None


async def test_a_failed_record_replayed_after_a_later_one_synced_is_handled_again() -> None:
    h = Harness()
    await h.feed(created())
    h.vitally.fail_next("add_message", VitallyRejected(422, method="POST", path=MESSAGES))
    failed = h.source(posted(message_id="m_2"))
    assert outcome(await h.feed(failed)) == ("failed", "vitally_rejected")
    assert outcome(await h.feed(posted(message_id="m_3"))) == ("synced", None)
    # Before, the table said every offset up to m_3's was applied: the replay was a duplicate.
    assert outcome(await h.feed(failed)) == ("synced", None)
    assert outcome(await h.feed(failed)) == ("duplicate", "already_synced")
    assert h.vitally.count("add_message") == 3  # m_2 rejected, m_3, m_2: nothing twice


async def test_a_redriven_dead_letter_syncs_once_and_only_once() -> None:
    h = Harness()
    await h.feed(created())
    h.vitally.fail_next("add_message", VitallyRejected(422, method="POST", path=MESSAGES))
    await h.feed(posted(message_id="m_2"))
    await h.feed(posted(message_id="m_3"))
    [letter] = h.outputs.dead_letters
    assert outcome(await h.feed(_redriven(h, letter.source))) == ("synced", None)
    again = await h.feed(_redriven(h, letter.source))
    assert outcome(again) == ("duplicate", "already_synced")
    replayed = await h.feed(letter.source)  # the original, at its own offset
    assert outcome(replayed) == ("duplicate", "already_synced")
    [conversation] = h.vitally.conversations("T01ACME")
    assert [m.body.external_id for m in conversation.messages] == ["m_initial", "m_3", "m_2"]


async def test_a_redriven_record_looks_vitally_up_before_writing() -> None:
    # Its message is in Vitally although the table does not say so (an owner posted it and
    # died before its table write): a re-drive adopts it instead of posting it again.
    h = Harness()
    await h.feed(created())
    before = h.state
    posted_once = h.source(posted(message_id="m_2"))
    await h.feed(posted_once)
    h.states.put(KEY, before)  # type: ignore[arg-type]
    audit = await h.feed(_redriven(h, posted_once))
    assert outcome(audit) == ("duplicate", "already_in_vitally")
    assert h.vitally.count("add_message") == 1
