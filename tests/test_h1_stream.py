"""The httptools transport's trio side on in-memory streams, with a fake clock.

``serve_stream`` runs one connection over any ``trio.abc.Stream``: here a
``memory_stream_pair`` half, the other half being the client. Deadlines are
the state machine's; ``autojump_clock`` makes the waits instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from actorhttp import HTTPException, Request, Response, StreamResponse
from actorhttp._transports._httptools import serve_stream
from actorhttp.messages import StartServer

Answer = Callable[[Request], Awaitable[StreamResponse]]


async def hello(request: Request) -> StreamResponse:
    return Response(text=f"hello {request.path}")


@asynccontextmanager
async def served(
    answer: Answer = hello, **settings: object
) -> AsyncIterator[
    trio.StapledStream[trio.testing.MemorySendStream, trio.testing.MemoryReceiveStream]
]:
    """A client stream talking to one served connection; each request answered by ``answer``."""
    client, server = trio.testing.memory_stream_pair()
    start = StartServer(**settings)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:

        async def respond(request: Request) -> None:
            async with request.reply:
                try:
                    response = await answer(request)
                except HTTPException as exc:  # as the router does
                    response = exc
                if not response.prepared:
                    await request.reply.send(response)
                else:
                    await response.write_eof()

        async def deliver(request: Request) -> None:
            nursery.start_soon(respond, request)

        async def run() -> None:
            async with server:
                await serve_stream(server, deliver, start, peer=("203.0.113.7", 4242))

        nursery.start_soon(run)
        yield client


async def read_until_closed(stream: trio.abc.ReceiveStream) -> bytes:
    data = bytearray()
    while chunk := await stream.receive_some():
        data += chunk
    return bytes(data)


async def read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    data = bytearray()
    while marker not in data:
        chunk = await stream.receive_some()
        assert chunk, f"closed before {marker!r}: {bytes(data)!r}"
        data += chunk
    return bytes(data)


async def test_answers_and_keeps_the_connection(autojump_clock: trio.testing.MockClock) -> None:
    async with served() as client:
        await client.send_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        first = await read_until(client, b"hello /one")
        await client.send_all(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        second = await read_until(client, b"hello /two")
        await client.send_eof()
        assert await read_until_closed(client) == b""
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" not in second


async def test_the_peer_address_reaches_the_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def who(request: Request) -> StreamResponse:
        return Response(text=str(request.remote))

    async with served(who) as client:
        await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = await read_until_closed(client)
    assert data.endswith(b"203.0.113.7")


async def test_idle_connection_closes_after_the_keep_alive_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served(keep_alive_timeout=5) as client:
        await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await read_until(client, b"hello /")
        idle_since = trio.current_time()
        assert await read_until_closed(client) == b""  # closed quietly, no 408
        waited = trio.current_time() - idle_since
    assert 5 <= waited < 6


async def test_a_head_that_never_ends_gets_408_after_the_header_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served(header_timeout=10) as client:
        started = trio.current_time()
        await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        data = await read_until_closed(client)
        waited = trio.current_time() - started
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"Connection: close" in data
    assert 10 <= waited < 11


async def test_a_body_that_stalls_gets_408_from_the_handler_that_reads_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def upload(request: Request) -> StreamResponse:
        return Response(text=str(len(await request.read())))

    async with served(upload) as client:
        await client.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        started = trio.current_time()
        data = await read_until_closed(client)
        waited = trio.current_time() - started
    assert data.startswith(b"HTTP/1.1 408 ")
    assert 5 <= waited < 6  # min_request_body_rate's grace period, on a memory stream too


async def test_pipelined_requests_are_answered_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def slow_first(request: Request) -> StreamResponse:
        if request.path == "/slow":
            await trio.sleep(3)
        return Response(text=request.path)

    async with served(slow_first) as client:
        await client.send_all(
            b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = await read_until_closed(client)
    assert data.index(b"/slow") < data.index(b"/fast")


async def test_expect_100_continue_goes_out_only_when_the_handler_reads(
    autojump_clock: trio.testing.MockClock,
) -> None:
    read = trio.Event()

    async def reader(request: Request) -> StreamResponse:
        await trio.sleep(1)
        read.set()
        return Response(text=(await request.read()).decode())

    async with served(reader) as client:
        await client.send_all(
            b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await read_until(client, b"\r\n\r\n")
        assert read.is_set()  # not before the handler asked for the body
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await client.send_all(b"data")
        final = await read_until(client, b"data")
    assert final.startswith(b"HTTP/1.1 200 OK")


async def test_a_streamed_response_waits_for_a_client_that_does_not_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    written: list[int] = []

    async def stream(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        for i in range(200):
            await response.write(b"x" * 16384)
            written.append(i)
        await response.write_eof()
        return response

    client, server = trio.testing.lockstep_stream_pair()  # no buffering at all
    start = StartServer(min_response_rate=None)  # backpressure only: no minimum rate
    async with trio.open_nursery() as nursery:

        async def deliver(request: Request) -> None:
            async def respond() -> None:
                async with request.reply:
                    response = await stream(request)
                    await response.write_eof()

            nursery.start_soon(respond)

        nursery.start_soon(serve_stream, server, deliver, start)
        await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await trio.sleep(10)  # the client reads nothing meanwhile
        stalled = len(written)
        received = 0
        while received < 200 * 16384:
            chunk = await client.receive_some(65536)
            assert chunk
            received += len(chunk)
        nursery.cancel_scope.cancel()
    # The pipe holds at most 64 KiB: the writer stopped within a few writes.
    assert stalled <= 8
    assert len(written) > stalled


async def test_a_client_that_does_not_read_is_cut_after_the_grace_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    told: list[tuple[float, str]] = []

    async def stream(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(200):
                await response.write(b"x" * 16384)
        except ConnectionResetError as exc:
            told.append((trio.current_time(), str(exc)))
        return response

    client, server = trio.testing.lockstep_stream_pair()  # nothing buffered: no credit
    async with trio.open_nursery() as nursery:

        async def deliver(request: Request) -> None:
            async def respond() -> None:
                async with request.reply:
                    await stream(request)

            nursery.start_soon(respond)

        nursery.start_soon(serve_stream, server, deliver, StartServer())
        await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(60):
            while not told:
                await trio.sleep(1)
        nursery.cancel_scope.cancel()
    when, why = told[0]
    assert 5 <= when < 7
    assert why == "the client read the response slower than the minimum data rate of 240 bytes/s"


@pytest.mark.parametrize("method", [b"HEAD", b"GET"])
async def test_refusals_close_the_connection(
    autojump_clock: trio.testing.MockClock, method: bytes
) -> None:
    async with served() as client:
        await client.send_all(method + b" / HTTP/1.1\r\n\r\n")  # no Host
        data = await read_until_closed(client)
    assert data.startswith(b"HTTP/1.1 400 ")
