"""What Unthread really sends reads right in Vitally: the worker from its Procfile, the real
broker, the Vitally (and Unthread) sandboxes, and the conversations Vitally stores.

* A conversation whose first message is a bot's post, an autoresponse or a private note is
  still created, from the submitter, and its follow-ups land in it; a private note's text
  never reaches Vitally.
* A create sent again after the deletion makes no second conversation.
* Odd informative values are left out (and named in the audit), `content` stands in for a
  blank `text`, an event time in seconds dates a message right, a message time far from its
  event's is not trusted.
* Several Vitally users with one email: the documented one is chosen; `Name <address>` is
  read as the address; a value that is no address is skipped at once, never waited for.
* An ids-only `conversation_updated` applies what Unthread shows now.
* A conversation someone deleted in Vitally: later events are skipped with their own reason
  (no DLQ), and the tenant setting brings it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import Record, conversation, envelope, iso, message, person, reply
from unthread_sandbox.process import UnthreadSandboxHandle
from unthread_sandbox.process import run_sandbox as run_unthread_sandbox

from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
TOKEN = "acme-secret-1"
JANE = "jane@customer.example"
PAT = "pat@customer.example"  # two Vitally users (two accounts) and a deactivated one
SAM = "sam@vendor.example"
OPS = "ops@vendor.example"


def _org(sandbox: SandboxHandle) -> dict[str, Any]:
    return sandbox.add_org(
        "acme",
        tokens=[TOKEN],
        users=[
            {"email": JANE, "name": "Jane Doe"},
            {"id": "usr-pat-old", "email": PAT, "name": "Pat (old)", "deactivated": True},
            {"id": "usr-pat-b", "email": PAT, "name": "Pat B"},
            {"id": "usr-pat-a", "email": PAT.upper(), "name": "Pat A"},
        ],
        admins=[
            {"email": SAM, "name": "Sam Agent", "licenseStatus": "active"},
            {"email": OPS, "name": "Ops Default", "licenseStatus": "active"},
        ],
    )


def _created(conversation_id: str, at: datetime, initial: dict[str, Any], **extra: Any) -> Record:
    data = conversation(
        conversation_id, title=extra.pop("title", "Export fails"), submitter=JANE,
        assignee=SAM, initial=initial, created_at=at, **extra,
    )  # fmt: skip
    return Record.of(conversation_id, envelope(TENANT, "conversation_created", data, at=at))


def _first(conversation_id: str, text: str, at: datetime, **flags: Any) -> dict[str, Any]:
    """A first message posted by no person: a bot, an autoresponder, a note's author."""
    body = message(conversation_id, text, message_id=f"{conversation_id}-m1", at=at, **flags)
    body.update(userId=None, user=None)
    return body


def _outcomes(audit: list[dict[str, Any]]) -> dict[tuple[str, str | None], tuple[str, str | None]]:
    return {(a["conversationId"], a["messageId"]): (a["outcome"], a["reason"]) for a in audit}


def _by_external_id(sandbox: SandboxHandle) -> dict[str, list[dict[str, Any]]]:
    stored: dict[str, list[dict[str, Any]]] = {}
    for item in sandbox.conversations("acme"):
        stored.setdefault(item["externalId"], []).append(item)
    return stored


