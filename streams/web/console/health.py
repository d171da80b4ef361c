"""A tenant's health as the console shows it, from the tenant API's answer (no I/O here).

* what waits, grouped by reason, and the people to add to Vitally, read from the ``detail``
  the worker writes for a missing person (:func:`streams.parking.missing_person`: "customer
  jane@customer.example not found in Vitally: ...");
* the troubleshooting checklist of the product's documentation, each item answered for this
  tenant now: ``holds``, ``fails`` (with the evidence) or ``unknown``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.audit_reasons import fix_for

_MISSING = re.compile(r"^(customer|teammate) (\S+@\S+) not found in Vitally")
Verdict = Literal["holds", "fails", "unknown"]


@dataclass(frozen=True)
class PersonToAdd:
    email: str
    role: Literal["user", "admin"]
    waiting: int

    @property
    def instruction(self) -> str:
        seat = "a user" if self.role == "user" else "an active admin"
        return f"add {self.email} as {seat}"


@dataclass
class WaitingGroup:
    reason: str
    fix: str | None
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Waiting:
    count: int
    truncated: bool
    groups: list[WaitingGroup]
    people: list[PersonToAdd]


def missing_person(detail: str | None) -> tuple[str, Literal["user", "admin"]] | None:
    """The email and seat a parked or skipped record's detail asks for, if it names one."""
    found = _MISSING.match(detail or "")
    if not found:
        return None
    return found.group(2), "user" if found.group(1) == "customer" else "admin"


def waiting(view: dict[str, Any]) -> Waiting:
    """The tenant's parked events by reason (longest waiting first) and whom to add."""
    parked = view.get("parked") or {}
    groups: dict[str, WaitingGroup] = {}
    people: Counter[tuple[str, Literal["user", "admin"]]] = Counter()
    for event in parked.get("events", []):
        reason = event.get("reason") or "unknown"
        groups.setdefault(reason, WaitingGroup(reason, fix_for(reason))).events.append(event)
        person = missing_person(event.get("detail"))
        if person:
            people[person] += 1
    return Waiting(
        count=int(parked.get("count", 0)),
        truncated=bool(parked.get("truncated")),
        groups=sorted(groups.values(), key=lambda g: -len(g.events)),
        people=[PersonToAdd(email, role, n) for (email, role), n in people.most_common()],
    )


@dataclass(frozen=True)
class Check:
    item: str
    verdict: Verdict
    evidence: str


@dataclass(frozen=True)
class Section:
    title: str
    checks: list[Check]


def checklist(view: dict[str, Any], people: list[PersonToAdd]) -> list[Section]:
    """The documentation's troubleshooting checklist, answered from the tenant's live data."""
    facts = _Facts.of(view, people)
    sections = [_connecting(facts), _appearing(facts), _follow_ups(facts)]
    if not facts.connected:
        unknown = "the integration is not connected"
        for section in sections[1:]:
            section.checks[:] = [Check(c.item, "unknown", unknown) for c in section.checks]
    return sections


@dataclass(frozen=True)
class _Facts:
    """What the checklist's answers are read from."""

    view: dict[str, Any]
    reasons: dict[str, int]  # records (counted, failed recently, waiting) by reason
    users: list[PersonToAdd]
    admins: list[PersonToAdd]

    @classmethod
    def of(cls, view: dict[str, Any], people: list[PersonToAdd]) -> _Facts:
        reasons: dict[str, int] = dict((view.get("syncCounts") or {}).get("byReason") or {})
        for problem in view.get("recentFailures") or []:
            reasons.setdefault(problem.get("reason") or "", 1)
        for event in (view.get("parked") or {}).get("events") or []:
            reasons[event.get("reason") or ""] = reasons.get(event.get("reason") or "", 0) + 1
        users = [p for p in people if p.role == "user"]
        return cls(view, reasons, users, [p for p in people if p.role == "admin"])

    @property
    def status(self) -> Any:
        return self.view.get("status")

    @property
    def connected(self) -> bool:
        return bool(self.status == "connected")

    @property
    def admin_email(self) -> str:
        return str(self.view.get("defaultAdminEmail") or "")

    @property
    def default_missing(self) -> bool:
        return any(p.email == self.admin_email.lower() for p in self.admins)


def _known(text: str, ok: bool, good: str, bad: str) -> Check:
    return Check(text, "holds" if ok else "fails", good if ok else bad)


def _by_reasons(facts: _Facts, text: str, names: tuple[str, ...], hint: str) -> Check:
    seen = sum(facts.reasons.get(n, 0) for n in names)
    return _known(text, seen == 0, "no record says otherwise", f"{seen} records: {hint}")


def _by_people(text: str, missing: list[PersonToAdd], none: str) -> Check:
    return _known(text, not missing, none, "; ".join(p.instruction for p in missing))


def _connecting(facts: _Facts) -> Section:
    status, admin_email = facts.status, facts.admin_email
    accepted = "the saved settings were accepted by Vitally"
    return Section(
        "The integration will not connect",
        [
            _known("Subdomain entered without .rest.vitally.io", status is not None,
                   f"saved as {facts.view.get('subdomain')}", "not connected"),
            _known("API key entered without the Basic prefix", facts.connected, accepted,
                   f"status {status}: reconnect with the key"),
            _known("API key can read Vitally users, admins and conversations",
                   facts.connected and status != "needs_attention", accepted,
                   f"status {status} ({facts.view.get('statusReason') or 'no reason'})"),
            _known("Default admin email belongs to a Vitally admin", not facts.default_missing,
                   f"{admin_email} is known to Vitally", f"add {admin_email} as an active admin"),
        ],
    )  # fmt: skip


def _appearing(facts: _Facts) -> Section:
    return Section(
        "Conversations are not appearing in Vitally",
        [
            _by_reasons(facts, "Connected before the conversation was created",
                        ("created_before_connect",), "set backfillSince and replay"),
            _by_people("The customer submitter exists in Vitally as a user", facts.users,
                       "no customer is waited for"),
            _by_people("The assigned teammate or default admin exists in Vitally as an admin",
                       facts.admins, "no teammate is waited for"),
            _by_reasons(facts, "The initial message has a sender email",
                        ("no_sender_email", "no_initial_message", "unthread_key_missing"),
                        "add an Unthread API key, then replay"),
        ],
    )  # fmt: skip


def _follow_ups(facts: _Facts) -> Section:
    admin_email = facts.admin_email
    return Section(
        "Follow-up messages are missing",
        [
            _by_people("The sender exists in Vitally with the same email",
                       facts.users + facts.admins, "nobody is waited for"),
            _by_people("The customer exists as a Vitally user", facts.users,
                       "no customer is waited for"),
            _by_people("The support teammate exists as a Vitally admin", facts.admins,
                       "no teammate is waited for"),
            _known("Customer replies have an admin to go to (assignee or default admin)",
                   not facts.default_missing, f"falls back to {admin_email}",
                   f"add {admin_email} as an active admin"),
        ],
    )  # fmt: skip
