"""The console: the Vitally settings page and each tenant's sync health, as web pages.

Served by the worker's web server under ``/console`` (routes in docs/interfaces.md), over
:class:`~integrations.api.TenantApi`: the same checks and records as the HTTP API. Signing in
exchanges ``ADMIN_API_TOKEN`` for a session cookie (:mod:`.session`); the pages
(:mod:`.pages`) are Jinja2 templates with autoescaping and one stylesheet, both in this
package, so they need no network beyond the worker.
"""

from __future__ import annotations

from functools import partial

import faust

from integrations.api import TenantApi
from integrations.audit_summary import SummaryCounts
from integrations.store import IntegrationStore
from ops.reader import TopicReader
from ops.trail import TrailStep, read_trail
from streams.seam.web import add_routes
from streams.settings import Settings
from streams.web.console.dead_letters import DeadLetters
from streams.web.console.pages import Console
from streams.web.console.session import SessionSigner


def register_console(
    app: faust.App,
    settings: Settings,
    *,
    api: TenantApi,
    integrations: IntegrationStore,
    counts: SummaryCounts,
) -> None:
    console = Console(
        api=api,
        integrations=integrations,
        counts=counts,
        signer=SessionSigner(settings.admin_api_token.get_secret_value()),
        trail=partial(audit_trail, settings),
        dead_letters=DeadLetters(settings, settings.dlq_topic),
        max_body=settings.max_request_bytes,
    )
    add_routes(app, console.routes())


def audit_trail(settings: Settings, tenant_id: str, conversation: str) -> list[TrailStep]:
    """What ``vitally-sync why`` shows of a conversation, read off the audit topic."""
    with TopicReader(settings, settings.audit_topic, progress=False) as reader:
        steps, _ = read_trail(
            reader, tenant=tenant_id, conversation=conversation,
            input_topic=settings.input_topic, since=None,
        )  # fmt: skip
    return steps
