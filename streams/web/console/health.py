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
    status = view.get("status")
    reasons: dict[str, int] = dict((view.get("syncCounts") or {}).get("byReason") or {})
    for problem in view.get("recentFailures") or []:
        reasons.setdefault(problem.get("reason") or "", 1)
    for event in (view.get("parked") or {}).get("events") or []:
        reasons[event.get("reason") or ""] = reasons.get(event.get("reason") or "", 0) + 1
    users = [p for p in people if p.role == "user"]
    admins = [p for p in people if p.role == "admin"]
    admin_email = str(view.get("defaultAdminEmail") or "")
    default_missing = any(p.email == admin_email.lower() for p in admins)
    auth_failed = status == "needs_attention"
    connected = status == "connected"

    def known(ok: bool, good: str, bad: str) -> Check:
        return Check("", "holds" if ok else "fails", good if ok else bad)

    def item(text: str, check: Check) -> Check:
        return Check(text, check.verdict, check.evidence)

    def by_reasons(text: str, names: tuple[str, ...], hint: str) -> Check:
        seen = sum(reasons.get(n, 0) for n in names)
        return item(text, known(seen == 0, "no record says otherwise", f"{seen} records: {hint}"))

    def by_people(text: str, missing: list[PersonToAdd], none: str) -> Check:
        if not missing:
            return item(text, known(True, none, ""))
        return item(text, known(False, "", "; ".join(p.instruction for p in missing)))

    vitally_ok = "the saved settings were accepted by Vitally"
    connect = Section(
        "The integration will not connect",
        [
            item("Subdomain entered without .rest.vitally.io",
                 known(status is not None, f"saved as {view.get('subdomain')}", "not connected")),
            item("API key entered without the Basic prefix",
                 known(connected, vitally_ok, f"status {status}: reconnect with the key")),
            item("API key can read Vitally users, admins and conversations",
                 known(connected and not auth_failed, vitally_ok,
                       f"status {status} ({view.get('statusReason') or 'no reason'})")),
            item("Default admin email belongs to a Vitally admin",
                 known(not default_missing, f"{admin_email} is known to Vitally",
                       f"add {admin_email} as an active admin")),
        ],
    )  # fmt: skip
    appearing = Section(
        "Conversations are not appearing in Vitally",
        [
            by_reasons("Connected before the conversation was created",
                       ("created_before_connect",), "set backfillSince and replay"),
            by_people("The customer submitter exists in Vitally as a user", users,
                      "no customer is waited for"),
            by_people("The assigned teammate or default admin exists in Vitally as an admin",
                      admins, "no teammate is waited for"),
            by_reasons("The initial message has a sender email",
                       ("no_sender_email", "no_initial_message", "unthread_key_missing"),
                       "add an Unthread API key, then replay"),
        ],
    )  # fmt: skip
    follow_ups = Section(
        "Follow-up messages are missing",
        [
            by_people("The sender exists in Vitally with the same email", users + admins,
                      "nobody is waited for"),
            by_people("The customer exists as a Vitally user", users, "no customer is waited for"),
            by_people("The support teammate exists as a Vitally admin", admins,
                      "no teammate is waited for"),
            item("Customer replies have an admin to go to (assignee or default admin)",
                 known(not default_missing, f"falls back to {admin_email}",
                       f"add {admin_email} as an active admin")),
        ],
    )  # fmt: skip
    if not connected:
        unknown = "the integration is not connected"
        for section in (appearing, follow_ups):
            section.checks[:] = [Check(c.item, "unknown", unknown) for c in section.checks]
    return [connect, appearing, follow_ups]
