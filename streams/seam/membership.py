"""Kafka static group membership (``group.instance.id``), where Faust 0.15 and aiokafka 0.14
fall short. Faust passes its ``consumer_group_instance_id`` setting to aiokafka's consumer as
``group_instance_id`` (``faust/transport/drivers/aiokafka.py``), and aiokafka joins with it;
three gaps remain, closed here:

* **A restarted member is handed its previous assignment** by the broker, without a
  rebalance, and that assignment carries the metadata its predecessor sent, including the
  predecessor's web URL. Faust's assignor asserts that URL is its own (a new port or host
  name after a restart fails it, and the consumer's coordination task dies).
  :class:`StaticMemberAssignor` takes the assignment without that check; the URL only feeds
  Faust's table router, which this service does not use.
* **A fenced member.** When another process joins with the same id, the broker replaces
  the older member. aiokafka's heartbeat (v0/v1) does not name its instance id, so the
  broker answers the older member ``UNKNOWN_MEMBER_ID``; aiokafka rejoins with the same id,
  which replaces the newer member in turn: the two take the partitions from each other every
  few seconds, both consuming. :class:`StaticHeartbeat` sends heartbeat v3 with the
  instance id, so the broker answers ``FENCED_INSTANCE_ID`` (error 82, for which aiokafka has
  no class: :class:`FencedInstanceIdError`) and aiokafka gives the error to its user instead
  of rejoining; SyncGroup v3 answers the same. :data:`MEMBERSHIP` reports the fence once to
  the app, which fails readiness and stops the worker.
* **Leaving on shutdown.** aiokafka sends no LeaveGroup for a static member (the point of
  static membership is that a restart does not rebalance), so a stopped worker's partitions
  would wait for its session timeout. With :attr:`Membership.leave_on_close` the member
  leaves when its consumer closes, with LeaveGroup v3 (KIP-345: the member names its
  instance id), so the others take its partitions over at once.

aiokafka runs in Faust's consumer thread, on that thread's event loop: what reaches the app
goes through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from aiokafka import errors as kafka_errors
from aiokafka.consumer import group_coordinator
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.group import HeartbeatRequest_v0, HeartbeatRequest_v1
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String
from faust.assignor import PartitionAssignor
from faust.assignor.client_assignment import ClientMetadata

log = logging.getLogger(__name__)

FENCED_INSTANCE_ID = 82


class FencedInstanceIdError(kafka_errors.BrokerResponseError):  # type: ignore[misc]
    errno = FENCED_INSTANCE_ID
    message = "FENCED_INSTANCE_ID"
    description = (
        "Another consumer with the same group.instance.id (WORKER_ID) joined the group; "
        "this one was fenced"
    )


def is_fenced(error: BaseException) -> bool:
    """aiokafka wraps most coordinator errors in a KafkaError that carries only the repr."""
    return isinstance(error, FencedInstanceIdError) or "FencedInstanceIdError" in repr(error)


class StaticMemberAssignor(PartitionAssignor):
    """Faust's assignor, minus the check that a handed-back assignment names this worker's
    URL (a static member restarted with another port or host name gets its predecessor's)."""

    def on_assignment(self, assignment: Any) -> None:
        metadata = cast(
            ClientMetadata, ClientMetadata.loads(self._decompress(assignment.user_data))
        )
        self._assignment = metadata.assignment
        self._topic_groups = dict(metadata.topic_groups)
        self._active_tps = self._assignment.active_tps
        self._standby_tps = self._assignment.standby_tps
        self.changelog_distribution = metadata.changelog_distribution
        self.external_topic_distribution = metadata.external_topic_distribution
        kafka = sorted(assignment.assignment)
        ours = sorted(self._assignment.kafka_protocol_assignment(self._table_manager))
        if kafka != ours:
            raise RuntimeError(f"assignment mismatch: {kafka!r} != {ours!r}")
        if metadata.url != str(self._url):
            log.info("handed back the assignment of %s (static membership)", metadata.url)


class _LeaveGroupResponseV3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")),
                ("group_instance_id", String("utf-8")),
                ("error_code", Int16),
            ),
        ),
    )


