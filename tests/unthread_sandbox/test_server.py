"""`python -m unthread_sandbox` as a real server: seeded at start, driven by its handle."""

from __future__ import annotations

import httpx
import pytest
import unthread_sandbox
from unthread_sandbox import run_sandbox

from tests.unthread_sandbox.conftest import ACME_KEY, CONV, SEED


def test_real_server_serves_the_api_and_control() -> None:
    with run_sandbox(SEED, retry_after_header=True) as sandbox:
        headers = {"X-Api-Key": ACME_KEY}
        got = httpx.get(f"{sandbox.api_url}/conversations/{CONV}", headers=headers)
        assert got.status_code == 200 and got.json()["submitterUser"]["name"] == "Jane Doe"
        sandbox.set_faults("T01ACME", error_rate=1.0)
        assert httpx.post(f"{sandbox.api_url}/users/list", headers=headers).status_code == 503
        assert sandbox.stats("T01ACME")["byStatus"] == {"200": 1, "503": 1}
        sandbox.reset(reseed=True)
        assert httpx.post(f"{sandbox.api_url}/users/list", headers=headers).status_code == 200
    assert sandbox.process.poll() is not None


def test_exports() -> None:
    assert unthread_sandbox.__all__ == sorted(unthread_sandbox.__all__)
    for name in unthread_sandbox.__all__:
        assert hasattr(unthread_sandbox, name)


def test_a_bad_seed_stops_the_start_with_the_servers_own_words() -> None:
    with pytest.raises(RuntimeError) as caught, run_sandbox({"tenants": "not a list"}):
        pass  # pragma: no cover - never entered
    assert "exited at start-up" in str(caught.value)
    assert "cannot start the sandbox" in str(caught.value)
