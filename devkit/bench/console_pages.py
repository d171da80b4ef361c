"""``python -m bench.console_pages``: how long the console's pages take to answer, at many
tenants and many waiting conversations.

In process, over loopback HTTP: Faust's aiohttp app (never started) with the tenant API and
the console, an integration store holding ``--tenants`` connected tenants, and the audit
counts (last day and last sync included) fed with ``--waiting`` parked records (a missing
customer each, spread over the tenants) and ``--synced`` synced ones, as a worker publishes
them to the summary topic.
Each page is fetched ``--repeat`` times with a signed-in session; the JSON ``GET`` of a tenant
is timed alongside as the reference. No Kafka, no Vitally: nothing the pages call (the
health page's read of the DLQ topic is left out: an empty DLQ).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
import httpx
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from faust.web.drivers.aiohttp import Web as AiohttpWeb

from integrations.api import TenantApi
from integrations.audit_summary import SummaryCounts, SummaryWriter
from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox, fingerprint
from integrations.store import IntegrationStore
from ops.dlq import Letter
from ops.trail import TrailStep
from schemas.integration import IntegrationRecord
from streams.seam.web import add_routes
from streams.web.console.dead_letters import RedriveRun
from streams.web.console.pages import Console
from streams.web.console.session import COOKIE, SessionSigner
from streams.web.tenants import serve_tenant_api
from vitally import VitallyClient

TOKEN = "bench-admin-token-0123456789"  # noqa: S105 - a throwaway, in process only
KAFKA = KafkaSettings(kafka_bootstrap_servers="unused:9092")


class NoDeadLetters:
    """An empty DLQ: reading the real one is Kafka's time (the last records of each DLQ
    partition), not the page's."""

    def recent(self, tenant_id: str) -> list[Letter]:
        return []

    def redrive(
        self, tenant_id: str, places: Sequence[tuple[int, int]], *, execute: bool
    ) -> RedriveRun:
        return RedriveRun([], None)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--synced", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    return parser.parse_args(argv)


def audit(tenant: str, n: int, outcome: str, now_ms: int) -> bytes:
    parked = outcome == "parked"
    return json.dumps({
        "tenantId": tenant, "outcome": outcome, "conversationId": f"c-{n}",
        "messageId": f"m-{n}", "event": "message_created",
        "reason": "customer_not_in_vitally" if parked else None,
        "detail": f"customer person{n % 500}@customer.example not found in Vitally: add it"
        if parked else None,
        "source": {"topic": "in", "partition": n % 8, "offset": n},
        "processedAt": now_ms - n,
    }).encode()  # fmt: skip


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    box = SecretBox(Fernet.generate_key().decode())
    store = IntegrationStore(kafka=KAFKA, topic="integrations", box=box, base_url_override=None)
    store.ready.set()
    now = datetime.now(UTC)
    tenants = [f"T{i:04d}" for i in range(args.tenants)]
    for tenant in tenants:
        store.put(
            IntegrationRecord(
                tenant_id=tenant, status="connected", subdomain=tenant.lower(),
                default_admin_email="ops@vendor.example",
                api_key_encrypted=box.encrypt(f"key-{tenant}"),
                key_fingerprint=fingerprint(f"key-{tenant}"), connected_at=now, updated_at=now,
            )
        )  # fmt: skip
    # The counts as a worker owning every partition would publish them to the summary topic.
    counts = SummaryCounts(kafka=KAFKA, topic="audit-summary")

    async def into_counts(key: bytes, value: bytes) -> None:
        counts.add(key, value)

    now_ms = int(time.time() * 1000)
    summary = SummaryWriter(into_counts, now_ms=lambda: now_ms)
    summary.begin(range(8))
    for partition in range(8):
        summary.adopt(partition, {})
    for n in range(args.waiting):
        summary.add(json.loads(audit(tenants[n % len(tenants)], n, "parked", now_ms)))
    for n in range(args.synced):
        summary.add(
            json.loads(audit(tenants[n % len(tenants)], args.waiting + n, "synced", now_ms))
        )
    await summary.publish()

    def no_trail(tenant: str, conversation: str) -> list[TrailStep]:
        return []

    app = faust.App("console-bench", broker="kafka://unused:9092", autodiscover=False)
    async with httpx.AsyncClient() as http:
        api = TenantApi(
            integrations=store, counts=counts, box=box, publish=_no_publish,
            base_url_override=None, probe=VitallyClient(http),
        )  # fmt: skip
        serve_tenant_api(app, api, admin_token=TOKEN, max_body=16384)
        signer = SessionSigner(TOKEN)
        console = Console(api=api, integrations=store, counts=counts, signer=signer,
                          trail=no_trail, dead_letters=NoDeadLetters(), max_body=16384)  # fmt: skip
        add_routes(app, console.routes())
        web = app.web
        if not isinstance(web, AiohttpWeb):
            raise TypeError("Faust's aiohttp web driver is needed")
        pages = {
            "GET /console/tenants": ("/console/tenants", {}),
            "GET /console/tenants/{t}": (f"/console/tenants/{tenants[0]}", {}),
            "GET /console/tenants/{t}/settings": (f"/console/tenants/{tenants[0]}/settings", {}),
            "GET /console/connect": ("/console/connect", {}),
            "GET /tenants/{t}/integrations/vitally (JSON, reference)": (
                f"/tenants/{tenants[0]}/integrations/vitally",
                {"Authorization": f"Bearer {TOKEN}"},
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in pages}
        async with TestClient(TestServer(web.web_app)) as client:
            client.session.cookie_jar.update_cookies({COOKIE: signer.issue()})
            for name, (path, headers) in pages.items():
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    response = await client.get(path, headers=headers, allow_redirects=False)
                    await response.read()
                    timings[name].append((time.perf_counter() - start) * 1000)
                    if response.status != 200:
                        raise RuntimeError(f"{path}: {response.status}")
    return timings


async def _no_publish(record: IntegrationRecord) -> None:
    raise AssertionError("the benchmark only reads")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    timings = asyncio.run(measure(args))
    print(f"{args.tenants} tenants, {args.waiting} waiting, {args.synced} synced records, "
          f"{args.repeat} fetches each (ms)")  # fmt: skip
    print("| page | median | p95 | max |\n|---|---|---|---|")
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(f"| `{name}` | {statistics.median(values):.1f} | {p95:.1f} | {max(values):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
