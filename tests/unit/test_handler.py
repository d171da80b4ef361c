"""EventHandler: one record start to finish, against in-memory ports and Vitally (no Kafka)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from demo import events as ev

from processors.clock import FrozenClock
from processors.conversation_index import ConversationIndex
from processors.directory import CachedDirectory
from processors.protocols import Collaborators
from processors.unthread_lookup import CachedUnthreadLookup
from schemas.audit import AuditRecord
from schemas.state import ConversationState, ParkedEvent
from streams.handler import EventHandler, SourceRecord, state_key
from streams.parking import ParkedIndex, ParkingPolicy
from streams.tenant_gate import TenantGate
from streams.waiting import WaitingEvents
from tests.fakes import (
    FakeTime,
    InMemoryEntries,
    InMemoryStates,
    InMemoryVitally,
    RecordedSleep,
    RecordingOutputs,
    StaticTenants,
    tenant_context,
)
from tests.unit.sync_world import CONV, JANE, OPS, SAM, TENANT, created, posted, revised
from tests.unit.unthread.fakes import InMemoryUnthread
from vitally.errors import (
    VitallyAuthError,
    VitallyError,
    VitallyNotFound,
    VitallyRateLimited,
    VitallyRejected,
    VitallyRequestError,
    VitallyServerError,
    VitallyThrottled,
)
from vitally.retry import RetryPolicy

INPUT = "unthread.conversation-events"
RETRY = "vitally-sync.retry"
KEY = state_key(TENANT, CONV)
CREATE = "/resources/conversations"
MESSAGES = "/resources/conversations/{id}/messages"


class Harness:
    """The handler wired to fakes; records are fed in at increasing offsets of partition 3."""

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        connected: bool = True,
        tenant_cap: int = 1 << 30,
        min_delay_s: float = 0,
        people_window_s: float = 7 * 24 * 3600,
        unthread_key: str | None = None,
        max_event_bytes: int = 64 * 1024,
        revisions: bool = False,
    ) -> None:
        self.vitally = InMemoryVitally()
        self.unthread = InMemoryUnthread()
        self.jane = self.vitally.add_user(TENANT, JANE)
        self.sam = self.vitally.add_admin(TENANT, SAM)
        self.vitally.add_admin(TENANT, OPS)
        self.tenant = tenant_context(
            TENANT, default_admin_email=OPS, unthread_key=unthread_key,
            sync_message_edits=revisions, sync_message_deletions=revisions,
        )  # fmt: skip
        self.tenants = StaticTenants(*([self.tenant] if connected else []))
        self.states = InMemoryStates()
        self.entries = InMemoryEntries()
        self.outputs = RecordingOutputs()
        # One clock for all; waits move it on instead of passing.
        self.clock = FakeTime(FrozenClock().at.timestamp())
        self.sleep = RecordedSleep(self.clock)
        # Waits before a look-up (a write that may still land) are recorded, not slept.
        self.settle_sleep = RecordedSleep(self.clock)
        self.directory = CachedDirectory(
            self.vitally,
            conversations=ConversationIndex(
                self.vitally, clock=self.clock, sleep=self.settle_sleep
            ),
        )
        self.maybe_applied_offsets: set[int] = set()
        self.gate = TenantGate(tenant_cap)
        self.stopping = False
        self.handler = EventHandler(
            tenants=self.tenants,
            states=self.states,
            waiting=self.entries,
            outputs=self.outputs,
            calls=Collaborators(self.vitally, self.directory, self.clock),
            unthread=CachedUnthreadLookup(self.unthread),
            retry=RetryPolicy(max_attempts=max_attempts, base_delay=0.5, max_delay=8, jitter=0),
            # Parked events are due at once (unless asked otherwise), so a test can resume
            # them without waiting.
            parking=ParkingPolicy(
                min_delay_s=min_delay_s,
                backlogged_delay_s=0,
                people_window_s=people_window_s,
                jitter=0,
            ),
            index=ParkedIndex(),
            retry_topic=RETRY,
            max_event_bytes=max_event_bytes,
            maybe_applied=self._maybe_applied,
            gate=self.gate,
            stopping=lambda: self.stopping,
            sleep=self.sleep,
        )
        self.offset = 100

    async def _maybe_applied(self, record: SourceRecord) -> bool:
        return record.offset in self.maybe_applied_offsets

    def source(self, record: ev.Record) -> SourceRecord:
        return self.raw(record.key, record.value)

    def raw(self, key: bytes | None, value: bytes | None) -> SourceRecord:
        self.offset += 1
        return SourceRecord(INPUT, 3, self.offset, key, value)

    def raw_at(self, record: ev.Record, offset: int) -> SourceRecord:
        """``record`` again at ``offset``: a replay or a redelivery."""
        return SourceRecord(INPUT, 3, offset, record.key, record.value)

    async def feed(self, record: ev.Record | SourceRecord) -> AuditRecord:
        """Handle one input record; it must produce exactly one audit record."""
        source = record if isinstance(record, SourceRecord) else self.source(record)
        before = len(self.outputs.audits)
        audits = await self.handler.handle(source)
        assert len(audits) == 1, audits
        assert self.outputs.audits[before:] == audits
        return audits[0]

    async def resume(self, key: str = KEY) -> list[AuditRecord]:
        self.offset += 1
        return await self.handler.handle(
            SourceRecord(RETRY, 3, self.offset, key.encode(), key.encode())
        )

    @property
    def state(self) -> ConversationState | None:
        return self.states.get(KEY)

    @property
    def parked(self) -> tuple[ParkedEvent, ...]:
        """The conversation's queue, in order, from the waiting table."""
        state = self.state
        if state is None:
            return ()
        return tuple(slot.event for slot in WaitingEvents(self.entries).queued(KEY, state))

    @property
    def aside(self) -> tuple[ParkedEvent, ...]:
        state = self.state
        if state is None:
            return ()
        return tuple(slot.event for slot in WaitingEvents(self.entries).aside(KEY, state))


