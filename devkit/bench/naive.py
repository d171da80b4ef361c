"""The naive baseline: the simplest correct consumer, one event at a time, no cache.

``python -m bench.naive --config FILE`` runs it. For each record, in order: parse it, look up
the Vitally people it needs (every time: no cache), create the conversation or add the
message, write the audit record, wait for it, commit the offset. It keeps only what it cannot
do without: which Vitally conversation each Unthread conversation became, and the
conversation's customer and assignee, which later messages do not carry.

Kept deliberately plain: it is what the worker's lanes, caches and rate limiter are
measured against, so it must be honest (same calls, same order guarantees), not clever.
It handles the shapes the benchmark produces: conversations opened by a customer, and
replies flagged by ``isExternal``.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Message, Producer

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class TenantConfig:
    authorization: str
    default_admin: str


@dataclass
class Known:
    vitally_id: str
    customer: str
    assignee: str


class NaiveSync:
    def __init__(self, http: httpx.Client, tenants: dict[str, TenantConfig]) -> None:
        self.http = http
        self.tenants = tenants
        self.known: dict[tuple[str, str], Known] = {}
        self.calls = 0

    def handle(self, event: dict[str, Any]) -> tuple[str, str | None]:
        """Apply one event; returns (outcome, message id)."""
        tenant = self.tenants.get(event.get("tenantId", ""))
        data = event.get("data") or {}
        if tenant is None:
            return "skipped", None
        if event.get("event") == "conversation_created":
            return "synced", self._create(tenant, event["tenantId"], data)
        if event.get("event") == "message_created":
            return self._reply(tenant, event["tenantId"], data)
        return "skipped", None

    def _create(self, tenant: TenantConfig, tenant_id: str, data: dict[str, Any]) -> str:
        initial = data["initialMessage"]
        customer = data["submitterUser"]["email"]
        assignee = (data.get("assignedToUser") or {}).get("email") or tenant.default_admin
        user = self._user(tenant, customer)
        admin = self._admin(tenant, assignee)
        body = {
            "externalId": data["id"],
            "subject": data.get("title") or "Unthread conversation",
            "messages": [_message(initial, ("user", user), ("admin", admin))],
            "traits": {"unthreadStatus": data.get("status")},
        }
        created = self._call(tenant, "POST", "/resources/conversations", json=body)
        self.known[(tenant_id, data["id"])] = Known(created["id"], customer, assignee)
        return str(initial["id"])

    def _reply(
        self, tenant: TenantConfig, tenant_id: str, data: dict[str, Any]
    ) -> tuple[str, str | None]:
        known = self.known.get((tenant_id, data["conversationId"]))
        if known is None:
            return "skipped", data["id"]
        sender = data["user"]["email"]
        if data.get("isExternal"):
            route = (
                ("user", self._user(tenant, sender)),
                ("admin", self._admin(tenant, known.assignee)),
            )
        else:
            route = (
                ("admin", self._admin(tenant, sender)),
                ("user", self._user(tenant, known.customer)),
            )
        path = f"/resources/conversations/{known.vitally_id}/messages"
        self._call(tenant, "POST", path, json=_message(data, *route))
        return "synced", str(data["id"])

    def _user(self, tenant: TenantConfig, email: str) -> str:
        found = self._call(tenant, "GET", "/resources/users/search", params={"email": email})
        return str(found["results"][0]["id"])

    def _admin(self, tenant: TenantConfig, email: str) -> str:
        found = self._call(tenant, "GET", "/resources/admins/search", params={"email": email})
        return str(found["id"])

    def _call(self, tenant: TenantConfig, method: str, path: str, **kwargs: Any) -> Any:
        # Only what correctness needs: wait out a 429 or a 5xx, then try again.
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.calls += 1
            response = self.http.request(
                method, path, headers={"Authorization": tenant.authorization}, **kwargs
            )
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable or attempt == MAX_ATTEMPTS:
                response.raise_for_status()
                return response.json()
            time.sleep(float(response.headers.get("RateLimit-Reset") or 1))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _message(
    data: dict[str, Any], sender: tuple[str, str], recipient: tuple[str, str]
) -> dict[str, Any]:
    return {
        "externalId": data["id"],
        "message": f"<p>{html.escape(data.get('text') or '')}</p>",
        "from": {"type": sender[0], "id": sender[1]},
        "to": [{"type": recipient[0], "id": recipient[1]}],
        "timestamp": data.get("timestamp"),
    }


def audit_record(
    message: Message, event: dict[str, Any], outcome: str, message_id: str | None, calls: int
) -> bytes:
    return json.dumps(
        {
            "tenantId": event.get("tenantId"),
            "conversationId": (message.key() or b"").decode(),
            "messageId": message_id,
            "event": event.get("event"),
            "eventId": event.get("eventId"),
            "source": {
                "topic": message.topic(), "partition": message.partition(),
                "offset": message.offset(),
            },
            "outcome": outcome,
            "reason": None if outcome == "synced" else outcome,
            "apiCalls": calls,
            "eventTimestamp": event.get("eventTimestamp"),
            "processedAt": int(time.time() * 1000),
        }
    ).encode()  # fmt: skip


def run(config: dict[str, Any]) -> None:
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tenants = {
        tenant_id: TenantConfig(basic_auth(t["token"]), t["defaultAdmin"])
        for tenant_id, t in config["tenants"].items()
    }
    consumer = Consumer(
        {
            "bootstrap.servers": config["bootstrap"],
            "group.id": config["group"],
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer({"bootstrap.servers": config["bootstrap"], "acks": "all"})
    consumer.subscribe([config["inputTopic"]])
    with httpx.Client(base_url=config["vitallyBaseUrl"], timeout=10.0) as http:
        sync = NaiveSync(http, tenants)
        while not stopping:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            event = json.loads(message.value() or b"{}")
            before = sync.calls
            try:
                outcome, message_id = sync.handle(event)
            except (httpx.HTTPError, KeyError, IndexError, TypeError):
                outcome, message_id = "failed", None
            audit = audit_record(message, event, outcome, message_id, sync.calls - before)
            producer.produce(config["auditTopic"], audit, message.key())
            producer.flush(30)  # the audit record is written before its offset is committed
            consumer.commit(message=message, asynchronous=False)
    consumer.close()


def basic_auth(token: str) -> str:
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="JSON written by the harness")
    args = parser.parse_args(argv)
    run(json.loads(args.config.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