def test_what_unthread_really_sends_reads_right_in_vitally(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    org = _org(sandbox)
    ids = {(u["email"].lower(), u["name"]): u["id"] for u in org["users"]}
    jane_id = ids[(JANE, "Jane Doe")]
    deployed.connect(TENANT, subdomain="acme", api_key=TOKEN)
    deployed.start_worker()
    now = datetime.now(UTC) + timedelta(seconds=1)

    def at(offset: float) -> datetime:
        return now + timedelta(seconds=offset)

    seconds = int(now.timestamp())

    workflow = _first("c-bot", "New request from *Jane*: export fails", at(0),
                      botId="B0FORM", botName="Intake form", subtype="bot_message")  # fmt: skip
    autoresponse = _first(
        "c-auto", "Thanks! We reply within a day.", at(0), botId="B0UT", isAutoresponse=True,
        metadata={"eventType": "autoresponder_replied"},
    )  # fmt: skip
    note = _first("c-note", "VIP, handle with care", at(0), isPrivateNote=True,
                  user=person(SAM), sentByUserId="u_sam", sentByUser=person(SAM))  # fmt: skip
    odd_initial = message("c-odd", "", message_id="c-odd-m1", sender=JANE, external=True,
                          at=at(0), content="Export *fails* since Monday")  # fmt: skip
    odd_initial.update(timestamp=None, ts=None)  # its time is the event's, sent in seconds
    odd = conversation("c-odd", title="Export fails", submitter=JANE, assignee=SAM,
                       initial=odd_initial, created_at=at(0), priority="high",
                       tags=[None, {"id": "t1", "name": "billing"}])  # fmt: skip
    odd_event = envelope(TENANT, "conversation_created", odd, at=at(0))
    odd_event["eventTimestamp"] = seconds
    pat_first = message("c-pat", "Where is my invoice?", message_id="c-pat-m1", sender=PAT,
                        external=True, at=at(0))  # fmt: skip
    records = [
        _created("c-bot", at(0), workflow),
        reply(TENANT, "c-bot", "Any news?", sender=JANE, support=False, at=at(1),
              message_id="c-bot-m2"),
        _created("c-auto", at(0), autoresponse),
        _created("c-note", at(0), note, title="Refund for order 1234"),
        reply(TENANT, "c-note", "On it", sender=SAM, support=True, sent_by=SAM, at=at(1),
              message_id="c-note-m2"),
        Record.of("c-odd", odd_event),
        # A message time in 1970 (seconds read as milliseconds upstream): the event's is used.
        reply(TENANT, "c-odd", "Still failing", sender=JANE, support=False, at=at(2),
              message_id="c-odd-m2", timestamp=iso(datetime.fromtimestamp(seconds / 1000, UTC))),
        _created("c-pat", at(0), pat_first, submitterUser=person(PAT)),
        # An email as a mail header writes it, and one that is no address at all.
        reply(TENANT, "c-pat", "Found it, thanks", sender=PAT, support=False, at=at(1),
              message_id="c-pat-m2", user={"id": "u_pat", "email": f"Pat B <{PAT}>"}),
        reply(TENANT, "c-pat", "Me too", sender=JANE, support=False, at=at(2),
              message_id="c-pat-m3", user={"id": "u_x", "email": "Jane Doe"}),
        # Created, deleted in Unthread (kept in Vitally by default), then the create re-sent.
        _created("c-del", at(0), message("c-del", "Hello", message_id="c-del-m1", sender=JANE,
                                         external=True, at=at(0))),  # fmt: skip
        Record.of("c-del", envelope(TENANT, "conversation_deleted", {"id": "c-del"}, at=at(1))),
        _created("c-del", at(0), message("c-del", "Hello", message_id="c-del-m1", sender=JANE,
                                         external=True, at=at(0))),  # fmt: skip
    ]  # fmt: skip
    sent = deployed.produce(records)
    audit = deployed.audit(sent)
    outcomes = _outcomes(audit)
    assert outcomes[("c-bot", None)] == ("synced", None)
    assert outcomes[("c-bot", "c-bot-m2")] == ("synced", None)
    assert outcomes[("c-auto", None)] == ("synced", None)
    assert outcomes[("c-note", None)] == ("synced", None)
    assert outcomes[("c-note", "c-note-m2")] == ("synced", None)
    assert outcomes[("c-odd", None)] == ("synced", None)
    assert outcomes[("c-odd", "c-odd-m2")] == ("synced", None)
    assert outcomes[("c-pat", None)] == ("synced", None)
    assert outcomes[("c-pat", "c-pat-m2")] == ("synced", None)
    assert outcomes[("c-pat", "c-pat-m3")] == ("skipped", "not_an_email")
    deletes = [a for a in audit if a["conversationId"] == "c-del"]
    assert [(a["outcome"], a["reason"]) for a in deletes] == [
        ("synced", None), ("skipped", "deletion_not_synced"), ("skipped", "conversation_deleted"),
    ]  # fmt: skip
    assert deployed.dlq(0, timeout=1) == []
    details = {a["conversationId"]: a["detail"] for a in audit if a["messageId"] is None}
    assert details["c-bot"] == "first message automated_message: from the submitter"
    assert details["c-note"] == "first message private_note: from the submitter"
    assert details["c-odd"] == "ignored odd priority,tags[0]"
    assert details["c-pat"] == "users_with_email=3 chose=usr-pat-a (active, oldest, lowest id)"

    stored = _by_external_id(sandbox)
    assert len(stored["c-del"]) == 1  # no second conversation
    [bot] = stored["c-bot"]
    first, follow_up = bot["messages"]
    assert first["message"] == "<p>New request from <strong>Jane</strong>: export fails</p>"
    assert (first["from"], follow_up["externalId"]) == ({"type": "user", "id": jane_id}, "c-bot-m2")
    [auto] = stored["c-auto"]
    assert auto["messages"][0]["message"] == "<p>Thanks! We reply within a day.</p>"
    [noted] = stored["c-note"]
    assert noted["messages"][0]["message"] == "<p>Refund for order 1234</p>"
    assert "VIP" not in str(noted)
    assert noted["messages"][0]["from"] == {"type": "user", "id": jane_id}
    [odd_stored] = stored["c-odd"]
    assert odd_stored["traits"]["unthreadTags"] == ["billing"]
    assert "unthreadPriority" not in odd_stored["traits"]
    odd_first, odd_reply = odd_stored["messages"]
    assert odd_first["message"] == "<p>Export <strong>fails</strong> since Monday</p>"
    assert datetime.fromisoformat(odd_first["timestamp"]).timestamp() == seconds
    assert abs(datetime.fromisoformat(odd_reply["timestamp"]) - at(2)) < timedelta(seconds=1)
    [pat] = stored["c-pat"]
    assert [m["from"] for m in pat["messages"]] == [{"type": "user", "id": "usr-pat-a"}] * 2


@pytest.fixture(scope="module")
def unthread() -> Iterator[UnthreadSandboxHandle]:
    with run_unthread_sandbox() as handle:
        yield handle


def test_an_ids_only_update_applies_unthreads_current_fields(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    _org(sandbox)
    now = datetime.now(UTC) + timedelta(seconds=5)
    unthread.add_tenant(
        TENANT,
        keys=["acme-unthread-key"],
        users=[{"id": "u-sam", "name": "Sam Agent", "email": SAM, "slackId": "U0SAM"},
               {"id": "u-jane", "name": "Jane Doe", "email": JANE, "slackId": "U0JANE"}],
        conversations=[{
            "id": "c-upd", "title": "Export fails for every CSV", "status": "on_hold",
            "priority": 9, "tags": [{"id": "t1", "name": "billing"}, {"id": "t2", "name": "vip"}],
            "assignedToUserId": "u-sam", "createdAt": now.isoformat(),
        }, {
            # Its create is handled an hour after the conversation last changed: what is
            # looked up is Unthread's now, and must not make the later updates stale.
            "id": "c-late", "title": "Invoices missing", "status": "closed",
            "submitterUserId": "u-jane", "assignedToUserId": None,
            "createdAt": now.isoformat(), "updatedAt": (now + timedelta(hours=1)).isoformat(),
            "initialMessage": {"id": "c-late-m1", "text": "Invoices missing", "userId": "U0JANE",
                               "isExternal": True, "timestamp": now.isoformat()},
        }],
    )  # fmt: skip
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread.api_url
    deployed.connect(
        TENANT, "--unthread-api-key", "acme-unthread-key", subdomain="acme", api_key=TOKEN
    )
    deployed.start_worker()
    initial = message("c-upd", "Export fails", message_id="c-upd-m1", sender=JANE,
                      external=True, at=now)  # fmt: skip
    created = _created("c-upd", now, initial, assignedToUserId=None, assignedToUser=None)
    sparse = envelope(
        TENANT, "conversation_updated", {"id": "c-upd"}, at=now + timedelta(seconds=1)
    )
    # Tags by id alone: their names are looked up, never a blank trait.
    ids_only = envelope(TENANT, "conversation_updated",
                        {"id": "c-upd", "status": "on_hold", "assignedToUserId": "u-sam",
                         "tags": [{"id": "t1"}]}, at=now + timedelta(seconds=2))  # fmt: skip
    late_create = envelope(TENANT, "conversation_created", {"id": "c-late"}, at=now)
    reopened = envelope(TENANT, "conversation_updated",
                        {"id": "c-late", "status": "in_progress", "assignedToUserId": None,
                         "updatedAt": (now + timedelta(minutes=5)).isoformat()},
                        at=now + timedelta(minutes=5))  # fmt: skip
    sent = deployed.produce([
        created, Record.of("c-upd", sparse), Record.of("c-upd", ids_only),
        Record.of("c-late", late_create), Record.of("c-late", reopened),
    ])  # fmt: skip
    audit = deployed.audit(sent)
    by_conversation = {
        c: [(a["outcome"], a["reason"]) for a in audit if a["conversationId"] == c]
        for c in ("c-upd", "c-late")
    }
    assert by_conversation["c-upd"] == [
        ("synced", None), ("synced", None), ("skipped", "no_change"),
    ]  # fmt: skip
    assert by_conversation["c-late"] == [("synced", None), ("synced", None)]
    details = [a["detail"] for a in audit if a["conversationId"] == "c-upd"]
    assert details[1] == "status,priority,tags,assignee,subject"
    stored, late = sandbox.conversations("acme")
    assert late["externalId"] == "c-late"
    assert late["traits"]["unthreadStatus"] == "in_progress"
    assert stored["subject"] == "Export fails for every CSV"
    traits = stored["traits"]
    assert (traits["unthreadStatus"], traits["unthreadPriority"]) == ("on_hold", 9)
    assert traits["unthreadTags"] == ["billing", "vip"]
    assert (traits["unthreadAssigneeName"], traits["unthreadAssigneeEmail"]) == ("Sam Agent", SAM)


def test_a_conversation_deleted_in_vitally_is_skipped_then_recreated_on_request(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    _org(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=TOKEN)
    worker = deployed.start_worker()
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = message("c-gone", "Export fails", message_id="c-gone-m1", sender=JANE,
                    external=True, at=now)  # fmt: skip
    sent = deployed.produce([_created("c-gone", now, first)])
    deployed.audit(sent)
    [original] = sandbox.conversations("acme")
    # Someone deletes it in Vitally.
    gone = sandbox.http.delete(
        f"/resources/conversations/{original['id']}", headers=sandbox.auth_headers(TOKEN)
    )
    assert gone.status_code == 204
    sent += deployed.produce(_replies("c-gone", "Any news?", now, 2, 3))
    audit = deployed.audit(sent)
    assert [(a["outcome"], a["reason"]) for a in audit[1:]] == [
        ("skipped", "deleted_in_vitally"), ("skipped", "deleted_in_vitally"),
    ]  # fmt: skip
    assert deployed.dlq(0, timeout=1) == []
    assert sandbox.conversations("acme") == []

    # The operator asks for it back; the next message creates it again. (Restarted so that
    # the test knows the worker has read the new setting before the next event.)
    worker.stop()
    settings = deployed.connect(
        TENANT, "--on-vitally-conversation-missing", "recreate", subdomain="acme", api_key=TOKEN
    )
    assert settings["onVitallyConversationMissing"] == "recreate"
    deployed.start_worker()
    sent += deployed.produce(_replies("c-gone", "Still failing", now, 4, 5))
    audit = deployed.audit(sent)
    assert [(a["outcome"], a["detail"]) for a in audit[3:]] == [
        ("synced", "recreated_in_vitally"), ("synced", None),
    ]  # fmt: skip
    [again] = sandbox.conversations("acme")
    assert again["id"] != original["id"] and again["externalId"] == "c-gone"
    assert again["subject"] == original["subject"] and again["traits"] == original["traits"]
    assert [m["externalId"] for m in again["messages"]] == ["c-gone-m4", "c-gone-m5"]


def _replies(conversation_id: str, text: str, start: datetime, *seconds: int) -> list[Record]:
    """Jane's replies ``seconds`` after ``start``, each named by its second."""
    return [
        reply(TENANT, conversation_id, text, sender=JANE, support=False,
              at=start + timedelta(seconds=s), message_id=f"{conversation_id}-m{s}")
        for s in seconds
    ]  # fmt: skip