def no_answer(path: str) -> VitallyRequestError:
    """A POST that timed out: it may have landed."""
    return VitallyRequestError(
        "ReadTimeout", method="POST", path=path, reason="vitally_timeout", maybe_applied=True
    )


def outcome(audit: AuditRecord) -> tuple[str, str | None]:
    return audit.outcome, audit.reason


# ----- the happy path, and what every audit record carries -----


async def test_synced_conversation_audit_and_state() -> None:
    h = Harness()
    record = created(text="Hi, the *export* fails with my key sk_live_123")
    event = json.loads(record.value)
    audit = await h.feed(record)

    [stored] = h.vitally.conversations(TENANT)
    assert audit.model_dump() == {
        "schema_version": 1,
        "tenant_id": TENANT,
        "conversation_id": CONV,
        "message_id": None,
        "event": "conversation_created",
        "event_id": event["eventId"],
        "source": {"topic": INPUT, "partition": 3, "offset": h.offset},
        "outcome": "synced",
        "reason": None,
        "detail": None,
        "vitally_conversation_id": stored.id,
        "vitally_message_id": stored.messages[0].message.id,
        "api_calls": 3,  # user, admin, create
        "attempts": 1,
        "event_timestamp": event["eventTimestamp"],
        "processed_at": audit.processed_at,
        "origin": "live",
    }
    assert audit.processed_at > 0
    assert h.state is not None and h.state.synced
    assert h.state.vitally_conversation_id == stored.id
    assert h.state.last_offset == h.offset
    assert h.outputs.dead_letters == []
    wire = audit.to_json().decode()
    assert "export" not in wire and "sk_live" not in wire  # no message text
    assert h.tenant.target.authorization not in wire and "secret" not in wire


async def test_audit_json_uses_the_contract_field_names() -> None:
    h = Harness()
    wire = json.loads((await h.feed(created())).to_json())
    for name in (
        "tenantId",
        "conversationId",
        "messageId",
        "event",
        "eventId",
        "source",
        "outcome",
        "reason",
        "vitallyConversationId",
        "vitallyMessageId",
        "apiCalls",
        "attempts",
        "eventTimestamp",
        "processedAt",
    ):
        assert name in wire
    assert wire["source"] == {"topic": INPUT, "partition": 3, "offset": h.offset}


async def test_a_conversation_then_its_replies() -> None:
    h = Harness()
    await h.feed(created())
    customer = await h.feed(posted("thanks", message_id="m_2"))
    support = await h.feed(posted("fixed", message_id="m_3", sender=SAM, external=False))
    assert outcome(customer) == outcome(support) == ("synced", None)
    assert customer.message_id == "m_2" and support.message_id == "m_3"
    assert customer.api_calls == 1  # Jane's user was cached by the creation
    assert support.api_calls == 1  # Sam too
    assert [m.body.external_id for m in h.vitally.conversations(TENANT)[0].messages] == [
        "m_initial",
        "m_2",
        "m_3",
    ]
    assert h.state is not None and h.state.message_ids == ("m_initial", "m_2", "m_3")


async def test_the_same_record_again_is_a_duplicate_without_calls() -> None:
    h = Harness()
    record = created()
    source = h.source(record)
    [first] = await h.handler.handle(source)
    calls = len(h.vitally.calls)
    [again] = await h.handler.handle(source)  # redelivered after a crash before the commit
    assert outcome(first) == ("synced", None)
    assert outcome(again) == ("duplicate", "already_synced")
    assert again.api_calls == 0 and len(h.vitally.calls) == calls
    assert len(h.vitally.conversations(TENANT)) == 1


async def test_a_record_that_may_have_been_applied_is_verified_first() -> None:
    h = Harness()
    h.maybe_applied_offsets.add(h.offset + 1)
    audit = await h.feed(created())
    assert outcome(audit) == ("synced", None)
    methods = h.vitally.methods()
    assert methods.index("list_conversations") < methods.index("create_conversation")


