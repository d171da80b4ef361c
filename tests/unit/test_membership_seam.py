"""streams/seam/membership.py without a broker: the requests it builds, the errors it knows."""

from __future__ import annotations

import asyncio

from aiokafka import errors as kafka_errors
from aiokafka.protocol.group import HeartbeatRequest_v1

from streams.seam.membership import (
    MEMBERSHIP,
    FencedInstanceIdError,
    Membership,
    StaticHeartbeat,
    StaticLeaveGroup,
    _heartbeat_instance,
    install,
    is_fenced,
)


def test_error_82_has_a_name_and_is_recognised_when_wrapped() -> None:
    install()
    assert kafka_errors.for_code(82) is FencedInstanceIdError
    wrapped = kafka_errors.KafkaError(
        f"Unexpected exception in heartbeat task: {FencedInstanceIdError()!r}"
    )
    assert is_fenced(wrapped) and is_fenced(FencedInstanceIdError())
    assert not is_fenced(kafka_errors.KafkaError("UnknownMemberIdError"))


def test_a_heartbeat_names_the_instance_id_from_v3_on() -> None:
    token = _heartbeat_instance.set("worker.1")
    try:
        request = StaticHeartbeat("group", 7, "member-1")
    finally:
        _heartbeat_instance.reset(token)
    v3 = request.prepare({12: (0, 4)})
    assert v3.API_VERSION == 3
    assert (v3.group, v3.generation_id, v3.member_id, v3.group_instance_id) == (
        "group", 7, "member-1", "worker.1",
    )  # fmt: skip
    older = request.prepare({12: (0, 1)})
    assert isinstance(older, HeartbeatRequest_v1)
    v3.encode()  # the wire form builds


def test_a_static_leave_names_the_member_and_its_instance_id() -> None:
    request = StaticLeaveGroup("group", "member-1", "worker.1").prepare({13: (0, 5)})
    assert request.API_VERSION == 3
    assert request.members == [("member-1", "worker.1")]
    request.encode()


async def test_the_fence_is_reported_once() -> None:
    membership = Membership()
    seen: list[str] = []
    membership.on_fenced(seen.append)
    membership.fence("worker.1")
    membership.fence("worker.1")
    await asyncio.sleep(0)
    assert seen == ["worker.1"] and membership.fenced_as == "worker.1"
    assert MEMBERSHIP is not membership
