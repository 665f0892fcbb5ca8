"""Resources and routes as aiohttp plugins read them: ``get_info()``, ``raw_match()``, iteration.

Each is compared with aiohttp's own router built the same way, and
``match_info.get_info()`` is read by a handler through a real server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp.web
import trio

from actorhttp import web
from actorhttp.testing import serve_app


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="x")


async def aiohttp_handler(request: aiohttp.web.Request) -> aiohttp.web.Response:
    return aiohttp.web.Response(text="x")


def both(build: Any) -> tuple[Any, Any]:
    """The same table built on actorhttp's router and on aiohttp's."""
    ours, theirs = web.Application(), aiohttp.web.Application()
    build(ours.router, handler)
    build(theirs.router, aiohttp_handler)
    return ours.router, theirs.router


def build(router: Any, target: Any) -> None:
    router.add_get("/users", target, name="users")
    router.add_post("/users/{id:\\d+}", target, name="user")
    router.add_route("PUT", "/users/{id:\\d+}/{part}", target, name="part")


def test_get_info_is_aiohttps() -> None:
    ours, theirs = both(build)
    for name in ("users", "user", "part"):
        mine, reference = ours[name].get_info(), theirs[name].get_info()
        assert mine.keys() == reference.keys(), name
        if "formatter" in reference:
            assert mine["formatter"] == reference["formatter"]
            assert isinstance(mine["pattern"], re.Pattern)
            assert mine["pattern"].fullmatch("/users/7") is not None or name == "part"
        else:
            assert mine == reference
    assert ours["user"].get_info()["formatter"] == "/users/{id}"


def test_routes_of_a_resource_as_aiohttp() -> None:
    ours, theirs = both(build)
    for name in ("users", "user", "part"):
        assert len(ours[name]) == len(theirs[name])
        assert [route.method for route in ours[name]] == [r.method for r in theirs[name]]
        for route in ours[name]:
            assert route.get_info() == ours[name].get_info()
            assert route.resource is ours[name]


def test_raw_match_as_aiohttp() -> None:
    ours, theirs = both(build)
    for name, path in [
        ("users", "/users"),
        ("users", "/users/"),
        ("user", "/users/{id:\\d+}"),
        ("user", "/users/{id}"),
        ("user", "/users/7"),
    ]:
        assert ours[name].raw_match(path) == theirs[name].raw_match(path), (name, path)


def test_an_empty_resource_is_falsy_as_in_aiohttp() -> None:
    resource = web.Application().router.add_resource("/empty")
    assert len(resource) == 0
    assert not resource
    assert not aiohttp.web.Application().router.add_resource("/empty")


def test_static_and_subapp_info(tmp_path: Path) -> None:
    app = web.Application()
    static = app.router.add_static("/static", tmp_path)
    info = static.get_info()
    assert info["prefix"] == "/static"
    assert info["directory"] == tmp_path.resolve()
    assert not static.raw_match("/static")
    static.set_options_route(handler)
    assert sorted(route.method for route in static) == ["GET", "HEAD", "OPTIONS"]
    sub = web.Application()
    resource = app.add_subapp("/admin", sub)
    assert resource.get_info() == {"app": sub, "prefix": "/admin"}


async def test_match_info_get_info_in_a_handler() -> None:
    async def describe(request: web.Request) -> web.Response:
        match_info: Any = request.match_info  # a UrlMappingMatchInfo under an Application
        info = match_info.get_info()
        route = match_info.route
        return web.json_response(
            {
                "info": info.get("formatter", info.get("path")),
                "route": route.get_info() == info,
                "routes": len(route.resource),
            }
        )

    app = web.Application()
    app.router.add_get("/items/{id}", describe)
    app.router.add_get("/about", describe)
    with trio.fail_after(10):
        async with serve_app(app) as client:
            dynamic = (await client.get("/items/7")).json()
            plain = (await client.get("/about")).json()
    assert dynamic == {"info": "/items/{id}", "route": True, "routes": 2}
    assert plain == {"info": "/about", "route": True, "routes": 2}
