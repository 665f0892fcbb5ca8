"""An admin sub-application with its own middleware, mounted under /admin/.

    python examples/subapp.py [--port 8080]
    curl http://127.0.0.1:8080/                          # public
    curl http://127.0.0.1:8080/admin/                    # 401: the admin middleware
    curl -H 'X-Token: letmein' http://127.0.0.1:8080/admin/

The admin app's middleware wraps only the admin routes (inside the root's
timing middleware); in admin handlers ``request.app`` is the admin app, and
``request.config_dict`` finds the root's settings through the chain.
"""

from __future__ import annotations

import argparse
import time

from actorhttp import web
from actorhttp.messages import Handler

SITE_NAME = web.AppKey("site_name", str)
TOKEN = web.AppKey("token", str)


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handler(request)
    response.headers["X-Elapsed-Us"] = str(int((time.perf_counter() - started) * 1e6))
    return response


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get("X-Token") != request.app[TOKEN]:
        raise web.HTTPUnauthorized(text="admin needs X-Token")
    return await handler(request)


async def home(request: web.Request) -> web.Response:
    return web.Response(text=f"{request.app[SITE_NAME]}; admin at /admin/\n")


async def dashboard(request: web.Request) -> web.Response:
    users = request.app.router["admin-users"].url_for()
    return web.json_response({"site": request.config_dict[SITE_NAME], "users": str(users)})


async def users(request: web.Request) -> web.Response:
    return web.json_response(["ada", "grace"])


def make_app() -> web.Application:
    admin = web.Application(middlewares=[require_token])
    admin[TOKEN] = "letmein"
    admin.router.add_get("/", dashboard)
    admin.router.add_get("/users", users, name="admin-users")
    app = web.Application(middlewares=[timing])
    app[SITE_NAME] = "example site"
    app.router.add_get("/", home)
    app.add_subapp("/admin/", admin)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port)
