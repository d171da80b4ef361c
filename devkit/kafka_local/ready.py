"""Deciding when a freshly started broker can serve clients.

An open port is not enough: the broker must also be registered with its
controller and unfenced, or the first produce or group join fails. A metadata
response that lists our node proves both, and its cluster id proves it comes
from our broker, not from another one already holding the port.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kafka_local.config import HOST, NODE_ID
from kafka_local.errors import BrokerExited, BrokerStartTimeout

POLL_INTERVAL_S = 0.1


def wait_until_ready(
    process: subprocess.Popen[bytes],
    port: int,
    cluster_id: str,
    *,
    timeout_s: float,
    log_tail: Callable[[], str],
) -> None:
    """Return once the broker lists itself in metadata; raise if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    admin: AdminClient | None = None
    while True:
        if (exit_code := process.poll()) is not None:
            raise BrokerExited(exit_code, log_tail())
        # Probe with a plain socket first: librdkafka logs every refused connection.
        if admin is None and _accepts_connections(port):
            admin = AdminClient({"bootstrap.servers": f"{HOST}:{port}", "log_level": 0})
        if admin is not None and _lists_itself(admin, cluster_id):
            return
        if time.monotonic() > deadline:
            raise BrokerStartTimeout(timeout_s, log_tail())
        time.sleep(POLL_INTERVAL_S)


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=POLL_INTERVAL_S):
            return True
    except OSError:
        return False


def _lists_itself(admin: AdminClient, cluster_id: str) -> bool:
    try:
        metadata = admin.list_topics(timeout=1)
    except KafkaException:
        return False
    return metadata.cluster_id == cluster_id and NODE_ID in metadata.brokers
