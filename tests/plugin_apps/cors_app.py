"""aiohttp_cors as its documentation shows it: defaults, a resource, per-route options."""

from __future__ import annotations

import aiohttp_cors
from aiohttp import web


async def data(request: web.Request) -> web.Response:
    return web.json_response({"ok": True}, headers={"X-Custom": "1"})


async def post_data(request: web.Request) -> web.Response:
    return web.json_response(await request.json(), status=201)


async def private(request: web.Request) -> web.Response:
    return web.Response(text="no CORS here")


def make_app() -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(
        app,
        defaults={
            "http://client.example": aiohttp_cors.ResourceOptions(
                allow_credentials=True,
                expose_headers=("X-Custom",),
                allow_headers=("X-Requested-With", "Content-Type"),
                max_age=3600,
            )
        },
    )
    resource = cors.add(app.router.add_resource("/api"))
    cors.add(resource.add_route("GET", data))
    cors.add(resource.add_route("POST", post_data))
    app.router.add_get("/private", private)
    return app