async def _posted_by_a_previous_owner(h: Harness, message_id: str) -> None:
    """The message reached Vitally, but the owner that posted it died before the table did."""
    before = h.state
    await h.feed(posted(message_id=message_id))
    h.states.put(KEY, before)  # type: ignore[arg-type]


def _taken_over(h: Harness, redelivered: int) -> None:
    """The next ``redelivered`` records were below the end offset when this owner took over."""
    h.maybe_applied_offsets.update(range(h.offset + 1, h.offset + 1 + redelivered))


async def test_a_record_that_may_have_been_applied_is_verified_when_it_was_parked() -> None:
    # A takeover's backlog fills the tenant's share at once: the redelivered record is parked
    # (tenant_backlogged) and resumed later by a new retry record, which is not below the
    # takeover's horizon. The parked event must remember that it may already be in Vitally.
    h = Harness(tenant_cap=1)
    await h.feed(created())
    await _posted_by_a_previous_owner(h, "m_2")
    _taken_over(h, 1)
    assert h.gate.try_enter(TENANT)  # another event of the tenant is in flight
    parked = await h.feed(posted(message_id="m_2"))
    assert outcome(parked) == ("parked", "tenant_backlogged")
    h.gate.leave(TENANT)

    [resolved] = await h.resume()
    assert outcome(resolved) == ("duplicate", "already_in_vitally")
    messages = h.vitally.conversations(TENANT)[0].messages
    assert [m.body.external_id for m in messages] == ["m_initial", "m_2"]
    assert resolved.api_calls == 1  # the look-up, no post


async def test_a_record_that_may_have_been_applied_is_verified_when_it_waited() -> None:
    h = Harness(max_attempts=1)
    await h.feed(created())
    await _posted_by_a_previous_owner(h, "m_2")
    _taken_over(h, 2)
    # An earlier event of the conversation is parked, so the redelivered one waits behind it.
    h.vitally.fail_next("add_message", VitallyServerError(503, method="POST", path=MESSAGES))
    first = await h.feed(posted("earlier", message_id="m_1b"))
    assert outcome(first) == ("parked", "vitally_unavailable")
    waiting = await h.feed(posted(message_id="m_2"))
    assert outcome(waiting) == ("parked", "waiting_for_earlier_event")

    resolved = await h.resume()
    assert [outcome(a) for a in resolved] == [("synced", None), ("duplicate", "already_in_vitally")]
    messages = h.vitally.conversations(TENANT)[0].messages
    assert sorted(m.body.external_id for m in messages) == ["m_1b", "m_2", "m_initial"]


# ----- a missing person holds back only what depends on them -----


def unknown_time(record: ev.Record) -> datetime:
    return datetime.fromisoformat(json.loads(record.value or b"")["data"]["timestamp"])


async def test_a_message_from_an_unknown_person_waits_alone_and_keeps_its_time() -> None:
    h = Harness()
    stranger = "new@customer.example"
    await h.feed(created())
    unknown = posted("who?", message_id="m_1b", sender=stranger)
    first = await h.feed(unknown)
    assert outcome(first) == ("parked", "customer_not_in_vitally")
    assert first.detail is not None and stranger in first.detail and "add" in first.detail
    # The rest of the thread flows past it.
    later = await h.feed(posted("later", message_id="m_2"))
    assert outcome(later) == ("synced", None)
    messages = h.vitally.conversations(TENANT)[0].messages
    assert [m.body.external_id for m in messages] == ["m_initial", "m_2"]

    h.vitally.add_user(TENANT, stranger)
    await h.directory.forget(h.tenant.target, "user", stranger)
    h.clock.seconds += 3600  # its re-check is due
    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)
    assert resolved.source.offset == first.source.offset
    by_id = {m.body.external_id: m.body for m in h.vitally.conversations(TENANT)[0].messages}
    assert by_id["m_1b"].timestamp == unknown_time(unknown)
    assert h.state is not None and not h.aside and not h.state.unapplied


async def test_a_conversation_whose_creation_waits_still_holds_its_messages() -> None:
    h = Harness()
    stranger = "new@customer.example"
    first = await h.feed(created(submitter=stranger))
    assert outcome(first) == ("parked", "customer_not_in_vitally")
    waiting = await h.feed(posted(message_id="m_2"))
    assert outcome(waiting) == ("parked", "waiting_for_earlier_event")
    assert h.vitally.conversations(TENANT) == []


async def test_a_replay_is_answered_at_once_even_behind_a_parked_event() -> None:
    h = Harness(max_attempts=1)
    await h.feed(created())
    applied = posted("applied", message_id="m_1")
    synced = await h.feed(applied)
    assert outcome(synced) == ("synced", None)
    h.vitally.fail_next("add_message", VitallyServerError(503, method="POST", path=MESSAGES))
    assert outcome(await h.feed(posted("blocked", message_id="m_2"))) == (
        "parked",
        "vitally_unavailable",
    )
    replayed = await h.handler.handle(h.raw_at(applied, synced.source.offset))
    assert [outcome(a) for a in replayed] == [("duplicate", "already_synced")]


