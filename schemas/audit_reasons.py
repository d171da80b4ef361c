"""Every audit reason: the outcomes it comes with, what happened, and the step that fixes it.

The one table behind ``docs/audit-reasons.md`` (``python -m schemas.audit_reasons >
docs/audit-reasons.md``) and the fixes that ``vitally-sync why`` prints next to each record, so
that what support reads in the terminal and in the docs cannot disagree. Tests fail when a
:data:`schemas.audit.Reason` has no entry or the committed doc is stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from schemas.audit import REASONS, Outcome, Reason

REGENERATE = "python -m schemas.audit_reasons > docs/audit-reasons.md"
# Reasons that need nobody: the record is right as it is.
NOTHING = "Nothing: working as intended."


@dataclass(frozen=True)
class ReasonGuide:
    """One reason's row: empty ``outcomes`` means this version writes the code only as detail."""

    outcomes: tuple[Outcome, ...]
    happened: str
    fix: str


_PEOPLE_WAIT = (
    "The detail names who. Parked (a message of a synced conversation waits aside while the "
    "thread flows on) and re-checked with backoff for `PARK_PEOPLE_WINDOW_SECONDS` (7 days), "
    "then skipped."
)
_PEOPLE_FIX = (
    "then `vitally-sync recheck --tenant T` to try the tenant's waiting events at once (else the "
    "next re-check picks them up). Once skipped, replay the input record."
)
_FROM_DLQ = (
    "then re-drive it from the DLQ: `vitally-sync dlq redrive --reason <reason>` (a dry run "
    "until `--execute`; README, DLQ runbook)"
)

