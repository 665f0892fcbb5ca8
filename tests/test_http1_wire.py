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
