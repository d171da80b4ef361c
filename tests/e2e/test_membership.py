"""Static group membership on a real broker.

Two workers with the same WORKER_ID cannot both run: the newer one joins in the older one's
place and Kafka fences the older one (FENCED_INSTANCE_ID). The fenced worker fails readiness,
says why in one line and exits, instead of rejoining and taking the partitions back every
few seconds.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

FENCE_TIMEOUT_S = 30.0


def test_a_second_worker_with_the_same_id_fences_the_first(deployed: Deployment) -> None:
    first = deployed.start_worker(WORKER_ID="worker.1")
    second = deployed.start_worker(wait=False, WORKER_ID="worker.1")
    deadline = time.monotonic() + FENCE_TIMEOUT_S
    answers: list[dict[str, object]] = []
    while first.process.poll() is None and time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{first.web_url}/ready", timeout=1)
            if answer.status_code == 503:
                answers.append(answer.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    assert first.process.poll() not in (None, 0), first.log_tail()
    assert "fenced by Kafka" in first.log_tail(200)
    fenced = [a for a in answers if a.get("error") == "worker_fenced"]
    print(f"the fenced worker answered /ready 503 worker_fenced {len(fenced)} time(s)")
    second.wait_ready()
    time.sleep(8)  # a few heartbeats: the newer worker stays in, nobody takes it back
    assert second.process.poll() is None
    assert httpx.get(f"{second.web_url}/ready", timeout=2).status_code == 200
    assert "fenced" not in second.log_tail(400)


def test_a_restarted_worker_takes_its_partitions_back_at_once(deployed: Deployment) -> None:
    """SIGKILL, then the same WORKER_ID again: its assignment is handed back by the broker
    (no waiting for the dead member's session to expire)."""
    first = deployed.start_worker(WORKER_ID="worker.1")
    first.kill()
    started = time.monotonic()
    second = deployed.start_worker(WORKER_ID="worker.1")
    ready_s = time.monotonic() - started
    print(f"the replacement was ready {ready_s:.1f} s after the SIGKILL")
    assert ready_s < 20, second.log_tail()  # not the 60 s of a session timeout
    assert second.process.poll() is None
