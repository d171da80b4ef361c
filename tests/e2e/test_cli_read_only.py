"""Read-only commands need no secrets and change nothing: ``tenants``, ``status`` and a replay
dry run, with neither ADMIN_API_TOKEN nor SECRETS_KEY, create no topic."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from confluent_kafka.admin import AdminClient

from tests.fixtures.kafka import KafkaBroker
from tests.fixtures.worker import CLI

pytestmark = [pytest.mark.kafka]


def test_read_only_commands_need_no_secrets_and_create_no_topics(
    kafka_bootstrap: KafkaBroker,
) -> None:
    name = f"ro{uuid.uuid4().hex[:8]}"
    env = {
        k: v for k, v in os.environ.items() if k not in ("ADMIN_API_TOKEN", "SECRETS_KEY")
    } | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap.bootstrap_servers, "APP_ID": name,
        "INPUT_TOPIC": f"{name}.in", "AUDIT_TOPIC": f"{name}.audit",
        "DLQ_TOPIC": f"{name}.dlq", "INTEGRATIONS_TOPIC": f"{name}.integrations",
        "RETRY_TOPIC": f"{name}.retry", "AUDIT_SUMMARY_TOPIC": f"{name}.audit-summary",
    }  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console script
            [str(CLI), *args], env=env, capture_output=True, text=True, timeout=120
        )

    tenants = run("tenants")
    assert (tenants.returncode, tenants.stdout, tenants.stderr) == (0, "", "")
    status = run("status", "--tenant", "T01ACME")
    assert status.returncode == 2 and "not_connected" in status.stderr
    replay = run("replay", "--to-earliest")
    assert replay.returncode == 1
    assert replay.stderr == f"vitally-sync: topic {name}.in does not exist\n"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap.bootstrap_servers})
    assert not [t for t in admin.list_topics(timeout=30).topics if t.startswith(name)]
