"""The client's real transport against real sockets: what reaches the server, and which
failures prove that a request was never sent."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from schemas.vitally import MessageCreate, Participant
from tests.unit.vitally.fakes import ACME, GLOBEX
from vitally import VitallyClient, VitallyError, build_http_client
from vitally.retry import RetryPolicy
from vitally.target import VitallyTarget

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

ONE_ATTEMPT = RetryPolicy(max_attempts=1)
MESSAGE = MessageCreate(
    external_id="unthread:m1",
    message="<p>hi</p>",
    timestamp=datetime(2026, 1, 2, tzinfo=UTC),
    **{"from": Participant(type="admin", id="adm_1")},
    to=[Participant(type="user", id="usr_1")],
)


@asynccontextmanager
async def server(
    reply: Reply, read_body: bool = True
) -> AsyncIterator[tuple[VitallyTarget, list[bytes], list[int]]]:
    """A raw HTTP/1.1 server on a free port: every request head it read, and each connection."""
    heads: list[bytes] = []
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if read_body:
                    heads[-1] += await reader.readexactly(length)
                await reply(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield (
            VitallyTarget("T01ACME", f"http://127.0.0.1:{port}", ACME.authorization),
            heads,
            connections,
        )
    finally:
        listener.close()


def json_reply(status: bytes, body: bytes, header: bytes) -> Reply:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n%s\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (status, header, len(body), body)
        )
        await writer.drain()

    return reply


answer = json_reply(
    b"201 Created", b'{"id": "msg_1", "externalId": "unthread:m1"}', b"RateLimit-Remaining: 999"
)
answer_with_a_cookie = json_reply(
    b"200 OK", b'{"results": []}', b"Set-Cookie: session=tenant-a; Path=/"
)


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    raise ConnectionError("the server read the request and hung up")


async def cut_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 201 Created\r\nContent-Length: 500\r\n\r\n{"id": ')
    await writer.drain()
    raise ConnectionError("body cut short")


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 40\r\n\r\n")
    for _ in range(40):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


async def add_message(target: VitallyTarget, timeout: float = 5.0) -> VitallyError:
    client = VitallyClient(build_http_client(timeout=timeout), retry=ONE_ATTEMPT)
    try:
        with pytest.raises(VitallyError) as caught:
            await client.add_message(target, "conv_1", MESSAGE)
    finally:
        await client.aclose()
    return caught.value


async def test_requests_carry_the_key_and_json_and_reuse_one_connection() -> None:
    async with server(answer) as (target, heads, connections):
        client = VitallyClient(build_http_client(), retry=ONE_ATTEMPT)
        try:
            for _ in range(3):
                message = await client.add_message(target, "conv_1", MESSAGE)
                assert message.id == "msg_1"
        finally:
            await client.aclose()
    assert len(heads) == 3
    assert len(connections) == 1  # kept alive between calls
    head, _, body = heads[0].decode().partition("\r\n\r\n")
    request_line, *lines = head.split("\r\n")
    fields = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    assert request_line == "POST /resources/conversations/conv_1/messages HTTP/1.1"
    assert fields["authorization"] == ACME.authorization
    assert fields["content-type"] == "application/json"
    assert json.loads(body)["externalId"] == "unthread:m1"
    # The client's own headers go with the call's, each once (the call's Accept wins).
    assert fields["user-agent"] == "vitally-sync"
    assert fields["accept"] == "application/json"
    assert [name.lower() for name, _, _ in (x.partition(":") for x in lines)].count("accept") == 1


async def test_a_cookie_set_for_one_tenant_never_goes_out_with_another_tenants_call() -> None:
    async with server(answer_with_a_cookie) as (acme, heads, _):
        # By name: cookie jars refuse cookies from bare IP addresses.
        host = acme.base_url.replace("127.0.0.1", "localhost")
        acme = VitallyTarget("T01ACME", host, ACME.authorization)
        globex = VitallyTarget("T02GLOBEX", host, GLOBEX.authorization)
        client = VitallyClient(build_http_client(), retry=ONE_ATTEMPT)
        try:
            await client.list_users(acme)
            await client.list_users(globex)
        finally:
            await client.aclose()
    assert len(heads) == 2
    assert b"cookie:" not in heads[1].lower()


async def test_a_refused_connection_is_unreachable_and_provably_not_applied() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    error = await add_message(
        VitallyTarget("T01ACME", f"http://127.0.0.1:{port}", ACME.authorization)
    )
    assert error.reason == "vitally_unreachable"
    assert not error.maybe_applied


@pytest.mark.parametrize("reply", [hang_up, cut_body], ids=["no-answer", "cut-body"])
async def test_a_post_the_server_read_before_failing_may_have_been_applied(reply: Reply) -> None:
    async with server(reply) as (target, heads, _):
        error = await add_message(target)
    assert len(heads) == 1  # the request reached the server
    assert error.reason == "vitally_transport_error"
    assert error.maybe_applied


@pytest.mark.parametrize(
    "reply",
    # No answer at all; or every byte of the body well within the read timeout, the whole body
    # taking 2 s: the call's deadline ends both.
    [stall, drip],
    ids=["no-answer", "trickling-body"],
)
async def test_a_post_without_a_whole_answer_in_time_is_a_timeout_that_may_have_been_applied(
    reply: Reply,
) -> None:
    async with server(reply) as (target, heads, _):
        error = await add_message(target, timeout=0.5)
    assert len(heads) == 1
    assert error.reason == "vitally_timeout"
    assert error.maybe_applied


async def test_a_peer_that_stops_reading_the_request_cannot_hold_the_call() -> None:
    # Larger than the loopback socket buffers, so writing it blocks once the peer stops reading.
    big = MESSAGE.model_copy(update={"message": "<p>" + "x" * 24_000_000 + "</p>"})
    client = VitallyClient(build_http_client(timeout=0.5), retry=ONE_ATTEMPT)
    try:
        async with server(stall, read_body=False) as (target, heads, _):
            with pytest.raises(VitallyError) as caught:
                # The outer bound only turns a hang into a failure here; 0.5 s is the deadline.
                await asyncio.wait_for(client.add_message(target, "conv_1", big), 15)
    finally:
        await client.aclose()
    assert len(heads) == 1
    assert caught.value.reason == "vitally_timeout"
    assert caught.value.maybe_applied


async def test_a_response_that_failed_mid_body_gives_its_connection_back() -> None:
    replies: list[Reply] = [stall_after_one_byte, answer]

    async def first_stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await replies.pop(0)(reader, writer)

    client = VitallyClient(build_http_client(timeout=0.5, max_connections=1), retry=ONE_ATTEMPT)
    try:
        async with server(first_stalls) as (target, _, connections):
            with pytest.raises(VitallyError) as caught:
                await client.add_message(target, "conv_1", MESSAGE)
            assert caught.value.reason == "vitally_timeout"
            # The pool's only connection is free again: a new one answers.
            assert (await client.add_message(target, "conv_1", MESSAGE)).id == "msg_1"
    finally:
        await client.aclose()
    assert len(connections) == 2


async def stall_after_one_byte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{")
    await writer.drain()
    await asyncio.sleep(30)


async def test_a_call_on_a_closed_client_is_not_sent() -> None:
    async with server(answer) as (target, heads, _):
        client = VitallyClient(build_http_client(), retry=ONE_ATTEMPT)
        await client.aclose()
        with pytest.raises(VitallyError) as caught:
            await client.add_message(target, "conv_1", MESSAGE)
    assert heads == []
    assert caught.value.reason == "vitally_unreachable"
    assert not caught.value.maybe_applied
