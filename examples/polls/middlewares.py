"""The error pages, as the original: 404 and 500 rendered from templates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp_jinja2

from actorhttp import web
from actorhttp.typedefs import Handler, Middleware

Override = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def handle_404(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("404.html", request, {}, status=404)


async def handle_500(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("500.html", request, {}, status=500)


def create_error_middleware(overrides: dict[int, Override]) -> Middleware:
    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as ex:
            override = overrides.get(ex.status)
            if override:
                return await override(request)

            raise
        except Exception:
            request.protocol.logger.exception("Error handling request")
            return await overrides[500](request)

    return error_middleware


def setup_middlewares(app: web.Application) -> None:
    error_middleware = create_error_middleware({404: handle_404, 500: handle_500})
    app.middlewares.append(error_middleware)