async def test_a_recheck_makes_a_missing_person_due_at_once() -> None:
    h = Harness(min_delay_s=60)
    stranger = "new@customer.example"
    await h.feed(created())
    await h.feed(posted("who?", message_id="m_1b", sender=stranger))
    h.vitally.add_user(TENANT, stranger)  # the cached miss is forgotten by the re-check
    assert await h.resume() == []  # its backoff has not passed
    h.clock.seconds += 1
    h.tenants.rechecks[TENANT] = int(h.clock.seconds * 1000)
    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)


async def test_a_replay_after_adding_a_missing_person_syncs_what_was_given_up() -> None:
    h = Harness(people_window_s=0)
    stranger = "new@customer.example"
    await h.feed(created())
    unknown = posted("who?", message_id="m_1b", sender=stranger)
    gave_up = await h.feed(unknown)
    assert outcome(gave_up) == ("skipped", "customer_not_in_vitally")
    assert gave_up.detail is not None and "replay" in gave_up.detail
    h.vitally.add_user(TENANT, stranger)
    await h.directory.forget(h.tenant.target, "user", stranger)
    [replayed] = await h.handler.handle(h.raw_at(unknown, gave_up.source.offset))
    assert outcome(replayed) == ("synced", None)


async def test_not_connected_and_unsupported_are_skipped() -> None:
    h = Harness(connected=False)
    audit = await h.feed(created())
    assert outcome(audit) == ("skipped", "integration_not_connected")
    other = ev.Record.of(CONV, ev.envelope(TENANT, "conversation_assigned", {"id": CONV}))
    audit = await h.feed(other)
    assert outcome(audit) == ("skipped", "unsupported_event")
    assert audit.event == "conversation_assigned"
    assert h.vitally.calls == [] and h.states.data == {} and h.outputs.dead_letters == []


# ----- invalid records -----


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        (CONV.encode(), b"{not json", "invalid_json"),
        (CONV.encode(), b"[]", "invalid_json"),
        (CONV.encode(), b"[" * 5000 + b"]" * 5000, "invalid_json"),
        (
            CONV.encode(),
            json.dumps(
                {"tenantId": TENANT, "event": "message_created", "data": {"conversationId": CONV}}
            ).encode(),
            "invalid_schema",
        ),
        (None, created().value, "missing_key"),
        (b"c_other", created().value, "key_mismatch"),
        (CONV.encode(), b" " * (64 * 1024 + 1), "oversized"),
    ],
)
async def test_invalid_record_goes_to_the_dlq_with_one_audit(
    key: bytes | None, value: bytes, kind: str
) -> None:
    h = Harness()
    audit = await h.feed(h.raw(key, value))
    assert outcome(audit) == ("failed", "invalid_event")
    assert audit.detail == kind
    assert audit.api_calls == 0
    [letter] = h.outputs.dead_letters
    assert letter.source.value == value and letter.source.key == key  # unchanged
    assert letter.source.offset == h.offset and letter.source.partition == 3
    assert letter.reason == kind
    assert h.vitally.calls == [] and h.states.data == {}


async def test_invalid_record_audit_names_what_could_be_read() -> None:
    h = Harness()
    record = created()
    envelope = json.loads(record.value)
    audit = await h.feed(h.raw(b"c_other", record.value))
    assert (audit.tenant_id, audit.event, audit.event_id) == (
        TENANT,
        "conversation_created",
        envelope["eventId"],
    )
    assert audit.conversation_id == "c_other"
    assert audit.event_timestamp == envelope["eventTimestamp"]


# ----- failures from Vitally -----


async def test_transient_failure_is_retried_with_backoff() -> None:
    h = Harness(max_attempts=4)
    h.vitally.fail_next(
        "find_user_by_email",
        VitallyServerError(503, method="GET", path="/resources/users/search"),
        times=2,
    )
    audit = await h.feed(created())
    assert outcome(audit) == ("synced", None)
    assert audit.attempts == 3
    assert h.sleep.calls == [0.5, 1.0]
    assert audit.api_calls == 5  # two failed lookups, then user, admin, create
    assert len(h.vitally.conversations(TENANT)) == 1


async def test_rate_limit_advice_is_the_wait() -> None:
    h = Harness()
    h.vitally.fail_next(
        "create_conversation", VitallyRateLimited(429, method="POST", path=CREATE, retry_after=2.5)
    )
    audit = await h.feed(created())
    assert outcome(audit) == ("synced", None)
    assert h.sleep.calls == [2.5]
    assert len(h.vitally.conversations(TENANT)) == 1


