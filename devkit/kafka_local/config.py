"""The broker's server.properties: a single KRaft node tuned for tests.

Every start rewrites the file, so changed ports or extra properties apply on
restart; the data under ``log.dirs`` is left alone.
"""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

NODE_ID = 1
HOST = "127.0.0.1"

# Chosen for fast, quiet test runs on one node. Anything here can be
# overridden through LocalKafka(properties=...).
TEST_DEFAULTS: Mapping[str, str] = {
    "num.partitions": "1",
    "auto.create.topics.enable": "true",
    # Tests compare whole topics: never delete data by age or size.
    "log.retention.ms": "-1",
    "log.retention.bytes": "-1",
    # A lone broker cannot meet the replication defaults of 3.
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    # Few internal partitions: the first consumer group (or transactional
    # producer) waits for all of them to get a leader, 50 by default.
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.num.partitions": "4",
    # No 3 s pause before the first rebalance of every new group.
    "group.initial.rebalance.delay.ms": "0",
    # After a kill, the controller refuses the restarted broker until the dead
    # one's session expires: 9 s by default, 3 s here (heartbeats every 0.5 s).
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": "3000",
}


def free_ports(count: int) -> list[int]:
    """Loopback ports that are free now; bound together so they all differ."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def broker_properties(
    *,
    port: int,
    controller_port: int,
    log_dir: Path,
    extra: Mapping[str, str],
    sasl_port: int | None = None,
    sasl_users: Mapping[str, str] | None = None,
) -> dict[str, str]:
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        **TEST_DEFAULTS,
    }
    if sasl_port is not None:
        sasl = f"SASL_PLAINTEXT://{HOST}:{sasl_port}"
        properties["listeners"] += "," + sasl
        properties["advertised.listeners"] += "," + sasl
        properties["listener.security.protocol.map"] += ",SASL_PLAINTEXT:SASL_PLAINTEXT"
        properties.update(sasl_plain_properties(sasl_users or {}))
    properties.update(extra)
    return properties


def sasl_plain_properties(users: Mapping[str, str]) -> dict[str, str]:
    """SASL/PLAIN on the SASL_PLAINTEXT listener, knowing ``users`` (name -> password). The
    broker and its controller keep talking PLAINTEXT among themselves, and readiness is
    still judged on the PLAINTEXT listener."""
    accounts = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return {
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {accounts};"
        ),
    }


def write_properties(path: Path, properties: Mapping[str, str]) -> None:
    # Backslash is the only escape that can occur in our values (paths).
    lines = [key + "=" + value.replace("\\", "\\\\") for key, value in properties.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_properties(path: Path) -> dict[str, str]:
    """Parse a file written by write_properties (not general .properties syntax)."""
    properties = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            properties[key] = value.replace("\\\\", "\\")
    return properties


def bootstrap_of(properties: Mapping[str, str]) -> str:
    """``host:port`` of the PLAINTEXT listener in a properties mapping."""
    for listener in properties["advertised.listeners"].split(","):
        name, _, address = listener.partition("://")
        if name == "PLAINTEXT":
            return address
    raise ValueError("no PLAINTEXT listener in advertised.listeners")


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form: a UUID as unpadded URL-safe base64."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # Kafka's own generator skips ids starting with "-": CLIs read them as flags.
        if not cluster_id.startswith("-"):
            return cluster_id
