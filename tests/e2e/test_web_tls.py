"""The HTTP API over TLS: given WEB_SSL_CERT and WEB_SSL_KEY the worker's web server speaks
TLS itself (a certificate signed by a CA made here); plain HTTP on that port gets no answer."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.fixtures.certificates import issue
from tests.fixtures.worker import READY_TIMEOUT_S, Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def test_the_http_api_serves_tls_with_a_certificate_and_key(
    deployed: Deployment, tmp_path: Path
) -> None:
    ca = issue("vitally-sync test CA")
    server = issue("127.0.0.1", ca)
    cert, key, bundle = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.write_text(server.cert_pem)
    key.write_text(server.key_pem)
    bundle.write_text(ca.cert_pem)
    worker = deployed.start_worker(wait=False, WEB_SSL_CERT=str(cert), WEB_SSL_KEY=str(key))
    https = worker.web_url.replace("http://", "https://")
    trusted = ssl.create_default_context(cafile=str(bundle))
    with httpx.Client(base_url=https, verify=trusted, timeout=5) as client:
        ready = _ready(client, worker.process.poll)
        assert ready.json()["ready"] is True
        assert ready.json()["tenantsNeedingAttentionCount"] == 0
        missing = client.get(
            "/tenants/T-NONE/integrations/vitally",
            headers={"Authorization": f"Bearer {deployed.admin_token}"},
        )
        assert (missing.status_code, missing.json()["error"]) == (404, "not_connected")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{worker.web_url}/ready", timeout=5)  # plain HTTP: no answer
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate
        httpx.get(f"{https}/ready", timeout=5)


def test_a_certificate_without_its_key_is_a_configuration_error(deployed: Deployment) -> None:
    worker = deployed.start_worker(wait=False, WEB_SSL_CERT="/nonexistent/cert.pem")
    assert worker.process.wait(timeout=60) == 2
    assert "WEB_SSL_CERT and WEB_SSL_KEY go together" in worker.log_tail()


def _ready(client: httpx.Client, exit_code: Callable[[], int | None]) -> httpx.Response:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        assert exit_code() is None, "the worker exited"
        try:
            answer = client.get("/ready")
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the worker never answered /ready over TLS"
        time.sleep(0.5)