@pytest.mark.parametrize(
    "error",
    [
        VitallyRateLimited(429, method="POST", path=CREATE, retry_after=60),
        # Not sent: the tenant's budget is blocked for 60 s by an earlier 429.
        VitallyThrottled(method="POST", path=CREATE, retry_after=60),
    ],
)
async def test_rate_limit_longer_than_max_delay_parks_instead_of_waiting(
    error: VitallyError,
) -> None:
    h = Harness()
    h.vitally.fail_next("create_conversation", error)
    audit = await h.feed(created())
    assert outcome(audit) == ("parked", "vitally_rate_limited")
    assert h.sleep.calls == []
    assert h.state is not None and [p.reason for p in h.parked] == ["vitally_rate_limited"]


@pytest.mark.parametrize(
    "error",
    [
        VitallyServerError(502, method="POST", path=CREATE, maybe_applied=True),
        no_answer(CREATE),
    ],
    ids=["5xx", "timeout"],
)
async def test_maybe_applied_create_is_verified_not_repeated(error: VitallyError) -> None:
    h = Harness()
    h.vitally.apply_then_fail("create_conversation", error)
    audit = await h.feed(created())
    [stored] = h.vitally.conversations(TENANT)  # exactly one, though the first try "failed"
    assert outcome(audit) == ("duplicate", "already_in_vitally")
    assert audit.attempts == 2
    assert audit.vitally_conversation_id == stored.id
    assert h.vitally.count("create_conversation") == 1
    assert h.vitally.count("list_conversations") == 1
    assert h.state is not None and h.state.synced
    assert h.state.vitally_conversation_id == stored.id


async def test_a_create_that_may_have_landed_is_not_judged_by_a_scan_made_before_it() -> None:
    # Taken over: the create is looked up first (a scan, not found), then it times out after
    # Vitally made it. The retry must read the list again, not trust that earlier scan.
    h = Harness()
    h.maybe_applied_offsets.add(h.offset + 1)
    h.vitally.apply_then_fail(
        "create_conversation",
        no_answer(CREATE),
    )
    audit = await h.feed(created())
    assert outcome(audit) == ("duplicate", "already_in_vitally")
    assert len(h.vitally.conversations(TENANT)) == 1
    assert h.vitally.count("list_conversations") == 2


async def test_a_post_that_may_have_landed_is_not_judged_by_a_read_made_before_it() -> None:
    h = Harness()
    await h.feed(created())
    h.maybe_applied_offsets.add(h.offset + 1)  # taken over: looked up first (not there)
    h.vitally.apply_then_fail(
        "add_message",
        no_answer(MESSAGES),
    )  # fmt: skip
    audit = await h.feed(posted(message_id="m_2"))
    assert outcome(audit) == ("duplicate", "already_in_vitally")
    messages = h.vitally.conversations(TENANT)[0].messages
    assert [m.body.external_id for m in messages] == ["m_initial", "m_2"]
    assert h.vitally.count("get_conversation") == 2
    # Vitally may still be working on the post: the look-up waits out the settle time first.
    assert h.sleep.calls == [0.5] and len(h.settle_sleep.calls) == 1
    assert 9 < h.settle_sleep.calls[0] <= 10


async def test_a_backlog_of_one_conversation_reads_it_once() -> None:
    h = Harness()
    await h.feed(created())
    _taken_over(h, 3)
    audits = [await h.feed(posted(message_id=f"m_{n}")) for n in (2, 3, 4)]
    assert [outcome(a) for a in audits] == [("synced", None)] * 3
    assert h.vitally.count("get_conversation") == 1
    assert h.vitally.count("add_message") == 3


async def test_maybe_applied_message_is_verified_not_repeated() -> None:
    h = Harness()
    await h.feed(created())
    h.vitally.apply_then_fail(
        "add_message",
        VitallyRequestError(
            "ReadTimeout",
            method="POST",
            path=MESSAGES,
            reason="vitally_timeout",
            maybe_applied=True,
        ),
    )
    audit = await h.feed(posted(message_id="m_2"))
    messages = h.vitally.conversations(TENANT)[0].messages
    assert [m.body.external_id for m in messages] == ["m_initial", "m_2"]
    assert outcome(audit) == ("duplicate", "already_in_vitally")
    assert audit.vitally_message_id == messages[1].message.id
    assert h.state is not None and "m_2" in h.state.message_ids


async def test_rejected_payload_fails_to_the_dlq() -> None:
    h = Harness()
    h.vitally.fail_next("create_conversation", VitallyRejected(400, method="POST", path=CREATE))
    audit = await h.feed(created())
    assert outcome(audit) == ("failed", "vitally_rejected")
    assert audit.attempts == 1 and h.sleep.calls == []
    assert audit.detail == "vitally_rejected POST /resources/conversations"
    [letter] = h.outputs.dead_letters
    assert letter.reason == "vitally_rejected"
    assert h.states.data == {}


