"""One round trip over a real socket: the CLI server started by the `run_sandbox` fixture."""

from __future__ import annotations

import json
from importlib import resources

import httpx
import pytest

from tests.fixtures.sandbox import SandboxHandle, run_sandbox


def test_round_trip_over_a_socket() -> None:
    seed = json.loads(resources.files("vitally_sandbox").joinpath("demo_seed.json").read_text())
    with run_sandbox(seed, rate_limit=500) as handle:
        headers = SandboxHandle.auth_headers("demo-acme-secret")
        with httpx.Client(base_url=handle.base_url, headers=headers, timeout=5) as client:
            jane = client.get("/resources/users/search?email=jane@customer.example")
            ops = client.get("/resources/admins/search?email=ops@vendor.example")
            created = client.post("/resources/conversations", json={
                "externalId": "unthread-1", "subject": "Login broken",
                "messages": [{"externalId": "msg-1", "message": "<p>Help</p>",
                              "from": {"type": "user", "id": jane.json()["results"][0]["id"]},
                              "to": [{"type": "admin", "id": ops.json()["id"]}]}],
            })  # fmt: skip

            assert created.status_code == 200
            assert created.headers["RateLimit-Limit"] == "500, 500;window=60"
            [stored] = handle.conversations("acme")
            assert [m["type"] for m in stored["messages"]] == ["inbound"]
            assert handle.stats("acme")["byStatus"] == {"200": 3}
            assert [e["status"] for e in handle.requests(org="acme")] == [200, 200, 200]

            # Latency faults really stall the socket, so client timeouts can be tested.
            handle.set_faults("acme", slow_rate=1.0, slow_ms=10_000)
            with pytest.raises(httpx.ReadTimeout):
                client.get("/resources/conversations", timeout=0.3)
    # SIGTERM ends the server cleanly, without waiting out the stalled request.
    assert handle.process.returncode == 0