GUIDE: Mapping[Reason, ReasonGuide] = MappingProxyType(
    {
        "integration_not_connected": ReasonGuide(
            ("skipped",),
            "The tenant has no connected Vitally integration (never connected, or disconnected).",
            "Connect the tenant (`vitally-sync connect` or `PUT /tenants/{tenantId}/integrations"
            "/vitally`). Skipped events are not retried.",
        ),
        "integration_needs_attention": ReasonGuide(
            ("parked",),
            "Vitally answered 401/403 (detail `vitally_auth_failed`), or Unthread rejected the "
            "tenant's Unthread key (detail `unthread_auth_failed`): the integration is marked "
            "`needs_attention` and none of the tenant's events are sent until it is reconnected.",
            "Reconnect the tenant with a valid API key that can read users, admins and "
            "conversations; the parked events then resume by themselves. Until then they cost "
            "nothing (no retry records); after `PARK_ATTENTION_WINDOW_SECONDS` they end as "
            "`skipped/needs_attention_expired`.",
        ),
        "needs_attention_expired": ReasonGuide(
            ("skipped",),
            "The event waited `PARK_ATTENTION_WINDOW_SECONDS` (14 days) for its tenant to be "
            "reconnected; the integration still needed attention, so it is no longer waited for "
            "(the metric `vitally_sync_needs_attention_expired_total` counts these).",
            "Reconnect the tenant with a valid key, then replay the input records of that time "
            "(README, Replaying): they are handled again, not answered as duplicates.",
        ),
        "waiting_for_create": ReasonGuide(
            ("parked",),
            "A message, update or delete reached us before its conversation's create (Unthread "
            "does not promise order): it waits, with what follows it, for the create, up to "
            "`PARK_CREATE_WINDOW_SECONDS` (1 hour), and applies in order once the create is "
            "handled. Past the window it is `skipped/conversation_not_synced` and stays "
            "replayable.",
            "Nothing, unless the window passes: then find why the create is missing "
            "(`vitally-sync why` on it, the DLQ), and replay both.",
        ),
        "created_before_connect": ReasonGuide(
            ("skipped",),
            "The conversation was created before the integration's `connectedAt` (and before "
            "the tenant's `backfillSince`, if it has one).",
            "Nothing, unless you want its history: set the tenant's `backfillSince` and replay "
            "the input topic (README, Bringing history in).",
        ),
        "customer_not_in_vitally": ReasonGuide(
            ("parked", "skipped"),
            f"No Vitally user has the customer's email. {_PEOPLE_WAIT}",
            f"Add the customer to Vitally as a user with that email, {_PEOPLE_FIX}",
        ),
        "teammate_not_in_vitally": ReasonGuide(
            ("parked", "skipped"),
            "The support sender (or, with no assignee, the Default Admin) is not an active "
            f"Vitally admin. {_PEOPLE_WAIT}",
            "Give the teammate an active Vitally admin seat with that email (or fix the "
            f"tenant's Default Admin email), {_PEOPLE_FIX}",
        ),
        "no_sender_email": ReasonGuide(
            ("skipped",),
            "The message (or the initial message) names no sender email, so nobody to match.",
            "Make sure the sender's Unthread user has an email; this event is not retried.",
        ),
        "not_an_email": ReasonGuide(
            ("skipped",),
            "The sender's (or, for a conversation, the submitter's) email is not an address "
            "(`Name <address>` is read as its address): nobody can be matched, so nothing "
            "waits for them.",
            "Fix the person's email in Unthread, then replay the input record.",
        ),
        "no_initial_message": ReasonGuide(
            ("skipped",),
            "A `conversation_created` event without an initial message.",
            "Nothing on our side: upstream sent the conversation without its first message.",
        ),
        "conversation_not_synced": ReasonGuide(
            ("skipped",),
            "A message, update or deletion for a conversation that is not in Vitally.",
            "Run `vitally-sync why` for the conversation and fix the reason its "
            "`conversation_created` record gives.",
        ),
        "conversation_deleted": ReasonGuide(
            ("skipped",),
            "A message or update for a conversation that was deleted in Unthread, or its "
            "`conversation_created` sent again after the deletion (no second conversation is "
            "made, nor the deleted one brought back).",
            NOTHING,
        ),
        "deleted_in_vitally": ReasonGuide(
            ("skipped",),
            "Someone deleted the conversation in Vitally (a write answered 404). From then on "
            "its events are skipped for this reason; an update is remembered, not sent.",
            "Nothing, if it was meant to go. To have it back: connect the tenant again with "
            '`onVitallyConversationMissing: "recreate"` (`vitally-sync connect '
            "--on-vitally-conversation-missing recreate`): the conversation's next message "
            "creates it again with the subject and traits last synced, and later ones follow; "
            "replay the skipped records to bring their messages in too.",
        ),
        "waiting_for_earlier_event": ReasonGuide(
            ("parked",),
            "An earlier event of the same conversation is parked; this one queues behind it, "
            "in order.",
            "Fix the reason of the conversation's earliest parked event (`vitally-sync why`).",
        ),
        "private_note": ReasonGuide(
            ("skipped",),
            "An internal note: its text is never synced. (A conversation whose first message "
            "is one is still created, from the submitter, with the title as its first "
            "message.)",
            NOTHING,
        ),
        "automated_message": ReasonGuide(
            ("skipped",),
            "A follow-up that is an autoresponse or a bot's post (not on a teammate's "
            "behalf): not synced. (A conversation whose first message is one is still "
            "created, from the submitter.)",
            NOTHING,
        ),
        "empty_message": ReasonGuide(
            ("skipped",), "A message without text (files alone are not synced).", NOTHING
        ),
        "unsupported_event": ReasonGuide(
            ("skipped",),
            "An event type this service does not sync.",
            "Nothing, unless upstream sent an event type by mistake.",
        ),
        "invalid_event": ReasonGuide(
            ("failed",),
            "The record could not be read; it is in the DLQ. Detail: `invalid_json`, "
            "`invalid_schema`, `missing_key`, `key_mismatch` or `oversized`.",
            "Fix the producer upstream, then produce the corrected record to the input topic "
            "(`vitally-sync dlq show` prints the one in the DLQ).",
        ),
        "edits_disabled": ReasonGuide(
            ("skipped",),
            "A message edited in Unthread (`message_updated`, found by reconciliation or an "
            "import) for a tenant whose `syncMessageEdits` is off (the default): Vitally keeps "
            "the text first synced.",
            "Nothing, unless edits should reach Vitally: connect the tenant with "
            "`syncMessageEdits: true` (`vitally-sync connect --sync-message-edits on`); the "
            "next reconciliation pass that reads the conversation applies the edit, or replay "
            "the record.",
        ),
        "deletions_disabled": ReasonGuide(
            ("skipped",),
            "A message deleted in Unthread (`message_deleted`, found by reconciliation or an "
            "import) for a tenant whose `syncMessageDeletions` is off (the default): Vitally "
            "keeps the message.",
            "Nothing, unless deletions should reach Vitally: connect the tenant with "
            "`syncMessageDeletions: true` (`vitally-sync connect --sync-message-deletions on`), "
            "then replay the record or wait for the conversation's next reconciliation.",
        ),
        "message_not_synced": ReasonGuide(
            ("skipped",),
            "A message edited or deleted in Unthread that is not in Vitally: never synced "
            "(a private note, an automated post, a person missing), or removed from Vitally "
            "since. Nothing is sent.",
            "Nothing, usually. If the message should be in Vitally, run `vitally-sync why` on "
            "its `message_created` record and fix the reason it gives.",
        ),
        "already_synced": ReasonGuide(
            ("duplicate",),
            "A replay or redelivery of something already applied: no Vitally call.",
            NOTHING,
        ),
        "already_parked": ReasonGuide(
            ("duplicate",), "A redelivery of a record that is parked already.", NOTHING
        ),
        "parked_overflow": ReasonGuide(
            ("failed",),
            "A message would be the 10,001st of its conversation waiting alone for a person "
            "missing from Vitally (a bound no real thread reaches within the people window), "
            "or a record had to wait that is too large for a changelog record (above about "
            "half of `MAX_EVENT_BYTES`' largest value, 996,416, when its text is full of "
            "quotes); the record is in the DLQ. The conversation's queue itself has no bound.",
            f"Fix the reason the conversation's events are parked (`vitally-sync why`), "
            f"{_FROM_DLQ}.",
        ),
        "already_in_vitally": ReasonGuide(
            ("duplicate",),
            "After a crash or an unanswered write, Vitally already had the record: adopted. For "
            "a `message_updated`: Vitally's message already shows the edited text.",
            NOTHING,
        ),
        "already_deleted": ReasonGuide(
            ("duplicate",),
            "`conversation_deleted` for a tenant whose `onConversationDeleted` is `delete`, but "
            "Vitally no longer had the conversation (404): it is gone, as asked. Or a "
            "`message_deleted` whose deletion was already applied, or a `message_created` "
            "(re-driven, or late) of a message deleted in Unthread: it is not brought back.",
            NOTHING,
        ),
        "stale_update": ReasonGuide(
            ("skipped",),
            "`conversation_updated` older (its `updatedAt`/`statusUpdatedAt`, else its event "
            "time) than the conversation data already applied: nothing sent, the newer data "
            "stands. Or a `message_updated` older than the edit already applied (or of a "
            "message already deleted).",
            NOTHING,
        ),
        "no_change": ReasonGuide(
            ("skipped",),
            "`conversation_updated` changed nothing that is synced (status, priority, tags, "
            "assignee, friendly id, channel, closed and status times, title): nothing sent.",
            NOTHING,
        ),
        "update_not_synced": ReasonGuide(
            ("skipped",),
            "Written by versions that did not sync `conversation_updated` (no longer produced: "
            "updates are synced).",
            NOTHING,
        ),
        "deletion_not_synced": ReasonGuide(
            ("skipped",),
            "`conversation_deleted` for a tenant whose `onConversationDeleted` is `keep` (the "
            "default): the Vitally conversation stays; later messages are not synced.",
            "Nothing, unless the tenant wants deletions to reach Vitally: connect it again with "
            '`onConversationDeleted: "delete"` (deletions audited before are not applied).',
        ),
        "vitally_auth_failed": ReasonGuide(
            (),
            "Vitally answered 401/403. This version writes it as the detail of "
            "`parked/integration_needs_attention`, not as a reason.",
            "Reconnect the tenant with a valid API key.",
        ),
        "vitally_rejected": ReasonGuide(
            ("failed",),
            "Vitally answered a 4xx other than 401, 403 and 429 (400, 404, 409, 422, ...); the "
            "record is in the DLQ. Detail: the client's error code, method and path.",
            f"Read the detail; fix the data in Vitally (or report a bug), {_FROM_DLQ}.",
        ),
        "vitally_unavailable": ReasonGuide(
            ("parked", "failed"),
            "Vitally did not answer (timeout, connection, 5xx) after the in-line retries: "
            "parked and retried with capped backoff. Failed (in the DLQ) when its answer could "
            "not be used: a redirect, or an unreadable answer to a read (the detail says which).",
            "Parked: nothing, it resumes when Vitally answers. Failed: a redirect means a wrong "
            f"`VITALLY_BASE_URL` or subdomain; fix it, {_FROM_DLQ}.",
        ),
        "vitally_rate_limited": ReasonGuide(
            ("parked",),
            "The tenant's Vitally request budget (1000 a minute) is spent.",
            "Nothing, it resumes; if it persists, lower `VITALLY_RATE_LIMIT_SHARE` for other "
            "clients of the key or ask Vitally for a higher limit.",
        ),
        "unthread_key_missing": ReasonGuide(
            ("skipped",),
            "The event left out what the sync needs (a sender's email, a conversation's "
            "initial message) and the tenant has no Unthread API key to look it up; the "
            "detail names the ids that could not be resolved.",
            "Connect the tenant again with `unthreadApiKey` (an Unthread service-account key), "
            "then replay the input record.",
        ),
        "unthread_unavailable": ReasonGuide(
            ("parked",),
            "Looking up what the event left out in Unthread's API failed (timeouts, 5xx).",
            "Nothing, it resumes when Unthread answers again.",
        ),
        "unthread_rate_limited": ReasonGuide(
            ("parked",),
            "Unthread's API asked us to slow down while looking up what the event left out.",
            "Nothing, it resumes.",
        ),
        "unthread_rejected": ReasonGuide(
            ("failed",),
            "Unthread's API refused a look-up (a 4xx other than 401/403/404/429): the record "
            "is in the DLQ.",
            f"Read the detail; report a bug if the ids look right, {_FROM_DLQ}.",
        ),
        "tenant_backlogged": ReasonGuide(
            ("parked",),
            "All of the tenant's slots (`MAX_IN_FLIGHT_PER_TENANT`) were busy; retried a "
            "second later.",
            "Nothing; if it persists, the tenant's Vitally is slow or rate-limited.",
        ),
        "worker_handover": ReasonGuide(
            ("parked",),
            "The worker was stopping or its partitions were moving: no Vitally call was started.",
            "Nothing, the partition's next owner resumes it at once; many of these mean "
            "frequent rebalances (check worker restarts).",
        ),
        "internal_error": ReasonGuide(
            ("failed",),
            "A bug (detail: the exception class), logged; the record is in the DLQ.",
            f"Report it with the record's `source` and wait for the fix, {_FROM_DLQ}.",
        ),
    }
)