async def test_a_conversation_deleted_in_vitally_is_a_known_state_not_a_failure() -> None:
    # Someone deleted the conversation in Vitally: repeating will not help, and each later
    # event is skipped for that reason, without a call and without the DLQ.
    h = Harness()
    await h.feed(created())
    h.vitally.fail_next("add_message", VitallyNotFound(404, method="POST", path=MESSAGES))
    audit = await h.feed(posted())
    assert outcome(audit) == ("skipped", "deleted_in_vitally")
    state = h.states.get(state_key(TENANT, CONV))
    assert state is not None and state.vitally_missing
    calls = len(h.vitally.calls)
    later = await h.feed(posted(message_id="m_3"))
    assert outcome(later) == ("skipped", "deleted_in_vitally")
    assert len(h.vitally.calls) == calls
    assert h.outputs.dead_letters == []


async def test_the_tenant_setting_recreates_a_conversation_deleted_in_vitally() -> None:
    h = Harness()
    await h.feed(created())
    [first] = h.vitally.conversations(TENANT)
    h.vitally.fail_next("add_message", VitallyNotFound(404, method="POST", path=MESSAGES))
    await h.feed(posted())
    # The operator connects the tenant again with onVitallyConversationMissing "recreate".
    h.tenants.contexts[TENANT] = tenant_context(
        TENANT, default_admin_email=OPS, on_vitally_conversation_missing="recreate"
    )
    audit = await h.feed(posted(text="Still broken", message_id="m_3"))
    assert (outcome(audit), audit.detail) == (("synced", None), "recreated_in_vitally")
    again = h.vitally.conversations(TENANT)[-1]
    assert again.id != first.id and audit.vitally_conversation_id == again.id
    assert again.body.external_id == CONV and again.body.subject == first.body.subject
    assert [m.external_id for m in again.body.messages] == ["m_3"]
    assert again.body.traits == first.body.traits
    follow_up = await h.feed(posted(text="Thanks", message_id="m_4"))
    assert outcome(follow_up) == ("synced", None)
    assert follow_up.vitally_conversation_id == again.id


async def test_rejected_key_parks_and_flags_the_tenant() -> None:
    h = Harness()
    h.vitally.fail_next(
        "find_user_by_email", VitallyAuthError(401, method="GET", path="/resources/users/search")
    )
    audit = await h.feed(created())
    assert outcome(audit) == ("parked", "integration_needs_attention")
    assert audit.detail == "vitally_auth_failed"
    assert h.tenants.flagged == {TENANT: "vitally_auth_failed"}
    assert h.outputs.dead_letters == []

    calls = len(h.vitally.calls)
    other = await h.feed(created(conversation_id="c_other"))
    assert outcome(other) == ("parked", "integration_needs_attention")
    assert len(h.vitally.calls) == calls  # the flagged key is not used again

    assert await h.resume() == []  # still flagged: nothing is due
    h.tenants.reconnect(TENANT)
    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)
    assert resolved.source.topic == INPUT  # the audit names the original record
    assert h.state is not None and h.state.synced and h.parked == ()


async def test_a_stopping_or_rebalancing_worker_parks_instead_of_waiting_to_retry() -> None:
    h = Harness(max_attempts=5)
    stop = h.vitally.hold("create_conversation")

    async def rebalance_during_the_call() -> None:
        await asyncio.sleep(0)
        h.stopping = True
        stop.set()

    h.vitally.fail_next(
        "create_conversation", VitallyServerError(503, method="POST", path=CREATE), times=5
    )
    audit, _ = await asyncio.gather(h.feed(created()), rebalance_during_the_call())
    assert outcome(audit) == ("parked", "vitally_unavailable")
    assert audit.attempts == 1 and h.sleep.calls == []
    assert h.state is not None and h.parked[0].verify is False  # a 503 is not applied


async def test_a_stopping_or_rebalancing_worker_starts_no_call_and_hands_over() -> None:
    h = Harness()
    await h.feed(created())
    h.stopping = True
    calls = len(h.vitally.calls)
    handed = await h.feed(posted(message_id="m_2"))
    waiting = await h.feed(posted(message_id="m_3"))
    assert [outcome(a) for a in (handed, waiting)] == [
        ("parked", "worker_handover"),
        ("parked", "waiting_for_earlier_event"),
    ]
    assert len(h.vitally.calls) == calls
    assert await h.resume() == []  # nor does a retry record resume anything while stopping
    assert h.state is not None and len(h.parked) == 2

    h.stopping = False  # the next owner: due at once
    resolved = await h.resume()
    assert [outcome(a) for a in resolved] == [("synced", None), ("synced", None)]
    assert [a.message_id for a in resolved] == ["m_2", "m_3"]


async def test_exhausted_retries_park_the_event() -> None:
    h = Harness(max_attempts=3)
    h.vitally.fail_next(
        "create_conversation",
        VitallyServerError(503, method="POST", path=CREATE, maybe_applied=True),
        times=3,
    )
    audit = await h.feed(created())
    assert outcome(audit) == ("parked", "vitally_unavailable")
    assert audit.attempts == 3
    assert h.sleep.calls == [0.5, 1.0]
    assert h.outputs.dead_letters == []
    assert h.state is not None
    [parked] = h.parked
    assert parked.reason == "vitally_unavailable" and parked.verify  # may have landed

    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)
    assert h.state is not None and h.parked == () and h.state.synced
    assert len(h.vitally.conversations(TENANT)) == 1


