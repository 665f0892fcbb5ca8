"""aiohttp_remotes as its documentation shows it: behind a proxy on 127.0.0.1."""

from __future__ import annotations

from aiohttp import web
from aiohttp_remotes import AllowedHosts, BasicAuth, XForwardedStrict, setup


async def describe(request: web.Request) -> web.Response:
    return web.json_response(
        {"remote": request.remote, "scheme": request.scheme, "host": request.host}
    )


async def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", describe)
    await setup(app, XForwardedStrict([["127.0.0.1"]]), AllowedHosts({"example.com"}))
    admin = web.Application()
    admin.router.add_get("/", describe)
    await setup(admin, BasicAuth("admin", "secret", "the realm"))
    app.add_subapp("/admin/", admin)
    return app
