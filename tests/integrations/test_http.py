"""Outbound HTTP limits against real loopback servers: silent servers time out, huge answers are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.abc import SocketStream

from lead_mcp.errors import ExternalServiceError
from lead_mcp.integrations.http import OutboundTimeout, outbound_client, read_limited

Handler = Callable[[SocketStream], Awaitable[None]]


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[str]:
    """A real HTTP-speaking (or silent) server on a free loopback port."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, handler)
        try:
            yield f"http://127.0.0.1:{port}/card.png"
        finally:
            group.cancel_scope.cancel()


async def _read_request(stream: SocketStream) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()


async def silent(stream: SocketStream) -> None:
    await _read_request(stream)
    await anyio.Event().wait()  # never answers


async def huge_declared(stream: SocketStream) -> None:
    await _read_request(stream)
    await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n" + b"x" * 1024)
    await anyio.Event().wait()


async def endless(stream: SocketStream) -> None:
    await _read_request(stream)
    await stream.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    while True:
        await stream.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))


async def small(stream: SocketStream) -> None:
    await _read_request(stream)
    await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")


async def test_a_server_that_never_answers_is_given_up_on_with_the_limit_named() -> None:
    async with tcp_server(silent) as url, outbound_client(0.5) as client:
        with anyio.fail_after(10), pytest.raises(ExternalServiceError) as caught:
            await read_limited(client, "GET", url, service="scan_card image_url")
    message = str(caught.value)
    assert "scan_card image_url" in message and "did not answer within 0.5 s" in message
    assert "nothing was changed" in message


@pytest.mark.parametrize("handler", [huge_declared, endless], ids=["declared", "streamed"])
async def test_answers_over_the_size_limit_are_refused(handler: Handler) -> None:
    async with tcp_server(handler) as url, outbound_client(5) as client:
        with anyio.fail_after(10), pytest.raises(ExternalServiceError) as caught:
            await read_limited(client, "GET", url, service="HubSpot", max_bytes=1_000_000)
    assert "HubSpot" in str(caught.value) and "1,000,000 bytes" in str(caught.value)


async def test_a_closed_port_and_a_normal_answer() -> None:
    async with tcp_server(small) as url, outbound_client(5) as client:
        response = await read_limited(client, "GET", url, service="test")
        assert response.status_code == 200 and response.content == b"hello"
        with pytest.raises(ExternalServiceError) as caught:
            await read_limited(client, "GET", "http://127.0.0.1:9/x", service="test")  # discard port: closed
    assert "could not reach" in str(caught.value)


async def trickle(stream: SocketStream) -> None:
    await _read_request(stream)
    await stream.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:  # one byte every 0.2 s: never slow enough for a per-read timeout
        await stream.send(b"1\r\nx\r\n")
        await anyio.sleep(0.2)


async def test_a_trickling_server_is_cut_off_at_the_total_deadline() -> None:
    async with tcp_server(trickle) as url, outbound_client(0.5) as client:
        started = anyio.current_time()
        with anyio.fail_after(10), pytest.raises(OutboundTimeout) as caught:
            await read_limited(
                client, "GET", url, service="HubSpot", deadline=1, setting="LEAD_MCP_OUTBOUND_TIMEOUT_SECONDS"
            )
    assert anyio.current_time() - started < 2
    assert "did not answer within 1 s (LEAD_MCP_OUTBOUND_TIMEOUT_SECONDS)" in str(caught.value)
