"""The console's session cookie and its reading of a tenant's health, without a web server."""

from __future__ import annotations

from typing import Any

from streams.web.console.health import checklist, missing_person, waiting
from streams.web.console.session import LIFETIME_SECONDS, SessionSigner

TOKEN = "admin-token-0123456789abcdef"


def test_a_session_is_signed_expires_and_ends_with_the_token() -> None:
    signer = SessionSigner(TOKEN)
    cookie = signer.issue(now=1000.0)
    session = signer.read(cookie, now=1001.0)
    assert session is not None and TOKEN not in cookie
    assert signer.read(cookie, now=1000.0 + LIFETIME_SECONDS + 1) is None
    expires, nonce, mac = cookie.split(".")
    assert signer.read(f"{int(expires) + 9999}.{nonce}.{mac}", now=1001.0) is None
    assert signer.read("garbage", now=1001.0) is None
    assert SessionSigner(TOKEN + "-rotated").read(cookie, now=1001.0) is None
    assert signer.csrf_matches(session, signer.csrf_token(session))
    assert not signer.csrf_matches(session, None)
    assert not signer.csrf_matches(
        session, SessionSigner("other-token-0123456").csrf_token(session)
    )
    assert signer.token_matches(TOKEN) and not signer.token_matches(TOKEN[:-1])
    assert not signer.token_matches("")


def parked(reason: str, detail: str | None, conversation: str = "c-1") -> dict[str, Any]:
    return {"reason": reason, "detail": detail, "conversationId": conversation}


def view(events: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "status": "connected", "subdomain": "acme", "defaultAdminEmail": "ops@vendor.example",
        "syncCounts": {"byReason": {}}, "recentFailures": [],
        "parked": {"count": len(events), "truncated": False, "events": events}, **extra,
    }  # fmt: skip


def test_waiting_groups_by_reason_and_names_each_person_once() -> None:
    jane = "customer jane@customer.example not found in Vitally: add jane@customer.example ..."
    ops = "teammate ops@vendor.example not found in Vitally: add ..."
    found = waiting(view([parked("customer_not_in_vitally", jane, "c-1"),
                          parked("customer_not_in_vitally", jane, "c-2"),
                          parked("teammate_not_in_vitally", ops, "c-3"),
                          parked("vitally_unavailable", None, "c-4")]))  # fmt: skip
    assert found.count == 4
    assert [(g.reason, len(g.events)) for g in found.groups] == [
        ("customer_not_in_vitally", 2), ("teammate_not_in_vitally", 1), ("vitally_unavailable", 1)
    ]  # fmt: skip
    assert [p.instruction for p in found.people] == [
        "add jane@customer.example as a user", "add ops@vendor.example as an active admin"
    ]  # fmt: skip
    assert found.people[0].waiting == 2 and found.groups[0].fix
    assert missing_person("a customer said hi") is None


def test_the_checklist_answers_from_the_tenants_data() -> None:
    ops = "teammate ops@vendor.example not found in Vitally: add ..."
    healthy = checklist(view([]), [])
    assert all(c.verdict == "holds" for s in healthy for c in s.checks)
    data = view([parked("teammate_not_in_vitally", ops)],
                syncCounts={"byReason": {"created_before_connect": 2}})  # fmt: skip
    sections = checklist(data, waiting(data).people)
    failing = {c.item: c.evidence for s in sections for c in s.checks if c.verdict == "fails"}
    assert failing["Default admin email belongs to a Vitally admin"] == (
        "add ops@vendor.example as an active admin"
    )
    assert "Connected before the conversation was created" in failing
    assert "The customer submitter exists in Vitally as a user" not in failing
    off = checklist(view([], status="disconnected"), [])
    assert {c.verdict for c in off[1].checks} == {"unknown"}
