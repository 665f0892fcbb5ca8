"""The DESIGN.md behaviour table, row by row, through a real server and client."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import trio
import trio.lowlevel

from actorhttp import (
    AppKey,
    Application,
    HTTPFound,
    HTTPTooManyRequests,
    Request,
    Response,
    StreamResponse,
    json_response,
    middleware,
    test_utils,
)
from actorhttp.messages import Handler, TransportName
from actorhttp.testing import TestClient, serve_app

from .rawhttp import exchange, exchange_until_closed, status_of, upload

Client = Callable[..., Awaitable[TestClient]]
DB = AppKey("db", str)
TIMEOUT = 10


async def echo(request: Request) -> Response:
    return json_response({"match_info": dict(request.match_info), "path": request.path})


def app_with(*routes: tuple[str, str, Handler], **kwargs: object) -> Application:
    app = Application(**kwargs)  # type: ignore[arg-type]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    return app


async def test_hello_world(actorhttp_client: Client) -> None:
    async def hello(request: Request) -> Response:
        return Response(text=f"hello, {request.match_info['name']}")

    app = Application()
    app.router.add_get("/hello/{name}", hello)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/hello/world")
    assert response.status_code == 200
    assert response.text == "hello, world"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_no_resource_matches_is_404(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/there", echo)))
        response = await client.get("/not-there")
    assert response.status_code == 404
    assert response.text == "404: Not Found"


async def test_wrong_method_is_405_with_allow(actorhttp_client: Client) -> None:
    app = Application()
    app.router.add_get("/items", echo)
    app.router.add_post("/items", echo)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.delete("/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET,HEAD,POST"  # aiohttp joins with ","


async def test_add_get_answers_head_without_body(transport: TransportName) -> None:
    app = Application()
    app.router.add_get("/page", _twelve_bytes)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport=transport) as client:
            head = await client.head("/page")
            raw = await exchange(
                client.server.port, b"HEAD /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "12"
    assert status_of(raw) == 200
    assert raw.endswith(b"\r\n\r\n")  # headers only, not one byte of body


async def _twelve_bytes(request: Request) -> Response:
    return Response(text="twelve bytes")


async def test_name_part_matches_one_segment_and_regex_parts(actorhttp_client: Client) -> None:
    app = app_with(("GET", "/hello/{name}", echo), ("GET", "/items/{id:\\d+}", echo))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        one = await client.get("/hello/bob")
        two_segments = await client.get("/hello/bob/extra")
        digits = await client.get("/items/42")
        letters = await client.get("/items/abc")
    assert one.json()["match_info"] == {"name": "bob"}
    assert two_segments.status_code == 404
    assert digits.json()["match_info"] == {"id": "42"}
    assert letters.status_code == 404


async def test_percent_encoded_path_matches_decoded(actorhttp_client: Client) -> None:
    app = app_with(("GET", "/hello/{name}", echo), ("GET", "/café", echo))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        named = await client.get("/hello/w%C3%B6rld%20x")
        slash = await client.get("/hello/a%2Fb")
        plain = await client.get("/caf%C3%A9")
    assert named.json()["match_info"] == {"name": "wörld x"}
    assert slash.json()["match_info"] == {"name": "a/b"}  # an encoded slash stays in its segment
    assert plain.status_code == 200
    assert plain.json()["path"] == "/café"


async def test_http_exception_gives_its_status_headers_and_body(actorhttp_client: Client) -> None:
    async def limited(request: Request) -> Response:
        raise HTTPTooManyRequests(headers={"Retry-After": "3"}, text="slow down")

    async def moved(request: Request) -> Response:
        raise HTTPFound("/elsewhere")

    app = app_with(("GET", "/limited", limited), ("GET", "/moved", moved))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/limited")
        redirect = await client.get("/moved")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.text == "slow down"
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "/elsewhere"


async def test_http_exception_raised_in_middleware(actorhttp_client: Client) -> None:
    @middleware
    async def guard(request: Request, handler: Handler) -> StreamResponse:
        if "Authorization" not in request.headers:
            raise HTTPFound("/login")
        return await handler(request)

    app = app_with(("GET", "/secret", echo), middlewares=[guard])
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        refused = await client.get("/secret")
        allowed = await client.get("/secret", headers={"Authorization": "yes"})
    assert refused.status_code == 302
    assert refused.headers["location"] == "/login"
    assert allowed.status_code == 200


async def test_other_exception_is_500_logged_and_server_goes_on(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: Request) -> Response:
        raise ZeroDivisionError("secret detail")

    app = app_with(("GET", "/broken", broken), ("GET", "/fine", echo))
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app)
        response = await client.get("/broken")
        after = await client.get("/fine")
    assert response.status_code == 500
    assert "secret detail" not in response.text
    assert "ZeroDivisionError" not in response.text
    assert after.status_code == 200
    errors = [r for r in caplog.records if r.exc_info]
    assert errors, "the exception was not logged with its traceback"
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[0] is ZeroDivisionError


async def test_non_response_is_500_logged_naming_the_handler(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def forgetful(request: Request) -> Response:
        return "not a response"  # type: ignore[return-value]

    app = app_with(("GET", "/forgetful", forgetful))
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app)
        response = await client.get("/forgetful")
    assert response.status_code == 500
    assert any("forgetful" in r.getMessage() and "str" in r.getMessage() for r in caplog.records)


async def test_middlewares_first_listed_outermost_and_can_answer(
    actorhttp_client: Client,
) -> None:
    calls: list[str] = []

    def recorder(name: str) -> Callable[[Request, Handler], Awaitable[StreamResponse]]:
        @middleware
        async def record(request: Request, handler: Handler) -> StreamResponse:
            calls.append(f"{name} in")
            if request.path == "/short" and name == "inner":
                return Response(text="answered by inner", status=203)
            response = await handler(request)
            calls.append(f"{name} out")
            response.headers.add("X-Order", name)
            return response

        return record

    async def handler(request: Request) -> Response:
        calls.append("handler")
        return Response(text="ok")

    app = app_with(
        ("GET", "/", handler),
        ("GET", "/short", handler),
        middlewares=[recorder("outer"), recorder("inner")],
    )
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/")
        order = list(calls)
        calls.clear()
        short = await client.get("/short")
        missing = await client.get("/missing")
    assert order == ["outer in", "inner in", "handler", "inner out", "outer out"]
    assert response.headers.get_list("x-order") == ["inner", "outer"]
    assert short.status_code == 203
    assert short.text == "answered by inner"
    assert "handler" not in calls
    assert missing.status_code == 404  # 404s pass through the middlewares too
    assert calls[-2:] == ["outer in", "inner in"]


async def test_request_attributes(actorhttp_client: Client) -> None:
    seen: dict[str, object] = {}

    async def inspect(request: Request) -> Response:
        seen.update(
            method=request.method,
            path=request.path,
            raw_path=request.raw_path,
            query=request.query.getall("a"),
            header=request.headers["X-Thing"],
            app=request.app,
            scheme=request.scheme,
            version=request.version,
            remote=request.remote,
            url=str(request.url),
        )
        return Response(text="ok")

    app = app_with(("PUT", "/in/{x}", inspect))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        await client.put("/in/%7Ex?a=1&a=2", headers={"x-thing": "yes"})
    assert seen["method"] == "PUT"
    assert seen["path"] == "/in/~x"
    assert seen["raw_path"] == "/in/%7Ex?a=1&a=2"  # aiohttp's raw_path keeps the query
    assert seen["query"] == ["1", "2"]
    assert seen["header"] == "yes"
    assert seen["app"] is app
    assert seen["scheme"] == "http"
    assert seen["version"] == (1, 1)
    assert seen["remote"] == "127.0.0.1"
    assert str(seen["url"]).startswith("http://127.0.0.1:")
    assert str(seen["url"]).endswith("/in/%7Ex?a=1&a=2")


async def test_json_and_bad_json(actorhttp_client: Client) -> None:
    async def parse(request: Request) -> Response:
        return json_response({"got": await request.json()})

    app = app_with(("POST", "/json", parse))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        good = await client.post("/json", json={"a": [1, 2]})
        bad = await client.post("/json", content=b"{not json")
    assert good.json() == {"got": {"a": [1, 2]}}
    assert bad.status_code == 400
    assert "JSON" in bad.text


async def test_body_streamed_in_chunks(actorhttp_client: Client) -> None:
    async def count(request: Request) -> Response:
        sizes = [len(chunk) async for chunk in request.content.iter_chunked(1000)]
        return json_response({"chunks": len(sizes), "total": sum(sizes)})

    async def body() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 777

    app = app_with(("POST", "/count", count))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.post("/count", content=body())
    # As aiohttp's iter_chunked: at most 1000 bytes a piece, as they arrive.
    assert response.json()["total"] == 7770
    assert response.json()["chunks"] >= 8


async def test_declared_body_over_limit_is_413_and_closes(actorhttp_client: Client) -> None:
    async def upload(request: Request) -> Response:
        return Response(text=str(len(await request.read())))

    app = app_with(("POST", "/upload", upload), client_max_size=1000)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        small = await client.post("/upload", content=b"a" * 1000)
        # Declares 10 MB and sends only the headers: the answer must come without the body.
        raw = await exchange(
            client.server.port,
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
        )
    assert small.text == "1000"
    assert status_of(raw) == 413
    assert b"connection: close" in raw.lower()


async def test_streamed_body_crossing_limit_is_413(actorhttp_client: Client) -> None:
    received: list[int] = []

    async def take(request: Request) -> Response:
        try:
            await request.read()
        finally:
            received.append(request.content.total_bytes)
        return Response(text="unreachable")

    app = app_with(("POST", "/upload", take), client_max_size=10_000)
    head = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"1000\r\n" + b"z" * 4096 + b"\r\n"
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        raw = await upload(client.server.port, head, [chunk] * 100)
    assert status_of(raw) == 413
    assert b"connection: close" in raw.lower()
    assert b"Maximum request body size 10000 exceeded" in raw
    assert 10_000 < received[0] <= 10_000 + 4096  # stopped at the chunk that crossed


async def test_response_with_unread_body_closes_connection(actorhttp_client: Client) -> None:
    async def ignore(request: Request) -> Response:
        return Response(text="ignored")

    async def consume(request: Request) -> Response:
        return Response(text=str(len(await request.read())))

    app = app_with(("POST", "/ignore", ignore), ("POST", "/consume", consume))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        head = b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
        raw = await upload(client.server.port, head, [b"a" * 1000] * 100)
        read = await client.post("/consume", content=b"small")
    assert status_of(raw) == 200
    assert b"connection: close" in raw.lower()
    assert read.text == "5"
    assert "connection" not in read.headers  # a body read to its end keeps the connection


async def test_header_with_crlf_is_never_sent(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def inject(request: Request) -> Response:
        response = Response(text="x")
        response.headers["X-Evil"] = "a\r\nSet-Cookie: stolen=1"
        return response

    app = app_with(("GET", "/inject", inject))
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app)
        raw = await exchange(
            client.server.port, b"GET /inject HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    assert status_of(raw) == 500
    assert b"stolen" not in raw
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "sub").mkdir()
    (root / "sub" / "data.json").write_text('{"a": 1}')
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.mark.parametrize(
    "target",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/static/link",
        "/static//etc/passwd",
        "/static/..%5csecret.txt",
        "/static/%00",
    ],
)
async def test_static_never_serves_outside_its_folder(
    actorhttp_client: Client, static_root: Path, target: str
) -> None:
    app = Application()
    app.router.add_static("/static", static_root)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        request = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        raw = await exchange(client.server.port, request.encode())
    assert status_of(raw) in (400, 403, 404)
    assert b"TOP SECRET" not in raw


async def test_static_serves_files_inside(actorhttp_client: Client, static_root: Path) -> None:
    app = Application()
    app.router.add_static("/static", static_root)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        page = await client.get("/static/index.html")
        data = await client.get("/static/sub/data.json")
        folder = await client.get("/static/sub")
        missing = await client.get("/static/nope.txt")
    assert page.text == "<h1>hi</h1>"
    assert page.headers["content-type"] == "text/html"
    assert json.loads(data.text) == {"a": 1}
    assert folder.status_code == 403
    assert missing.status_code == 404


async def test_slow_handler_does_not_block_others(actorhttp_client: Client) -> None:
    release = trio.Event()

    async def slow(request: Request) -> Response:
        await release.wait()
        return Response(text="slow")

    app = app_with(("GET", "/slow", slow), ("GET", "/fast", echo))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        results: dict[str, str] = {}
        async with trio.open_nursery() as nursery:

            async def get(path: str) -> None:
                results[path] = (await client.get(path)).text

            nursery.start_soon(get, "/slow")
            await trio.sleep(0.1)
            await get("/fast")
            assert "/slow" not in results  # /fast answered while /slow still waits
            release.set()
    assert results["/slow"] == "slow"


async def test_actor_mailbox_target(actorhttp_client: Client) -> None:
    mailbox, inbox = trio.open_memory_channel[Request](4)

    async def actor() -> None:
        total = 0
        async with inbox:
            async for request in inbox:
                async with request.reply:
                    total += int(request.match_info["n"])
                    await request.reply.send(json_response({"total": total}))

    seen: list[str] = []

    @middleware
    async def tag(request: Request, handler: Handler) -> StreamResponse:
        response = await handler(request)
        # The actor sent its answer: the middleware sees it, and may not change it.
        assert response.prepared
        with pytest.raises(RuntimeError, match="after the headers have been sent"):
            response.headers["X-Tag"] = "wrapped"
        seen.append(response.headers["Content-Type"])
        return response

    app = Application(middlewares=[tag])
    app.router.add_post("/add/{n:\\d+}", mailbox)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(actor)
            client = await actorhttp_client(app)
            first = await client.post("/add/2")
            second = await client.post("/add/5")
            await mailbox.aclose()
            gone = await client.post("/add/1")
    assert first.json() == {"total": 2}
    assert second.json() == {"total": 7}
    assert "x-tag" not in second.headers
    assert seen == ["application/json; charset=utf-8"] * 2
    assert gone.status_code == 503


async def test_actor_closing_reply_without_answer_is_500(actorhttp_client: Client) -> None:
    mailbox, inbox = trio.open_memory_channel[Request](4)

    async def rude_actor() -> None:
        async with inbox:
            async for request in inbox:
                await request.reply.aclose()

    app = Application()
    app.router.add_get("/rude", mailbox)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rude_actor)
            client = await actorhttp_client(app)
            response = await client.get("/rude")
            await mailbox.aclose()
    assert response.status_code == 500


async def test_startup_and_cleanup_hooks_and_app_state(transport: TransportName) -> None:
    events: list[str] = []

    async def on_startup(app: Application) -> None:
        app[DB] = "connected"
        events.append("startup")

    async def on_cleanup(app: Application) -> None:
        events.append("cleanup")

    async def handler(request: Request) -> Response:
        return Response(text=request.app[DB])

    app = Application()
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", handler)
    with trio.fail_after(TIMEOUT):
        # As an aiohttp test has it, with aiohttp.test_utils' names.
        server = test_utils.TestServer(app, transport=transport)
        async with test_utils.TestClient(server) as client:
            response = await client.get("/")
            assert response.status == 200
            assert await response.text() == "connected"
            assert events == ["startup"]
    assert events == ["startup", "cleanup"]


async def test_url_for_named_route() -> None:
    app = Application()
    app.router.add_route("POST", "/items/{id:\\d+}", echo, name="item")
    assert str(app.router["item"].url_for(id="7")) == "/items/7"
    with pytest.raises(ValueError, match="id"):
        app.router["item"].url_for(id="x")


def test_duplicate_method_on_one_resource_is_runtime_error() -> None:
    app = Application()
    app.router.add_get("/x", echo)
    with pytest.raises(RuntimeError, match="GET"):
        app.router.add_route("GET", "/x", echo)


def test_bad_application_settings() -> None:
    with pytest.raises(ValueError, match="client_max_size"):
        Application(client_max_size=0)
    with pytest.raises(TypeError, match="callable"):
        Application(middlewares=["nope"])


# -- streamed responses ----------------------------------------------------------


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked body; AssertionError unless it ends with the last chunk."""
    out = bytearray()
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n"
            return bytes(out)
        out += body[:size]
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


