"""What Slack sends reads in Vitally as Slack shows it, and leads back to Unthread.

One conversation through the real broker, the worker, the Vitally sandbox and the Unthread
sandbox: a first message written the way Slack writes text (its ``&amp;``/``&lt;``/``&gt;``
escapes, a ``&gt;`` quote, a list numbered from 3 with a nested bullet list, a mention by
Slack id only, emoji shortcodes, a broadcast, a channel), a title with entities, and a reply
with a file Slack keeps private. The tenant set its own link template.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from demo.events import Record, conversation, envelope, message

from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.unthread_sandbox import UnthreadSandboxHandle, unthread_sandbox, unthread_server
from tests.fixtures.worker import Deployment

__all__ = ["unthread_sandbox", "unthread_server"]
pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
CONV = "26884dc8-0000-4000-8000-00000000e2e3"
UNTHREAD_KEY = "acme-unthread-key"
TEMPLATE = "https://acme.unthread.example/tickets/{friendlyId}?c={conversationId}"
LINK = f"https://acme.unthread.example/tickets/4711?c={CONV}"
SAM = {"id": "4e1cc76a-agent", "name": "Sam Agent", "email": "sam@vendor.example",
       "slackId": "U07AGENT"}  # fmt: skip
# As Slack sends it: what the sender typed, with &, < and > escaped.
SLACK_TEXT = (
    "Hi <@U07AGENT> :wave: AT&amp;T says 5 &lt; 6 &amp; the export fails:\n"
    "&gt; Export failed: rows &gt; 10000\n"
    "3. restart the export\n"
    "4. retry with <https://app.example/export?from=2026-01-01&amp;to=2026-02-01|the link>\n"
    "    • only *CSV*\n"
    "    • ~not~ XLSX\n"
    ":fire: <!here> in <#C07SUPPORT|support> :partyparrot:"
)
VITALLY_HTML = (
    "<p>Hi @Sam Agent 👋 AT&amp;T says 5 &lt; 6 &amp; the export fails:</p>"
    "<blockquote>Export failed: rows &gt; 10000</blockquote>"
    '<ol start="3"><li>restart the export</li><li>retry with '
    '<a href="https://app.example/export?from=2026-01-01&amp;to=2026-02-01" '
    'rel="noopener noreferrer">the link</a>'
    "<ul><li>only <strong>CSV</strong></li><li><del>not</del> XLSX</li></ul></li></ol>"
    "<p>🔥 @here in #support :partyparrot:</p>"
)


def test_slack_text_reads_as_slack_shows_it_and_links_back_to_unthread(
    deployed: Deployment, sandbox: SandboxHandle, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    add_acme(sandbox)
    # Unthread knows Sam by Slack id; the events name him only by that id.
    unthread_sandbox.add_tenant(TENANT, keys=[UNTHREAD_KEY], users=[SAM])
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread_sandbox.api_url
    connected = deployed.connect(
        TENANT, "--unthread-api-key", UNTHREAD_KEY, "--unthread-url-template", TEMPLATE,
        subdomain="acme", api_key=ACME_TOKEN,
    )  # fmt: skip
    assert connected["unthreadUrlTemplate"] == TEMPLATE
    deployed.start_worker()

    now = datetime.now(UTC)
    jane = "jane@customer.example"
    initial = message(CONV, SLACK_TEXT, message_id="m-rich", sender=jane, external=True, at=now)
    title = "AT&amp;T export: 5 &lt; 6 rows"
    data = conversation(CONV, title=title, submitter=jane, assignee="sam@vendor.example",
                        initial=initial, created_at=now)  # fmt: skip
    data["friendlyId"] = 4711
    private_file = {"id": "F01", "name": "rows&amp;cols.csv", "size": 2048, "mimetype": "text/csv",
                    "urlPrivate": "https://files.slack.example/F01"}  # fmt: skip
    reply = message(CONV, "the file", message_id="m-file", sender=jane, external=True,
                    at=now + timedelta(seconds=1), files=[private_file])  # fmt: skip
    sent = deployed.produce(
        [
            Record.of(CONV, envelope(TENANT, "conversation_created", data, at=now)),
            Record.of(CONV, envelope(TENANT, "message_created", reply, at=now)),
        ]
    )
    audit = deployed.audit(sent)
    assert [(a["outcome"], a["reason"]) for a in audit] == [("synced", None)] * 2, audit

    [stored] = sandbox.conversations("acme")
    by_id = {m["externalId"]: m for m in stored["messages"]}
    assert stored["subject"] == "AT&T export: 5 < 6 rows"
    assert by_id["m-rich"]["message"] == VITALLY_HTML
    assert stored["traits"]["unthreadUrl"] == LINK
    # Slack's private URL needs a Slack login: the file leads to the conversation in Unthread.
    assert by_id["m-file"]["message"] == (
        f'<p>the file</p><ul><li><a href="{LINK.replace("&", "&amp;")}" '
        'rel="noopener noreferrer">rows&amp;cols.csv</a> (text/csv, 2 KB, in Unthread)</li></ul>'
    )
    # "Sam Agent" is Unthread's name for U07AGENT (the event names nobody so): one look-up
    # besides the key's check at connect.
    asked = [r["path"] for r in unthread_sandbox.requests(TENANT)]
    assert asked == ["/api/users/list", "/api/users/list"], asked
    print(json.dumps({"slack": SLACK_TEXT, "vitally": by_id["m-rich"]["message"]}, indent=1,
                     ensure_ascii=False))  # fmt: skip