class _LeaveGroupRequestV3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = _LeaveGroupResponseV3
    SCHEMA = Schema(
        ("group_id", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class StaticLeaveGroup(Request[_LeaveGroupRequestV3]):  # type: ignore[misc]
    """LeaveGroup for one static member (KIP-345), which aiokafka 0.14 cannot send."""

    API_KEY = 13

    def __init__(self, group_id: str, member_id: str, instance_id: str) -> None:
        self._group_id = group_id
        self._member = (member_id, instance_id)

    def build(self, request_struct_class: type[_LeaveGroupRequestV3]) -> _LeaveGroupRequestV3:
        return request_struct_class(self._group_id, [self._member])


class _HeartbeatResponseV3(Response):  # type: ignore[misc]
    API_KEY = 12
    API_VERSION = 3
    SCHEMA = Schema(("throttle_time_ms", Int32), ("error_code", Int16))


class _HeartbeatRequestV3(RequestStruct):  # type: ignore[misc]
    API_KEY = 12
    API_VERSION = 3
    RESPONSE_TYPE = _HeartbeatResponseV3
    SCHEMA = Schema(
        ("group", String("utf-8")),
        ("generation_id", Int32),
        ("member_id", String("utf-8")),
        ("group_instance_id", String("utf-8")),
    )


# The instance id of the coordinator whose heartbeat is being built (set around the call).
_heartbeat_instance: ContextVar[str | None] = ContextVar("heartbeat_instance", default=None)


class StaticHeartbeat(
    Request[HeartbeatRequest_v0 | HeartbeatRequest_v1 | _HeartbeatRequestV3]  # type: ignore[misc]
):
    """aiokafka's HeartbeatRequest (same arguments), up to v3, which names the instance id."""

    API_KEY = 12

    def __init__(self, group: str, generation_id: int, member_id: str) -> None:
        self._fields = (group, generation_id, member_id)
        self._instance_id = _heartbeat_instance.get()

    def build(self, request_struct_class: Any) -> Any:
        if request_struct_class.API_VERSION >= 3:
            return request_struct_class(*self._fields, self._instance_id)
        return request_struct_class(*self._fields)


@dataclass
class Membership:
    """The process's static membership: whether it leaves on close, whether it was fenced."""

    leave_on_close: bool = False
    fenced_as: str | None = None
    _listeners: list[tuple[asyncio.AbstractEventLoop, Callable[[str], None]]] = field(
        default_factory=list
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_fenced(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(instance id)`` on the caller's event loop, once, when fenced."""
        self._listeners.append((asyncio.get_running_loop(), callback))

    def fence(self, instance_id: str) -> None:
        with self._lock:
            if self.fenced_as is not None:
                return
            self.fenced_as = instance_id
        for loop, callback in self._listeners:
            loop.call_soon_threadsafe(callback, instance_id)


MEMBERSHIP = Membership()

# aiokafka's own, wrapped below (listed in streams.seam.INTERNALS).
_leave_group = GroupCoordinator._maybe_leave_group  # noqa: SLF001
_push_error = GroupCoordinator._push_error_to_user  # noqa: SLF001
_heartbeat = GroupCoordinator._do_heartbeat  # noqa: SLF001


async def _do_heartbeat(self: Any) -> Any:
    token = _heartbeat_instance.set(self._group_instance_id)
    try:
        return await _heartbeat(self)
    finally:
        _heartbeat_instance.reset(token)


async def _maybe_leave_group(self: Any) -> None:
    instance_id = self._group_instance_id
    closing = self._closing.done()
    if not (instance_id and closing and MEMBERSHIP.leave_on_close and self.generation > 0):
        await _leave_group(self)
        return
    if MEMBERSHIP.fenced_as is None:
        try:
            response = await self._send_req(
                StaticLeaveGroup(self.group_id, self.member_id, instance_id)
            )
        except kafka_errors.KafkaError as error:
            log.error("leaving the group as %s failed: %s", instance_id, error)
        else:
            codes = {response.error_code, *(member[2] for member in response.members)}
            if codes == {0}:
                log.info("left the group as static member %s", instance_id)
            else:
                log.warning("leaving the group as %s: error codes %s", instance_id, codes)
    self.reset_generation()


def _push_error_to_user(self: Any, error: BaseException) -> Any:
    if is_fenced(error):
        MEMBERSHIP.fence(self._group_instance_id or "")
    return _push_error(self, error)


def install() -> None:
    """Name error 82, send heartbeats that name the instance id, wrap aiokafka's coordinator
    (idempotent)."""
    kafka_errors.kafka_errors.setdefault(FENCED_INSTANCE_ID, FencedInstanceIdError)
    GroupCoordinator._maybe_leave_group = _maybe_leave_group  # noqa: SLF001
    GroupCoordinator._push_error_to_user = _push_error_to_user  # noqa: SLF001
    GroupCoordinator._do_heartbeat = _do_heartbeat  # noqa: SLF001
    group_coordinator.HeartbeatRequest = StaticHeartbeat
