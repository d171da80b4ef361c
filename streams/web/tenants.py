"""Serving :class:`~integrations.api.TenantApi` on the worker's Faust web server.

``register_tenant_api`` wires the pieces the endpoints need: a Vitally client for validation,
a publisher that writes the integrations topic through Faust's producer and waits until Kafka
has the record, the sync counts (read by the app), the view, and the guard middleware
(:mod:`streams.web.guard`) in front of every page of the server, and the console's pages
(:mod:`streams.web.console`) over the same API.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import faust
from aiohttp import web as aiohttp_web
from faust.web import Request, Response, View

from integrations.api import ApiResponse, SaveFailed, TenantApi
from integrations.audit_summary import SummaryCounts
from integrations.connect import Publish
from integrations.secrets import SecretBox
from integrations.source_walks import WalkStore
from integrations.store import IntegrationStore
from schemas.integration import IntegrationRecord
from streams.seam.app_state import on_signal
from streams.seam.web import add_middleware
from streams.settings import Settings
from streams.web.console import register_console
from streams.web.guard import guard, read_body
from unthread.client import UnthreadClient
from unthread.client import build_http_client as build_unthread_http_client
from vitally.client import VitallyClient, build_http_client
from vitally.retry import RetryPolicy

PATH = "/tenants/{tenant_id}/integrations/vitally"
RECHECK_PATH = PATH + "/recheck"
# A person is waiting on the answer: retry a flaky Vitally once, briefly, then say so.
PROBE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=2.0)
PROBE_TIMEOUT_SECONDS = 8.0
SAVE_TIMEOUT_SECONDS = 30.0


def register_tenant_api(
    app: faust.App,
    settings: Settings,
    *,
    integrations: IntegrationStore,
    counts: SummaryCounts,
    walks: WalkStore | None = None,
) -> TenantApi:
    timeout = min(settings.http_timeout_seconds, PROBE_TIMEOUT_SECONDS)
    probe = VitallyClient(build_http_client(timeout=timeout), retry=PROBE_RETRY)
    unthread = UnthreadClient(build_unthread_http_client(timeout=timeout), retry=PROBE_RETRY)
    api = TenantApi(
        integrations=integrations,
        counts=counts,
        probe=probe,
        box=SecretBox(settings.secrets_key.get_secret_value()),
        publish=faust_publisher(app, settings.integrations_topic),
        base_url_override=settings.vitally_base_url,
        unthread=unthread,
        unthread_base_url=settings.unthread_base_url,
        walks=walks,
    )

    async def close_probe(app: faust.App, **kwargs: Any) -> None:
        await probe.aclose()
        await unthread.aclose()

    on_signal(app.on_before_shutdown, close_probe)

    serve_tenant_api(
        app,
        api,
        admin_token=settings.admin_api_token.get_secret_value(),
        max_body=settings.max_request_bytes,
    )
    register_console(app, settings, api=api, integrations=integrations, counts=counts)
    return api


def serve_tenant_api(app: faust.App, api: TenantApi, *, admin_token: str, max_body: int) -> None:
    """Add the endpoints, and the guard in front of every page of the app's web server."""
    _register_view(app, api, max_body)
    add_middleware(app, guard(admin_token))


def faust_publisher(app: faust.App, topic_name: str) -> Publish:
    """Write a record to the integrations topic and return once Kafka acknowledged it."""
    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")

    async def publish(record: IntegrationRecord) -> None:
        try:
            # Partition 0 always (as the CLI does; the workers' own needs_attention writes come
            # through here too): one tenant's records must stay in one partition, in order,
            # even if the topic was made with more than one.
            sent = await topic.send(
                key=record.tenant_id.encode(), value=record.to_json(), partition=0, force=True
            )
            await asyncio.wait_for(sent, SAVE_TIMEOUT_SECONDS)
        except Exception as exc:
            # Whatever the producer raised, the record is not known to be saved.
            raise SaveFailed(type(exc).__name__) from exc

    return publish


def _register_view(app: faust.App, api: TenantApi, max_body: int) -> None:
    @app.page(PATH)
    class VitallyIntegration(View):
        """A tenant's Vitally integration: PUT connects, GET shows, DELETE disconnects."""

        async def get(self, request: Request, tenant_id: str) -> Response:
            return self._answer(await api.get(tenant_id))

        async def put(self, request: Request, tenant_id: str) -> Response:
            body = await read_body(cast(aiohttp_web.Request, request), max_body)
            return self._answer(await api.put(tenant_id, body))

        async def delete(self, request: Request, tenant_id: str) -> Response:
            return self._answer(await api.delete(tenant_id))

        def _answer(self, response: ApiResponse) -> Response:
            return self.json(response.body, status=response.status)

    @app.page(RECHECK_PATH)
    class Recheck(View):
        """POST: people were added to Vitally; events waiting for them are tried at once."""

        async def post(self, request: Request, tenant_id: str) -> Response:
            response = await api.recheck(tenant_id)
            return self.json(response.body, status=response.status)
