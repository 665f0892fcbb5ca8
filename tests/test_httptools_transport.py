"""The fast HTTP/1.1 transport: keep-alive, pipelining, chunked, 100-continue, limits, deadlines."""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from actorhttp import Application, Request, Response, json_response
from actorhttp.testing import TestClient, serve_app

from .rawhttp import exchange, exchange_until_closed, status_of, upload

TIMEOUT = 10
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")


async def echo_body(request: Request) -> Response:
    body = await request.read()
    return json_response({"n": len(body), "method": request.method, "path": request.path})


async def hello(request: Request) -> Response:
    return Response(text="hello")


def make_app() -> Application:
    app = Application(client_max_size=10_000)
    app.router.add_get("/hello", hello)
    app.router.add_route("*", "/echo", echo_body)
    return app


@asynccontextmanager
async def fast(**settings: Any) -> AsyncIterator[TestClient]:
    async with serve_app(make_app(), transport="httptools", **settings) as client:
        yield client


def statuses(data: bytes) -> list[int]:
    return [int(code) for code in STATUS_LINE.findall(data)]


async def test_pipelined_requests_answered_in_order() -> None:
    requests = (
        b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            data, closed = await exchange_until_closed(client.server.port, requests)
    assert statuses(data) == [200, 200, 404, 200]
    assert data.index(b'"n": 3') < data.index(b"404")
    assert closed


async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                answers = []
                for _ in range(3):
                    await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                    answers.append(await stream.receive_some())
    assert all(status_of(a) == 200 and a.endswith(b"hello") for a in answers)
    assert all(b"Date: " in a for a in answers)


async def test_chunked_request_body() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + body
    )
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            data = await exchange(client.server.port, request)
    assert status_of(data) == 200
    assert b'"n": 11' in data


async def test_head_has_length_but_no_body() -> None:
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            data = await exchange(
                client.server.port, b"HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
    assert status_of(data) == 200
    assert b"Content-Length: 5\r\n" in data
    assert data.endswith(b"\r\n\r\n")


async def test_http10_closes_unless_keep_alive_asked() -> None:
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            plain, closed = await exchange_until_closed(
                client.server.port, b"GET /hello HTTP/1.0\r\n\r\n"
            )
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                kept = await stream.receive_some()
                await stream.send_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                again = await stream.receive_some()
    assert closed
    assert plain.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Connection" not in plain  # closing is HTTP/1.0's default, as aiohttp says
    assert b"Connection: keep-alive" in kept
    assert status_of(again) == 200


async def test_expect_100_continue_sent_when_handler_reads() -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(head)
                interim = await stream.receive_some()
                await stream.send_all(b"hello")
                final = await stream.receive_some()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert status_of(final) == 200
    assert b'"n": 5' in final


async def test_expect_100_continue_refused_by_413_before_upload() -> None:
    head = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\nExpect: 100-continue\r\n\r\n"
    )
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            data, closed = await exchange_until_closed(client.server.port, head)
    assert b"100 Continue" not in data
    assert status_of(data) == 413
    assert closed


async def test_expect_100_continue_not_sent_when_handler_ignores_body() -> None:
    head = b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    app = make_app()
    app.router.add_post("/hello", hello)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport="httptools") as client:
            data, closed = await exchange_until_closed(client.server.port, head)
    assert b"100 Continue" not in data
    assert status_of(data) == 200
    assert closed  # the body never came: the connection cannot be reused


async def test_unread_body_already_received_keeps_connection() -> None:
    app = make_app()
    app.router.add_post("/hello", hello)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport="httptools") as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(
                    b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                )
                first = await stream.receive_some()
                await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                second = await stream.receive_some()
    assert b"Connection: close" not in first
    assert status_of(second) == 200


async def test_content_length_with_transfer_encoding_is_400_and_close() -> None:
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            data, closed = await exchange_until_closed(client.server.port, request)
    assert status_of(data) == 400
    assert closed