async def test_a_parked_write_that_got_no_answer_hands_on_when_it_was_made() -> None:
    # The create timed out (Vitally made it anyway) and the event parked. Whoever resumes it,
    # with a fresh index, must not look it up before Vitally may be done with that write.
    h = Harness(max_attempts=1)
    h.vitally.apply_then_fail(
        "create_conversation",
        no_answer(CREATE),
    )  # fmt: skip
    before = int(h.clock.seconds * 1000)
    parked = await h.feed(created())
    assert outcome(parked) == ("parked", "vitally_unavailable")
    assert h.state is not None
    [event] = h.parked
    assert event.verify and event.unsure_at is not None and event.unsure_at >= before

    h.directory.taken_over()  # as on the partition's next owner
    h.settle_sleep.calls.clear()
    [resolved] = await h.resume()
    assert outcome(resolved) == ("duplicate", "already_in_vitally")
    assert len(h.vitally.conversations(TENANT)) == 1
    [waited] = h.settle_sleep.calls  # until the write's settle time had passed
    assert 9 < waited <= 10


async def test_unexpected_exception_is_an_internal_error_in_the_dlq() -> None:
    h = Harness()
    h.vitally.fail_next("find_admin_by_email", ValueError("invalid Vitally base URL"))
    audit = await h.feed(created())
    assert outcome(audit) == ("failed", "internal_error")
    assert audit.detail == "ValueError"
    [letter] = h.outputs.dead_letters
    assert letter.reason == "internal_error"
    assert letter.source.key == CONV.encode()


# ----- parking: waits in order, resolves once, one audit per transition -----


async def test_missing_customer_parks_and_later_events_wait_behind_it() -> None:
    h = Harness()
    stranger = "new@customer.example"
    first = await h.feed(
        created(
            submitter=stranger,
            initial=ev.message(CONV, "hi", message_id="m_initial", sender=stranger, external=True),
        )
    )
    assert outcome(first) == ("parked", "customer_not_in_vitally")
    reply = await h.feed(posted("hello?", message_id="m_2", sender=stranger))
    assert outcome(reply) == ("parked", "waiting_for_earlier_event")
    assert reply.api_calls == 0
    assert h.state is not None
    assert [p.reason for p in h.parked] == [
        "customer_not_in_vitally",
        "waiting_for_earlier_event",
    ]

    assert await h.resume() == []  # still missing: re-parked quietly, nothing new to report
    h.vitally.add_user(TENANT, stranger)
    await h.directory.forget(h.tenant.target, "user", stranger)
    resolved = await h.resume()
    assert [outcome(a) for a in resolved] == [("synced", None), ("synced", None)]
    assert [a.message_id for a in resolved] == [None, "m_2"]
    assert [m.body.external_id for m in h.vitally.conversations(TENANT)[0].messages] == [
        "m_initial",
        "m_2",
    ]
    assert h.state is not None and h.parked == ()
    assert await h.resume() == []  # nothing left to do
    # one audit per input record, and one more per parked event that resolved
    assert len(h.outputs.audits) == 2 + 2


async def test_a_redelivered_parked_record_is_not_parked_twice() -> None:
    h = Harness()
    record = created(
        submitter="new@customer.example",
        initial=ev.message(
            CONV, "hi", message_id="m_initial", sender="new@customer.example", external=True
        ),
    )
    source = h.source(record)
    [first] = await h.handler.handle(source)
    [again] = await h.handler.handle(source)
    assert outcome(first) == ("parked", "customer_not_in_vitally")
    assert outcome(again) == ("duplicate", "already_parked")
    assert h.state is not None and len(h.parked) == 1


async def test_a_parked_event_that_then_fails_is_not_retried_forever() -> None:
    h = Harness(max_attempts=1)
    h.vitally.fail_next("create_conversation", VitallyServerError(503, method="POST", path=CREATE))
    parked = await h.feed(created())
    assert outcome(parked) == ("parked", "vitally_unavailable")

    h.vitally.fail_next("create_conversation", VitallyRejected(400, method="POST", path=CREATE))
    [failed] = await h.resume()
    assert outcome(failed) == ("failed", "vitally_rejected")
    assert len(h.outputs.dead_letters) == 1
    assert h.state is None or h.parked == ()
    assert await h.resume() == []  # resolved once: no second audit, no second dead letter
    assert len(h.outputs.dead_letters) == 1


