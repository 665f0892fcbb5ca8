"""aiohttp's response API through real sockets, on both transports.

Streamed responses (chunked, declared length, HTTP/1.0, HEAD), compression,
cookies, force_close, hand-over seen from a handler, disconnects, failures
after the head, and backpressure from a client that reads slowly.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import trio
import trio.lowlevel

from actorhttp import web
from actorhttp.messages import ReplyError
from actorhttp.testing import TestClient

from .rawhttp import exchange, exchange_until_closed, status_of
from .test_app import dechunk

Client = Callable[..., Awaitable[TestClient]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TIMEOUT = 10


def app_with(*routes: tuple[str, str, Handler], **kwargs: object) -> web.Application:
    app = web.Application(**kwargs)  # type: ignore[arg-type]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    return app


def get(path: str, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: x", *extra]
    if version == "1.1":
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def split(raw: bytes) -> tuple[dict[str, list[str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return fields, body


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def parts(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"X-Kind": "stream"})
    response.content_type = "text/plain"
    await response.prepare(request)
    for piece in (b"one ", b"two ", b"three"):
        await response.write(piece)
    await response.write_eof()
    return response


def declared(length: int, pieces: list[bytes]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = length
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    return handler


# -- StreamResponse framing ---------------------------------------------------------


async def test_stream_response_is_chunked_on_http11(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/parts", parts)))
        response = await client.get("/parts")
        again = await client.get("/parts")  # the connection is kept
        raw = await exchange(client.server.port, get("/parts"))
    assert response.text == again.text == "one two three"
    assert response.headers["x-kind"] == "stream"
    assert response.headers["content-type"] == "text/plain"
    fields, body = split(raw)
    assert status_of(raw) == 200
    assert fields["transfer-encoding"] == ["chunked"]
    assert "content-length" not in fields
    assert dechunk(body) == b"one two three"


async def test_stream_response_with_a_declared_length(actorhttp_client: Client) -> None:
    handler = declared(11, [b"hello", b" ", b"world"])
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/sized", handler)))
        response = await client.get("/sized")
        raw = await exchange(client.server.port, get("/sized"))
    assert response.text == "hello world"
    fields, body = split(raw)
    assert fields["content-length"] == ["11"]
    assert "transfer-encoding" not in fields
    assert body == b"hello world"


@pytest.mark.parametrize("pieces", [[b"short"], [b"far too ", b"long for it"]])
async def test_a_declared_length_not_kept_cuts_the_connection_and_is_logged(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture, pieces: list[bytes]
) -> None:
    app = app_with(("GET", "/wrong", declared(10, pieces)), ("GET", "/parts", parts))
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app)
        raw, closed = await exchange_until_closed(client.server.port, get("/wrong"))
        with pytest.raises(httpx.HTTPError):
            await client.get("/wrong")
        after = await client.get("/parts")
    fields, body = split(raw)
    assert fields["content-length"] == ["10"]
    assert closed
    written = b"".join(pieces)
    if len(written) < 10:
        assert body == written  # all of it went out; the end that never came is the cut
    else:
        assert written.startswith(body)
        assert len(body) <= 10  # never a byte past the declared length
    assert after.text == "one two three"
    assert any("Content-Length" in r.getMessage() for r in errors(caplog))


async def test_http10_client_gets_a_close_delimited_stream(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/parts", parts)))
        raw, closed = await exchange_until_closed(client.server.port, get("/parts", version="1.0"))
    fields, body = split(raw)
    assert status_of(raw) == 200
    assert "transfer-encoding" not in fields
    assert "content-length" not in fields
    assert body == b"one two three"
    assert closed


async def test_head_to_a_stream_response_sends_no_body(actorhttp_client: Client) -> None:
    app = web.Application()
    app.router.add_get("/parts", parts)
    app.router.add_get("/sized", declared(11, [b"hello world"]))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        head = await client.head("/parts")
        raw = await exchange(
            client.server.port, b"HEAD /sized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        after = await client.get("/parts")  # the connection stayed in step
    assert head.status_code == 200
    assert head.content == b""
    fields, body = split(raw)
    assert fields["content-length"] == ["11"]
    assert body == b""
    assert after.text == "one two three"


# -- compression ----------------------------------------------------------------------


def compressed(stream: bool, force: web.ContentCoding | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        text = "compress me " * 500
        if not stream:
            response = web.Response(text=text)
            response.enable_compression(force)
            return response
        streamed = web.StreamResponse()
        streamed.enable_compression(force)
        streamed.content_type = "text/plain"
        await streamed.prepare(request)
        for _ in range(5):
            await streamed.write(text.encode()[:1200])
        return streamed

    return handler


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("accept", "coding"),
    [("gzip", "gzip"), ("deflate", "deflate"), ("gzip, deflate", "deflate"), ("br", None)],
)
async def test_compression_by_accept_encoding(
    actorhttp_client: Client, stream: bool, accept: str, coding: str | None
) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/c", compressed(stream))))
        response = await client.get("/c", headers={"Accept-Encoding": accept})
        raw = await exchange(client.server.port, get("/c", f"Accept-Encoding: {accept}"))
    assert response.text.startswith("compress me compress me")
    assert response.headers.get("content-encoding") == coding
    fields, body = split(raw)
    assert fields.get("content-encoding") == ([coding] if coding else None)
    if stream:
        body = dechunk(body)
    if coding == "gzip":
        body = gzip.decompress(body)
    elif coding == "deflate":
        body = zlib.decompress(body)
    assert body.startswith(b"compress me")
    if not stream:
        assert fields["content-length"] == [str(len(split(raw)[1]))]  # the compressed length


@pytest.mark.parametrize("stream", [False, True])
async def test_head_of_a_compressed_response_has_the_get_headers(
    actorhttp_client: Client, stream: bool
) -> None:
    app = web.Application()
    app.router.add_get("/c", compressed(stream))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        got = await exchange(client.server.port, get("/c", "Accept-Encoding: gzip"))
        head = await exchange(
            client.server.port,
            b"HEAD /c HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        )
    got_fields, _ = split(got)
    head_fields, head_body = split(head)
    assert head_body == b""
    for name in ("content-encoding", "content-length", "content-type"):
        assert head_fields.get(name) == got_fields.get(name), name
    assert head_fields["content-encoding"] == ["gzip"]


async def test_forced_compression_ignores_accept_encoding(actorhttp_client: Client) -> None:
    app = app_with(
        ("GET", "/gzip", compressed(False, web.ContentCoding.gzip)),
        ("GET", "/identity", compressed(True, web.ContentCoding.identity)),
    )
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        raw = await exchange(client.server.port, get("/gzip", "Accept-Encoding: identity"))
        plain = await client.get("/identity", headers={"Accept-Encoding": "gzip"})
    fields, body = split(raw)
    assert fields["content-encoding"] == ["gzip"]
    assert gzip.decompress(body).startswith(b"compress me")
    assert "content-encoding" not in plain.headers
    assert plain.text.startswith("compress me")


# -- cookies and connection ------------------------------------------------------------


async def test_set_cookie_lines(actorhttp_client: Client) -> None:
    async def cookies(request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        response.set_cookie("a", "1", httponly=True, samesite="Lax")
        response.set_cookie("b", "two words", max_age=60)
        response.del_cookie("c")
        return response

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/", cookies)))
        raw = await exchange(client.server.port, get("/"))
    fields, _ = split(raw)
    assert fields["set-cookie"] == [
        "a=1; HttpOnly; Path=/; SameSite=Lax",
        'b="two words"; Max-Age=60; Path=/',
        'c=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
    ]


async def test_a_cookie_with_crlf_is_never_sent(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def inject(request: web.Request) -> web.Response:
        response = web.Response(text="x")
        response.cookies["c"] = "v"
        response.cookies["c"]["domain"] = "a\r\nSet-Cookie: stolen=1"  # past set_cookie's check
        return response

    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app_with(("GET", "/", inject)))
        raw = await exchange(client.server.port, get("/"))
    assert status_of(raw) == 500
    assert b"stolen" not in raw
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


async def test_login_logout_flow_with_cookies_on_http_found(actorhttp_client: Client) -> None:
    async def login(request: web.Request) -> web.Response:
        exc = web.HTTPFound(location="/")
        exc.set_cookie("AUTH", "secret")
        raise exc

    async def logout(request: web.Request) -> web.Response:
        exc = web.HTTPFound(location="/")
        exc.del_cookie("AUTH")
        raise exc

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=f"auth={request.cookies.get('AUTH')}")

    app = app_with(("POST", "/login", login), ("POST", "/logout", logout), ("GET", "/", home))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        anonymous = await client.get("/")
        logged_in = await client.post("/login", follow_redirects=True)
        still = await client.get("/")
        logged_out = await client.post("/logout", follow_redirects=True)
    assert anonymous.text == "auth=None"
    assert logged_in.history[0].status_code == 302
    assert logged_in.history[0].headers["set-cookie"] == "AUTH=secret; Path=/"
    assert logged_in.text == still.text == "auth=secret"
    assert logged_out.text == "auth=None"


async def test_force_close_ends_the_connection(actorhttp_client: Client) -> None:
    async def closing(request: web.Request) -> web.Response:
        response = web.Response(text="bye")
        response.force_close()
        return response

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/", closing)))
        response = await client.get("/")
        raw, closed = await exchange_until_closed(
            client.server.port,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # keep-alive asked
        )
    assert response.headers["connection"] == "close"
    assert split(raw)[0]["connection"] == ["close"]
    assert split(raw)[1] == b"bye"
    assert closed


# -- hand-over, seen from a handler ------------------------------------------------------


async def test_a_response_changed_after_it_was_returned(actorhttp_client: Client) -> None:
    failures: list[BaseException] = []

    async def handler(request: web.Request) -> web.Response:
        response = web.Response(text="original", headers={"X-State": "sent"})

        async def meddle() -> None:
            while not response.prepared:  # changes right after the hand-over
                await trio.lowlevel.checkpoint()
            changes: list[Callable[[], object]] = [
                lambda: setattr(response, "text", "changed"),
                lambda: response.headers.__setitem__("X-State", "changed"),
                lambda: response.set_cookie("late", "1"),
                lambda: response.set_status(500),
            ]
            for change in changes:
                try:
                    change()
                except RuntimeError as exc:
                    failures.append(exc)
            meddled.set()

        nursery.start_soon(meddle)
        return response

    meddled = trio.Event()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            client = await actorhttp_client(app_with(("GET", "/", handler)))
            response = await client.get("/")
            await meddled.wait()
    assert len(failures) == 4
    assert response.status_code == 200
    assert response.text == "original"
    assert response.headers["x-state"] == "sent"
    assert "set-cookie" not in response.headers


async def test_a_stream_changed_after_prepare(actorhttp_client: Client) -> None:
    failures: list[BaseException] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"X-State": "sent"})
        await response.prepare(request)
        changes: list[Callable[[], object]] = [
            lambda: response.headers.__setitem__("X-State", "changed"),
            lambda: setattr(response, "content_type", "text/html"),
            response.force_close,
            response.enable_compression,
        ]
        for change in changes:
            try:
                change()
            except RuntimeError as exc:
                failures.append(exc)
        await response.write(b"body")
        return response

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/", handler)))
        response = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert len(failures) == 4
    assert response.headers["x-state"] == "sent"
    assert "content-encoding" not in response.headers
    assert response.content == b"body"


async def test_a_second_answer_on_the_reply_is_refused(actorhttp_client: Client) -> None:
    refused: list[BaseException] = []

    async def handler(request: web.Request) -> web.Response:
        first = web.Response(text="first")
        await request.reply.send(first)
        try:
            await request.reply.send(web.Response(text="second"))
        except ReplyError as exc:
            refused.append(exc)
        return first

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/", handler)))
        response = await client.get("/")
    assert response.text == "first"
    assert len(refused) == 1


# -- disconnects and failures -------------------------------------------------------------


async def test_writing_to_a_client_that_went_away_is_connection_reset(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caught: list[BaseException] = []
    done = trio.Event()

    async def forever(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"x" * 65536)
        except ConnectionResetError as exc:
            caught.append(exc)
            raise
        finally:
            done.set()

    with trio.fail_after(TIMEOUT), caplog.at_level(logging.DEBUG, logger="actorhttp"):
        client = await actorhttp_client(app_with(("GET", "/", forever)))
        stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
        await stream.send_all(get("/"))
        assert await stream.receive_some(1000)
        await stream.aclose()
        await done.wait()
        after = await client.get("/missing")
    assert len(caught) == 1
    assert after.status_code == 404
    assert errors(caplog) == []


async def test_a_streamed_body_whose_client_went_away_ends_everything(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    closed = trio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"y" * 65536
        finally:
            closed.set()

    async def streamed(request: web.Request) -> web.Response:
        return web.Response(body=endless())

    with trio.fail_after(TIMEOUT), caplog.at_level(logging.DEBUG, logger="actorhttp"):
        client = await actorhttp_client(app_with(("GET", "/", streamed)))
        stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
        await stream.send_all(get("/"))
        assert await stream.receive_some(1000)
        await stream.aclose()
        await closed.wait()  # the source was closed: the write failed, not blocked
    with trio.fail_after(3):  # nothing is left in flight, so no part of the grace is used
        await client.server.stop(grace=TIMEOUT)
    assert errors(caplog) == []


async def test_a_handler_failing_after_prepare_cuts_the_connection(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"partial ")
        raise LookupError("the source went away")

    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app_with(("GET", "/", failing), ("GET", "/ok", parts)))
        raw, closed = await exchange_until_closed(client.server.port, get("/"))
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")
        after = await client.get("/ok")
    body = split(raw)[1]
    assert status_of(raw) == 200
    assert closed
    assert b"partial" in body
    assert not body.endswith(b"0\r\n\r\n")  # no last chunk: the client sees it incomplete
    assert after.text == "one two three"
    logged = [r for r in errors(caplog) if r.exc_info and r.exc_info[0] is LookupError]
    assert logged


async def test_a_slow_reader_slows_the_writer(actorhttp_client: Client) -> None:
    chunk, total = 64 * 1024, 32 * 1024 * 1024
    written = [0]

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = total
        await response.prepare(request)
        for _ in range(total // chunk):
            await response.write(b"z" * chunk)
            written[0] += chunk
        await response.write_eof()
        return response

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/big", big)))
        sock = trio.socket.socket()
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 64 * 1024)
        await sock.connect(("127.0.0.1", client.server.port))
        stream = trio.SocketStream(sock)
        async with stream:
            await stream.send_all(get("/big"))
            received = len(await stream.receive_some(chunk))
            # Stop reading; wait until the writer is stalled (its count stops moving).
            still, last = 0, -1
            while still < 5:
                await trio.sleep(0.02)
                still = still + 1 if written[0] == last else 0
                last = written[0]
            ahead = written[0] - received
            while data := await stream.receive_some(chunk):
                received += len(data)
    assert ahead < 8 * 1024 * 1024  # socket buffers and the pipe, not the whole body
    assert written[0] == total
    assert received > total  # the head, then every byte