@pytest.mark.parametrize(
    ("settings", "request_bytes", "status"),
    [
        ({}, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ({"max_request_line": 100}, b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ({}, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 8190 + b"\r\n\r\n", 431),
        (
            {"max_header_line": 50},
            b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 50 + b"\r\n\r\n",
            431,
        ),
        ({}, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: 1\r\n" * 100 + b"\r\n", 431),
        ({"max_headers": 3}, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: 1\r\n" * 3 + b"\r\n", 431),
        (
            {"max_header_size": 1000},
            b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X: " + b"v" * 200 + b"\r\n") * 6 + b"\r\n",
            431,
        ),
    ],
)
async def test_head_limits(settings: dict[str, int], request_bytes: bytes, status: int) -> None:
    with trio.fail_after(TIMEOUT):
        async with fast(**settings) as client:
            data, closed = await exchange_until_closed(client.server.port, request_bytes)
            after = await exchange(
                client.server.port, b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
    assert status_of(data) == status
    assert closed
    assert status_of(after) == 200


async def test_head_that_never_ends_is_cut_without_buffering_it() -> None:
    with trio.fail_after(TIMEOUT):
        async with fast(max_header_size=4096) as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nX: ")
                answer = b""
                with trio.move_on_after(5):
                    for _ in range(100):  # 100 x 1 KiB of one header value, never ended
                        try:
                            await stream.send_all(b"v" * 1024)
                        except trio.BrokenResourceError:
                            break  # the server has had enough: as a client would, stop
                try:
                    answer = await stream.receive_some()
                except trio.BrokenResourceError:
                    pass
    assert status_of(answer) == 431


async def test_slow_head_is_cut_by_header_timeout() -> None:
    with trio.fail_after(TIMEOUT):
        async with fast(header_timeout=0.3) as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
                begun = trio.current_time()
                for _ in range(20):  # slowloris: a byte now and then, never the end
                    try:
                        await stream.send_all(b"X")
                    except trio.BrokenResourceError:
                        break
                    with trio.move_on_after(0.1):
                        answer = await stream.receive_some()
                        break
                took = trio.current_time() - begun
    assert status_of(answer) == 408
    assert took < 2


async def test_idle_keep_alive_connection_is_closed() -> None:
    with trio.fail_after(TIMEOUT):
        async with fast(keep_alive_timeout=0.3) as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                first = await stream.receive_some()
                begun = trio.current_time()
                rest = await stream.receive_some()
                took = trio.current_time() - begun
    assert status_of(first) == 200
    assert rest == b""
    assert 0.2 < took < 2


async def test_stop_closes_idle_keep_alive_connections_at_once() -> None:
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            client_cm = fast(keep_alive_timeout=60)
            client = await client_cm.__aenter__()
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                await stream.receive_some()
                begun = trio.current_time()
                nursery.start_soon(client.server.stop, 30)
                rest = await stream.receive_some()
                took = trio.current_time() - begun
            await client_cm.__aexit__(None, None, None)
    assert rest == b""
    assert took < 2


async def test_unread_body_then_pipelined_request_keeps_order() -> None:
    app = make_app()
    app.router.add_post("/hello", hello)
    requests = (
        b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport="httptools") as client:
            data, closed = await exchange_until_closed(client.server.port, requests)
    assert statuses(data) == [200, 200, 200]
    assert b'"n": 2' in data  # the second body reached its own handler, not the first's
    assert closed


async def test_refused_upload_in_small_pieces_still_gets_its_answer() -> None:
    # Many small writes after the refusal: the lingering close drains by bytes, not reads,
    # so the server never closes on unread data (a reset that could eat the answer).
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        async with fast() as client:
            data = await upload(client.server.port, head, [b"x" * 512] * 150, pause=0.001)
    assert status_of(data) == 413


# -- a plain answer goes on the wire at its hand-over, in the answering task ---------


async def test_an_answer_larger_than_the_socket_buffer_arrives_whole() -> None:
    """The kernel takes part of it at the hand-over; the connection sends the rest."""
    body = bytes(range(256)) * (32 * 1024)  # 8 MiB
    app = Application()

    async def big(request: Request) -> Response:
        return Response(body=body)

    app.router.add_get("/big", big)
    app.router.add_get("/hello", hello)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport="httptools") as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                await trio.sleep(0.2)  # not reading yet: the socket buffers fill up
                received = bytearray()
                while not received.endswith(body[-64:]) or len(received) < len(body):
                    chunk = await stream.receive_some(1 << 20)
                    assert chunk, "closed before the whole body"
                    received += chunk
                head, _, rest = bytes(received).partition(b"\r\n\r\n")
                assert status_of(head) == 200
                assert f"Content-Length: {len(body)}".encode() in head
                assert rest == body
                # The same connection carries the next request.
                await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                after = await stream.receive_some(4096)
    assert status_of(after) == 200
    assert after.endswith(b"hello")


async def test_an_actor_answering_from_its_own_task(caplog: pytest.LogCaptureFixture) -> None:
    """A mailbox route's actor answers on the reply in its own task: the same path."""
    mailbox, inbox = trio.open_memory_channel[Request](4)

    async def actor() -> None:
        async with inbox:
            async for request in inbox:
                await request.reply.send(Response(text=f"actor {request.match_info['n']}"))

    app = Application()
    app.router.add_get("/a/{n}", mailbox)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery, mailbox:
            nursery.start_soon(actor)
            async with serve_app(app, transport="httptools") as client:
                requests = b"".join(b"GET /a/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(20))
                data = await exchange(client.server.port, requests, patience=1.0)
    assert statuses(data) == [200] * 20
    assert [int(n) for n in re.findall(rb"actor (\d+)", data)] == list(range(20))
    assert not [r for r in caplog.records if r.levelno >= 40]


async def test_a_client_reset_before_its_answer(caplog: pytest.LogCaptureFixture) -> None:
    """The write at the hand-over meets a reset connection: no error, the server goes on."""
    arrived, gone = trio.Event(), trio.Event()
    app = Application()

    async def slow(request: Request) -> Response:
        arrived.set()
        await gone.wait()
        return Response(text="nobody is listening")

    app.router.add_get("/slow", slow)
    app.router.add_get("/hello", hello)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport="httptools") as client:
            sock = trio.socket.socket()
            await sock.connect(("127.0.0.1", client.server.port))
            await sock.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            await arrived.wait()
            sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # a reset, not a FIN
            await trio.sleep(0.05)  # the server's side has seen the RST
            gone.set()
            response = await client.get("/hello")
    assert response.text == "hello"
    assert not [r for r in caplog.records if r.levelno >= 40]