def streaming_app(started: list[str], *, fail: bool = False) -> Application:
    async def pieces() -> AsyncIterator[bytes]:
        started.append("stream")
        for piece in (b"one ", b"two ", b"three"):
            yield piece
            await trio.lowlevel.checkpoint()
        if fail:
            raise RuntimeError("the source went away")

    async def streamed(request: Request) -> Response:
        return Response(body=pieces(), content_type="text/plain")

    app = Application()
    app.router.add_get("/streamed", streamed)
    app.router.add_get("/plain", echo)
    return app


async def test_streamed_response_arrives_whole_on_a_reused_connection(
    actorhttp_client: Client,
) -> None:
    started: list[str] = []
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(streaming_app(started))
        first = await client.get("/streamed")
        second = await client.get("/streamed")
        raw = await exchange(
            client.server.port, b"GET /streamed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    assert first.text == second.text == "one two three"
    assert first.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in first.headers
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert dechunk(body) == b"one two three"


async def test_streamed_response_to_head_never_runs_the_stream(actorhttp_client: Client) -> None:
    started: list[str] = []
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(streaming_app(started))
        head = await client.head("/streamed")
    assert head.status_code == 200
    assert head.content == b""
    assert started == []


async def test_streamed_response_to_http10_ends_with_the_connection(
    actorhttp_client: Client,
) -> None:
    started: list[str] = []
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(streaming_app(started))
        raw, closed = await exchange_until_closed(
            client.server.port, b"GET /streamed HTTP/1.0\r\n\r\n"
        )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert status_of(raw) == 200
    assert b"chunked" not in head.lower()
    assert body == b"one two three"
    assert closed


async def test_stream_failing_part_way_cuts_the_connection_and_is_logged(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    started: list[str] = []
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(streaming_app(started, fail=True))
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/streamed")
        after = await client.get("/plain")
    assert after.status_code == 200
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert failures, "the stream's error was not logged"


async def test_a_handler_may_answer_on_its_reply_and_return_nothing(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def actor_style(request: Request) -> None:
        await request.reply.send(Response(text="sent on the reply"))

    app = Application()
    app.router.add_get("/", actor_style)  # type: ignore[arg-type]
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        client = await actorhttp_client(app)
        response = await client.get("/")
    assert response.text == "sent on the reply"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


async def test_each_request_runs_in_a_context_of_its_own(actorhttp_client: Client) -> None:
    """Handlers run on pooled tasks: what one request sets must not reach the next, on
    the same connection or another, while tasks a handler starts see its values."""
    seen_at_start: list[str] = []

    async def handler(request: Request) -> Response:
        seen_at_start.append(REQUEST_ID.get())
        REQUEST_ID.set(request.query["id"])
        await trio.sleep(float(request.query.get("wait", "0")))
        inherited: list[str] = []

        async def child() -> None:
            inherited.append(REQUEST_ID.get())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        return Response(text=f"{REQUEST_ID.get()} {inherited[0]}")

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/", handler)))
        for i in range(10):  # one keep-alive connection
            response = await client.get("/", params={"id": str(i)})
            assert response.text == f"{i} {i}"
        for i in range(10, 15):  # a connection each
            response = await client.get("/", params={"id": str(i)}, headers={"Connection": "close"})
            assert response.text == f"{i} {i}"
        answers: dict[int, str] = {}

        async def concurrently(i: int) -> None:
            response = await client.get("/", params={"id": str(i), "wait": "0.01"})
            answers[i] = response.text

        async with trio.open_nursery() as nursery:
            for i in range(20, 30):
                nursery.start_soon(concurrently, i)
    assert answers == {i: f"{i} {i}" for i in range(20, 30)}
    assert seen_at_start == ["unset"] * 25
