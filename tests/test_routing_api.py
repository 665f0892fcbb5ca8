"""aiohttp's route definitions and class-based views, through a real server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import trio

from actorhttp import web
from actorhttp.testing import TestClient

TIMEOUT = 10
Client = Callable[..., Awaitable[TestClient]]


async def test_route_table_def_decorators_register_every_verb(actorhttp_client: Client) -> None:
    routes = web.RouteTableDef()

    @routes.get("/items/{id}", name="item")
    async def get_item(request: web.Request) -> web.Response:
        return web.Response(text=f"get {request.match_info['id']}")

    @routes.post("/items")
    async def post_item(request: web.Request) -> web.Response:
        return web.Response(text="post", status=201)

    @routes.put("/items/{id}")
    async def put_item(request: web.Request) -> web.Response:
        return web.Response(text="put")

    @routes.patch("/items/{id}")
    async def patch_item(request: web.Request) -> web.Response:
        return web.Response(text="patch")

    @routes.delete("/items/{id}")
    async def delete_item(request: web.Request) -> web.Response:
        return web.Response(status=204)

    @routes.options("/items")
    async def options_items(request: web.Request) -> web.Response:
        return web.Response(headers={"Allow": "GET, POST, OPTIONS"})

    @routes.head("/ping")
    async def head_ping(request: web.Request) -> web.Response:
        return web.Response(headers={"X-Ping": "pong"})

    @routes.route("REPORT", "/items")
    async def report(request: web.Request) -> web.Response:
        return web.Response(text="report")

    assert len(routes) == 8
    assert routes[0].method == "GET"  # type: ignore[attr-defined]
    assert "GET /items/{id}" in repr(routes[0])
    app = web.Application()
    added = app.add_routes(routes)
    assert len(added) == 8
    assert str(app.router["item"].url_for(id="7")) == "/items/7"
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        got = await client.get("/items/7")
        head = await client.head("/items/7")  # get() also answers HEAD
        posted = await client.post("/items")
        put = await client.put("/items/7")
        patched = await client.patch("/items/7")
        deleted = await client.delete("/items/7")
        options = await client.options("/items")
        ping = await client.head("/ping")
        reported = await client.request("REPORT", "/items")
    assert (got.text, head.status_code, head.content) == ("get 7", 200, b"")
    assert (posted.status_code, posted.text) == (201, "post")
    assert (put.text, patched.text, deleted.status_code) == ("put", "patch", 204)
    assert options.headers["allow"] == "GET, POST, OPTIONS"
    assert ping.headers["x-ping"] == "pong"
    assert reported.text == "report"


async def test_route_def_functions_and_add_routes(actorhttp_client: Client) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=request.method)

    app = web.Application()
    added = app.router.add_routes(
        [
            web.get("/a", handler, allow_head=False),
            web.post("/a", handler),
            web.put("/a", handler),
            web.patch("/a", handler),
            web.delete("/a", handler),
            web.options("/a", handler),
            web.head("/b", handler),
            web.route("PROPFIND", "/a", handler),
        ]
    )
    assert [route.method for route in added] == [
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
        "HEAD",
        "PROPFIND",
    ]
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        answers = [
            (await client.request(method, "/a")).text
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND")
        ]
        head_a = await client.head("/a")  # allow_head=False: no HEAD on /a
    assert answers == ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]
    assert head_a.status_code == 405


class Item(web.View):
    async def get(self) -> web.Response:
        return web.Response(text=f"view get {self.request.match_info['id']}")

    async def post(self) -> web.Response:
        return web.json_response({"posted": await self.request.json()})


async def test_class_based_views_405_lists_the_verbs_they_have(actorhttp_client: Client) -> None:
    routes = web.RouteTableDef()

    @routes.view("/decorated/{id}")
    class Decorated(Item):
        async def delete(self) -> web.Response:
            return web.Response(status=204)

    app = web.Application()
    app.router.add_view("/items/{id}", Item)
    app.add_routes([web.view("/listed/{id}", Item)])
    app.add_routes(routes)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        got = await client.get("/items/3")
        posted = await client.post("/items/3", json={"a": 1})
        refused = await client.put("/items/3")
        listed = await client.get("/listed/4")
        decorated = await client.delete("/decorated/5")
        odd = await client.request("SEARCH", "/items/3")  # a method outside METH_ALL
    assert got.text == "view get 3"
    assert posted.json() == {"posted": {"a": 1}}
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET,POST"
    assert listed.text == "view get 4"
    assert decorated.status_code == 204
    assert odd.status_code == 405


def test_route_table_def_is_a_sequence_and_static_is_recorded() -> None:
    routes = web.RouteTableDef()
    routes.static("/static", "/tmp", show_index=True)
    assert len(routes) == 1
    assert isinstance(routes[0], web.StaticDef)
    assert "show_index=True" in repr(routes[0])
    assert routes[0] in routes
    assert list(routes[0:1]) == [routes[0]]
    assert repr(routes) == "<RouteTableDef count=1>"


def test_duplicate_route_def_raises_as_add_route_does() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    with pytest.raises(RuntimeError, match="already registered"):
        app.add_routes([web.get("/x", handler), web.get("/x", handler)])
