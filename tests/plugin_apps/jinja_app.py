"""aiohttp_jinja2 as its documentation shows it: ``setup``, ``@template``, ``render_template``."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

TEMPLATES = {
    "hello.html": "<p>Hello, {{ name }}!</p> <a href=\"{{ url('hello', name='you') }}\">again</a>",
    "broken.html": "{{ 1 / 0 }}",
}


@aiohttp_jinja2.template("hello.html")
async def hello(request: web.Request) -> dict[str, Any]:
    return {"name": request.match_info["name"]}


async def rendered(request: web.Request) -> web.Response:
    context = {"name": request.query.get("name", "render")}
    response = aiohttp_jinja2.render_template("hello.html", request, context, status=201)
    response.headers["X-Rendered"] = "yes"
    return response


class Page(web.View):
    @aiohttp_jinja2.template("hello.html", status=202)
    async def get(self) -> dict[str, Any]:
        return {"name": "view"}


async def missing(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("nope.html", request, {})


def make_app() -> web.Application:
    app = web.Application()
    aiohttp_jinja2.setup(app, loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
    app.router.add_get("/hello/{name}", hello, name="hello")
    app.router.add_get("/rendered", rendered)
    app.router.add_view("/view", Page)
    app.router.add_get("/missing", missing)
    return app
