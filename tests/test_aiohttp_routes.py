"""Route behaviour aiohttp's own tests pin: ``expect_handler``, plain ``def`` handlers, the
handler's attributes in middlewares, a frozen ``match_info``, a regex route's ``canonical``
and the static root's index title. Over real sockets on both transports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from actorhttp import web
from actorhttp.messages import TransportName
from actorhttp.testing import TestClient

from .rawhttp import exchange_until_closed, status_of

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10


async def echo_body(request: web.Request) -> web.Response:
    return web.Response(text=f"handler read {await request.read()!r}")


def final(answer: bytes) -> bytes:
    """The answer past any interim 100 Continue (hypercorn sends it at once, by itself)."""
    while answer.startswith(b"HTTP/1.1 100 "):
        answer = answer.partition(b"\r\n\r\n")[2]
    return answer


async def test_an_expect_handler_answers_before_the_middlewares(
    actorhttp_client: Client, transport: TransportName
) -> None:
    seen: list[str] = []

    async def expect_handler(request: web.Request) -> web.Response | None:
        seen.append(request.headers["Expect"])
        if request.headers.get("X-Key") == "refuse":
            raise web.HTTPForbidden(text="no upload for you")
        if request.headers.get("X-Key") == "cached":
            return web.Response(text="from the cache")
        return None  # go on: the 100 goes out when the handler reads the body

    @web.middleware
    async def tagging(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        response.headers["X-Middleware"] = "ran"
        return response

    app = web.Application(middlewares=[tagging])
    app.router.add_post("/upload", echo_body, expect_handler=expect_handler)
    app.add_routes([web.put("/put", echo_body, expect_handler=expect_handler)])

    def upload(path: bytes, key: bytes) -> bytes:
        return (
            b"POST %s HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nX-Key: %s\r\n"
            b"Content-Length: 4\r\nConnection: close\r\n\r\nbody" % (path, key)
        )

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        port = client.server.port
        go_on, _ = await exchange_until_closed(port, upload(b"/upload", b"go"))
        refused, _ = await exchange_until_closed(port, upload(b"/upload", b"refuse"))
        cached, _ = await exchange_until_closed(port, upload(b"/upload", b"cached"))
        plain = await client.post("/upload", content=b"no expect")
        put = await client.put("/put", content=b"data", headers={"Expect": "100-continue"})
    assert go_on.endswith(b"handler read b'body'")
    assert b"X-Middleware: ran" in go_on
    assert status_of(final(refused)) == 403
    assert refused.endswith(b"no upload for you")
    if transport == "httptools":
        assert b" 100 " not in refused  # refused before the body was asked for
    assert status_of(final(cached)) == 200
    assert cached.endswith(b"from the cache")
    assert b"X-Middleware" not in cached  # aiohttp's order: before any middleware
    assert plain.text == "handler read b'no expect'"
    assert put.text == "handler read b'data'"
    assert seen == ["100-continue"] * 4


def test_an_expect_handler_must_be_async() -> None:
    app = web.Application()

    def not_async(request: web.Request) -> None:
        return None

    with pytest.raises(TypeError, match="Coroutine is expected"):
        app.router.add_get("/", echo_body, expect_handler=not_async)  # type: ignore[arg-type]
    assert not app.router.resources()  # refused before the resource was added


async def test_a_plain_def_handler_warns_and_is_served(actorhttp_client: Client) -> None:
    def hello(request: web.Request) -> web.Response:
        """Says hello."""
        return web.Response(text=f"hello {request.match_info['name']}")

    class AsyncCallable:
        async def __call__(self, request: web.Request) -> web.Response:
            return web.Response(text="async callable")

    app = web.Application()
    with pytest.warns(DeprecationWarning, match="Bare functions are deprecated"):
        app.router.add_get("/hello/{name}", hello)  # type: ignore[arg-type]
    app.router.add_get("/callable", AsyncCallable())  # async: no warning (pytest errors on one)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/hello/you")
        called = await client.get("/callable")
    assert response.status_code == 200
    assert response.text == "hello you"
    assert called.text == "async callable"
    wrapper: Any = app.router.routes()[0].handler  # keeps the function's name and docstring
    assert wrapper.__doc__ == "Says hello."
    assert wrapper.__name__ == "hello"
    assert wrapper is not hello


async def test_every_middleware_sees_the_handlers_attributes(actorhttp_client: Client) -> None:
    seen: list[tuple[str, Any]] = []

    def middleware(label: str) -> Any:
        @web.middleware
        async def mw(request: web.Request, handler: Any) -> web.StreamResponse:
            seen.append((label, getattr(handler, "annotation", None)))
            seen.append((label, getattr(handler, "__name__", None)))
            response: web.StreamResponse = await handler(request)
            return response

        return mw

    async def annotated(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    annotated.annotation = "value"  # type: ignore[attr-defined]
    subapp = web.Application(middlewares=[middleware("inner")])
    subapp.router.add_get("/x", annotated)
    app = web.Application(middlewares=[middleware("outer"), middleware("middle")])
    app.add_subapp("/sub", subapp)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/sub/x")
    assert response.text == "ok"
    assert seen == [
        ("outer", "value"),
        ("outer", "annotated"),
        ("middle", "value"),
        ("middle", "annotated"),
        ("inner", "value"),
        ("inner", "annotated"),
    ]


async def test_match_info_apps_are_frozen_before_the_handler(actorhttp_client: Client) -> None:
    async def handler(request: web.Request) -> web.Response:
        match_info: Any = request.match_info
        try:
            match_info.add_app(request.app)
        except RuntimeError as exc:
            return web.Response(text=str(exc))
        return web.Response(text="changed")

    subapp = web.Application()
    subapp.router.add_get("/to", handler)
    app = web.Application()
    app.add_subapp("/path", subapp)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/path/to")
    assert response.text == "Cannot change apps stack after .freeze() call"


def test_a_regex_routes_canonical_leaves_the_regex_out() -> None:
    app = web.Application()
    tail = app.router.add_get("/core/locations{tail:.*}", echo_body)
    item = app.router.add_get(r"/items/{id:\d+}/{name}", echo_body)
    assert tail.resource.canonical == "/core/locations{tail}"
    assert item.resource.canonical == "/items/{id}/{name}"
    # The same path and name again reuse the resource, as aiohttp (raw path compared).
    again = app.router.add_post(r"/items/{id:\d+}/{name}", echo_body)
    assert again.resource is item.resource
    assert app.router.add_post(r"/items/{id}/{name}", echo_body).resource is not item.resource


async def test_the_static_roots_index_is_titled_as_aiohttps(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub").mkdir()
    app = web.Application()
    app.router.add_static("/static", tmp_path, show_index=True)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        root = await client.get("/static/")
        sub = await client.get("/static/sub")
    assert "<title>Index of /.</title>" in root.text
    assert "<h1>Index of /.</h1>" in root.text
    assert "<title>Index of /sub</title>" in sub.text


NAME = web.AppKey("name", str)


def domain_app() -> tuple[web.Application, list[str]]:
    events: list[str] = []

    def say(text: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(text=f"{text} app={request.app[NAME]}")

        return handler

    @web.middleware
    async def sub_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        response.headers["X-Sub"] = "1"
        return response

    async def started(app: web.Application) -> None:
        events.append(f"started {app[NAME]}")

    app = web.Application()
    app[NAME] = "main"
    app.router.add_get("/", say("main root"))
    app.router.add_get("/only-main", say("main only"))
    exact = web.Application(middlewares=[sub_middleware])
    exact[NAME] = "exact"
    exact.router.add_get("/", say("exact root"))
    exact.on_startup.append(started)
    masked = web.Application()
    masked[NAME] = "masked"
    masked.router.add_get("/", say("masked root"))
    ported = web.Application()
    ported[NAME] = "ported"
    ported.router.add_post("/", say("ported root"))
    app.add_domain("Different.Example.COM", exact)
    app.add_domain("*.example.org", masked)
    app.add_domain("example.net:8080", ported)
    return app, events


async def test_add_domain_routes_by_host_before_any_path(actorhttp_client: Client) -> None:
    app, events = domain_app()
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)

        async def get(host: str, path: str = "/", method: str = "GET") -> tuple[int, str, str]:
            response = await client.request(method, path, headers={"Host": host})
            return response.status_code, response.text, response.headers.get("X-Sub", "")

        answers = {
            "main": await get("main.example.com"),
            "exact": await get("different.example.com"),
            "exact, owns its 404": await get("different.example.com", "/only-main"),
            "mask": await get("a.b.example.org"),
            "mask needs its *": await get("example.org"),
            "port": await get("example.net:8080", method="POST"),
            "port, owns its 405": await get("example.net:8080"),
            "other port": await get("example.net"),
        }
    assert answers["main"] == (200, "main root app=main", "")
    assert answers["exact"] == (200, "exact root app=exact", "1")
    assert answers["exact, owns its 404"][0] == 404
    assert answers["mask"] == (200, "masked root app=masked", "")
    assert answers["mask needs its *"] == (200, "main root app=main", "")
    assert answers["port"] == (200, "ported root app=ported", "")
    assert answers["port, owns its 405"][0] == 405
    assert answers["other port"] == (200, "main root app=main", "")
    assert events == ["started exact"]  # the sub-app's signals run with the app's


def test_add_domain_refuses_what_aiohttp_refuses() -> None:
    app = web.Application()
    for domain in ("", "http://example.com", "bad_label.com", "-dash.com", "a..b"):
        with pytest.raises(ValueError, match=r"Domain|Scheme"):
            app.add_domain(domain, web.Application())
    with pytest.raises(TypeError, match="Domain must be str"):
        app.add_domain(42, web.Application())  # type: ignore[arg-type]
    resource = app.add_domain("*.Example.com", web.Application())
    assert resource.canonical == r".*\.example\.com"
    app.freeze()
    with pytest.raises(RuntimeError, match="frozen"):
        app.add_domain("example.com", web.Application())


async def test_static_routes_take_an_expect_handler(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        raise web.HTTPForbidden(text="no")

    (tmp_path / "a.txt").write_text("a")
    app = web.Application()
    app.router.add_static("/static", tmp_path, expect_handler=refuse)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        plain = await client.get("/static/a.txt")
        expecting = await client.get("/static/a.txt", headers={"Expect": "100-continue"})
    assert plain.text == "a"
    assert expecting.status_code == 403
