"""aiohttp_debugtoolbar as its documentation shows it: ``setup(app)``, with aiohttp_jinja2."""

from __future__ import annotations

import aiohttp_debugtoolbar
import aiohttp_jinja2
import jinja2
from aiohttp import web


@aiohttp_jinja2.template("page.html")
async def page(request: web.Request) -> dict[str, str]:
    return {"title": "toolbar"}


async def fail(request: web.Request) -> web.Response:
    raise RuntimeError("boom for the toolbar")


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/")


def make_app() -> web.Application:
    app = web.Application()
    aiohttp_debugtoolbar.setup(app, intercept_redirects=True)
    templates = {"page.html": "<html><head><title>{{ title }}</title></head><body>hi</body></html>"}
    aiohttp_jinja2.setup(app, loader=jinja2.DictLoader(templates))
    app.router.add_get("/", page)
    app.router.add_get("/fail", fail)
    app.router.add_get("/redirect", redirect)
    return app
