"""Fixtures of the fault suite: an installation with six partitions (three workers share them
evenly) on the session's broker and sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.kafka import KafkaBroker
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment, deployment

PARTITIONS = 6


@pytest.fixture
def fault_deployment(kafka_bootstrap: KafkaBroker, sandbox: SandboxHandle) -> Iterator[Deployment]:
    with deployment(
        kafka_bootstrap.bootstrap_servers, sandbox.base_url, partitions=PARTITIONS
    ) as deployed:
        yield deployed
