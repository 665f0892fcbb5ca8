"""HTTP/1.x on the wire, the same on both transports: request targets, framing conflicts,
HTTP/1.0 answers, and declined WebSocket upgrades. Raw sockets on loopback."""

from __future__ import annotations

import pytest
import trio

from actorhttp import web
from actorhttp.messages import TransportName
from actorhttp.testing import serve_app

from .rawhttp import exchange_until_closed, status_of

TIMEOUT = 10


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(text=f"{request.method} {request.path} {request.query_string} {body!r}")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.mark.parametrize(
    "target", [b"http://example.com/abs/path?q=1", b"HTTP://example.com:8080/abs/path?q=1"]
)
async def test_an_absolute_form_target_is_served_as_its_path(
    transport: TransportName, target: bytes
) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n" % target
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            answer, closed = await exchange_until_closed(client.server.port, request)
    assert status_of(answer) == 200
    assert answer.endswith(b"GET /abs/path q=1 b''")
    assert closed


@pytest.mark.parametrize("target", [b"example.com:443", b"ftp://example.com/x", b"http:///no-host"])
async def test_other_targets_are_refused(transport: TransportName, target: bytes) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n" % target
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            answer, closed = await exchange_until_closed(client.server.port, request)
    assert status_of(answer) == 400
    assert closed


CL = b"Content-Length: 5\r\n"
TE = b"Transfer-Encoding: chunked\r\n"


@pytest.mark.parametrize("fields", [CL + TE, TE + CL], ids=["cl-te", "te-cl"])
@pytest.mark.parametrize(
    "body", [b"", b"hello", b"5\r\nhello\r\n0\r\n\r\n"], ids=["none", "raw", "chunks"]
)
@pytest.mark.parametrize("half_close", [False, True], ids=["open", "half-closed"])
async def test_content_length_with_transfer_encoding_is_400_then_close(
    transport: TransportName, fields: bytes, body: bytes, half_close: bool
) -> None:
    # RFC 9112 6.1: such a message may be refused, and the connection MUST close after.
    # A client that shuts its side after sending still gets the answer.
    request = b"POST /x HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n" + body
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            answer, closed = await exchange_until_closed(
                client.server.port, request, half_close=half_close
            )
    assert status_of(answer) == 400
    assert b"Transfer-Encoding" in answer
    assert closed


async def test_a_half_closing_client_gets_its_answer_and_the_close(
    transport: TransportName,
) -> None:
    request = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport, keep_alive_timeout=30) as client:
            begun = trio.current_time()
            answer, closed = await exchange_until_closed(
                client.server.port, request, half_close=True
            )
            took = trio.current_time() - begun
    assert status_of(answer) == 200
    assert answer.endswith(b"POST /x  b'hello'")
    assert closed
    assert took < 5  # closed once answered, not when the keep-alive timer runs out


async def test_an_http10_request_is_answered_in_http10_and_kept_alive_only_when_asked() -> None:
    asked = b"GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /two HTTP/1.0\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport="httptools") as client:
            answer, closed = await exchange_until_closed(client.server.port, asked)
    assert closed
    first, _, second = answer.partition(b"GET /one  b''")
    assert first.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Connection: keep-alive\r\n" in first
    assert second.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Connection" not in second  # as aiohttp: closing is HTTP/1.0's default
    assert second.endswith(b"GET /two  b''")


async def test_an_http10_request_on_hypercorn_gets_http11_and_the_close() -> None:
    # h11 writes HTTP/1.1 (what RFC 9110 2.5 asks of an HTTP/1.1 server) and keeps no
    # HTTP/1.0 connection alive, asked or not.
    asked = b"GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport="hypercorn") as client:
            answer, closed = await exchange_until_closed(client.server.port, asked)
    assert closed
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"GET /one  b''")


UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)
AFTER = b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def upgrade_app() -> web.Application:
    async def declines(request: web.Request) -> web.Response:
        body = await request.read()  # a normal handler may read the body
        return web.Response(text=f"declined {body!r}")

    async def after(request: web.Request) -> web.Response:
        return web.Response(text="after")

    app = web.Application()
    app.router.add_get("/ws", declines)
    app.router.add_get("/after", after)
    return app


@pytest.mark.parametrize(
    ("sent", "answers"),
    [
        (UPGRADE + b"\r\n" + AFTER, [b"declined b''", b"after"]),
        (
            UPGRADE + b"Content-Length: 9\r\n\r\nFooBarBaz" + AFTER,
            [b"declined b'FooBarBaz'", b"after"],
        ),
        (UPGRADE + b"\r\n" + UPGRADE + b"\r\n" + AFTER, [b"declined b''"] * 2 + [b"after"]),
        (UPGRADE + b"\r\nNOT HTTP\r\n\r\n", [b"declined b''", b"malformed request"]),
    ],
    ids=["pipelined", "with-a-body", "two-declined", "garbage-behind"],
)
async def test_a_declined_upgrade_keeps_the_connection(sent: bytes, answers: list[bytes]) -> None:
    # aiohttp's rule, on the httptools transport: the handler answers as usual (its body
    # read as usual), and what the client sent after the request is served as HTTP/1.1.
    with trio.fail_after(TIMEOUT):
        async with serve_app(upgrade_app(), transport="httptools") as client:
            answer, closed = await exchange_until_closed(client.server.port, sent)
    assert closed
    bodies = [part.partition(b"\r\n\r\n")[2] for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert len(bodies) == len(answers)
    for body, expected in zip(bodies, answers, strict=True):
        assert body.startswith(expected)


async def test_a_declined_upgrades_body_may_come_in_pieces() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(upgrade_app(), transport="httptools") as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(UPGRADE + b"Content-Length: 9\r\n\r\nFoo")
                await trio.sleep(0.05)
                await stream.send_all(b"BarBaz")
                await trio.sleep(0.05)
                await stream.send_all(AFTER)
                answer = b""
                while chunk := await stream.receive_some():
                    answer += chunk
    assert b"declined b'FooBarBaz'" in answer
    assert answer.endswith(b"after")


async def test_a_declined_upgrade_on_hypercorn_is_answered_then_closed() -> None:
    # ASGI gives a WebSocket scope no body, and hypercorn closes the connection after a
    # WebSocket is refused: the answer arrives, what was pipelined behind it does not.
    with trio.fail_after(TIMEOUT):
        async with serve_app(upgrade_app(), transport="hypercorn") as client:
            answer, closed = await exchange_until_closed(client.server.port, UPGRADE + b"\r\n")
    assert closed
    assert status_of(answer) == 200
    assert answer.endswith(b"declined b''")


async def test_requests_pipelined_before_an_upgrade_are_served_then_it_switches() -> None:
    async def echo_ws(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(await ws.receive_str())
        return ws

    app = make_app()
    app.router.add_get("/ws", echo_ws)
    mask = b"\x37\xfa\x21\x3d"
    frame = b"\x81\x88" + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"frame-ok"))
    requests = b"".join(b"GET /r%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(40))
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport="httptools") as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(requests + UPGRADE + b"\r\n" + frame)
                answer = b""
                while b"frame-ok" not in answer:
                    answer += await stream.receive_some()
    assert answer.count(b"HTTP/1.1 200 OK") == 40
    assert b"HTTP/1.1 101 " in answer
    assert answer.index(b"GET /r39 ") < answer.index(b"HTTP/1.1 101 ")