# Skips an operator can act on: besides every ``failed`` record, these are the tenant's
# "recent failures" in the tenant API's answer (integrations/sync_counts.py). The other skips
# are working as intended, follow from the integration's status (``integration_not_connected``)
# or from another record's reason (``conversation_not_synced``), and would crowd the cause out.
ACTIONABLE_SKIPS: frozenset[Reason] = frozenset(
    {
        "customer_not_in_vitally",
        "teammate_not_in_vitally",
        "no_sender_email",
        "not_an_email",
        "unthread_key_missing",
    }
)


# Looked up by codes read off the topic, which may come from a newer version.
_BY_CODE: Mapping[str, ReasonGuide] = MappingProxyType({k: v for k, v in GUIDE.items()})


def fix_for(reason: str | None) -> str | None:
    """The step that fixes `reason`; None for no reason or one this version does not know."""
    guide = _BY_CODE.get(reason) if reason else None
    return guide.fix if guide else None


def render() -> str:
    """``docs/audit-reasons.md``."""
    lines = [
        "# Audit reasons",
        "",
        f"<!-- Generated from schemas/audit_reasons.py: {REGENERATE} -->",
        "",
        "Every audit record whose `outcome` is not `synced` carries a `reason`: a stable",
        "snake_case code. `vitally-sync why --tenant T --conversation C` prints a conversation's",
        "records with the fix from this table. The record's shape: "
        "[audit-record.schema.json](audit-record.schema.json).",
        "",
        "| reason | outcome | what happened | what fixes it |",
        "|---|---|---|---|",
    ]
    for reason in REASONS:
        guide = _BY_CODE[reason]
        outcomes = " or ".join(guide.outcomes) or "(detail only)"
        lines.append(f"| `{reason}` | {outcomes} | {guide.happened} | {guide.fix} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