async def test_a_parked_event_of_a_tenant_disconnected_meanwhile_resolves_once() -> None:
    h = Harness(max_attempts=1)
    h.vitally.fail_next("create_conversation", VitallyServerError(503, method="POST", path=CREATE))
    await h.feed(created())
    h.tenants.contexts.clear()  # disconnected while the event was parked
    [skipped] = await h.resume()
    assert outcome(skipped) == ("skipped", "integration_not_connected")
    assert h.state is None or h.parked == ()
    assert await h.resume() == []


async def test_every_record_gets_exactly_one_audit() -> None:
    h = Harness()
    h.vitally.fail_next("add_message", VitallyRejected(422, method="POST", path=MESSAGES))
    records = [
        created(),
        posted(message_id="m_2"),  # rejected
        posted(message_id="m_3", isPrivateNote=True),
        posted(message_id="m_4", sender=SAM, external=False),
        posted(message_id="m_4", sender=SAM, external=False),  # an upstream re-send
        ev.Record(CONV.encode(), b"garbage"),
        ev.Record.of(CONV, ev.envelope(TENANT, "conversation_assigned", {"id": CONV})),
    ]
    audits = [await h.feed(r) for r in records]
    assert [outcome(a) for a in audits] == [
        ("synced", None),
        ("failed", "vitally_rejected"),
        ("skipped", "private_note"),
        ("synced", None),
        ("duplicate", "already_synced"),
        ("failed", "invalid_event"),
        ("skipped", "unsupported_event"),
    ]
    assert [a.source.offset for a in audits] == list(range(101, 108))
    assert [d.reason for d in h.outputs.dead_letters] == ["vitally_rejected", "invalid_json"]


# ----- sparse events: what they leave out is looked up in Unthread -----


def sparse_reply(message_id: str = "m_2", **ids: str | bool) -> ev.Record:
    """A message_created as Unthread's webhook sends it: ids only, no people, no time."""
    data: dict[str, object] = {"id": message_id, "conversationId": CONV, "content": "Any news?"}
    data.update(ids)
    return ev.Record.of(CONV, ev.envelope(TENANT, "message_created", data))


async def test_a_sparse_reply_syncs_once_its_sender_is_looked_up_in_unthread() -> None:
    h = Harness(unthread_key="acme-unthread-key")
    assert h.tenant.unthread is not None
    h.unthread.add_user(h.tenant.unthread, id="u-jane", slackId="UJANE", email=JANE)
    await h.feed(created())
    synced = await h.feed(sparse_reply(userId="UJANE", isExternal=True))
    assert outcome(synced) == ("synced", None)
    assert h.unthread.calls == [("slackId", "UJANE")]
    [message] = h.vitally.conversations(TENANT)[0].messages[1:]
    assert message.body.from_.id == h.jane.id


async def test_without_an_unthread_key_the_audit_says_which_id_and_that_a_key_would_help() -> None:
    h = Harness()
    await h.feed(created())
    skipped_ = await h.feed(sparse_reply(userId="UJANE", isExternal=True))
    assert outcome(skipped_) == ("skipped", "unthread_key_missing")
    assert skipped_.detail is not None and "UJANE" in skipped_.detail
    assert "unthreadApiKey" in skipped_.detail
    assert h.state is not None and not h.state.applied(skipped_.source.offset)  # replayable


async def test_unthread_down_parks_and_a_rejected_unthread_key_needs_attention() -> None:
    h = Harness(unthread_key="acme-unthread-key", max_attempts=1)
    await h.feed(created())
    h.unthread.fail_next = 1
    parked = await h.feed(sparse_reply(userId="UJANE", isExternal=True))
    assert outcome(parked) == ("parked", "unthread_unavailable")

    other = Harness(unthread_key="acme-unthread-key")
    await other.feed(created())
    other.unthread.reject_key = True
    flagged = await other.feed(sparse_reply(userId="UJANE", isExternal=True))
    assert outcome(flagged) == ("parked", "integration_needs_attention")
    assert other.tenants.flagged == {TENANT: "unthread_auth_failed"}


# ----- edits and deletions found by reconciliation -----


async def test_an_edit_and_a_deletion_from_reconciliation_are_audited_and_applied_once() -> None:
    h = Harness(revisions=True)
    await h.feed(created())
    await h.feed(posted("Any news?", message_id="m_2"))
    edit = revised("message_updated", "Any news at all?")
    audit = await h.feed(edit)
    assert outcome(audit) == ("synced", None)
    assert (audit.event, audit.message_id, audit.origin, audit.api_calls) == (
        "message_updated", "m_2", "reconcile", 2,
    )  # fmt: skip
    # The next pass reads the conversation again: the same edit, at a new offset.
    again = await h.feed(edit)
    assert (outcome(again), again.api_calls) == (("duplicate", "already_synced"), 0)
    gone = await h.feed(revised("message_deleted", ""))
    assert (outcome(gone), gone.api_calls) == (("synced", None), 2)
    assert [m.body.external_id for m in h.vitally.conversations(TENANT)[0].messages] == [
        "m_initial"
    ]
    assert h.state is not None and h.state.revised == {"m_2": -1}
