"""Shared fixtures: a real Kafka broker (tests/fixtures/kafka.py), a Vitally sandbox server
(tests/fixtures/sandbox.py) and deployments of the worker (tests/fixtures/worker.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.kafka import KafkaBroker, kafka_bootstrap
from tests.fixtures.sandbox import SandboxHandle, sandbox, vitally_sandbox
from tests.fixtures.worker import Deployment, deployment

__all__ = ["kafka_bootstrap", "sandbox", "vitally_sandbox"]


@pytest.fixture
def deployed(kafka_bootstrap: KafkaBroker, sandbox: SandboxHandle) -> Iterator[Deployment]:
    """An isolated vitally-sync installation (own topics and group) on the test broker."""
    with deployment(kafka_bootstrap.bootstrap_servers, sandbox.base_url) as deployed:
        yield deployed
