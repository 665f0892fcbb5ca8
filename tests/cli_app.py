"""The app the command-line tests serve in real processes (``tests.cli_app:app``).

``GET /`` answers the worker's pid; ``GET /slow?s=N`` takes N seconds. When the
file named by ``CLI_APP_BROKEN`` exists the module refuses to import, so a
test can make every restart of a worker fail.
"""

from __future__ import annotations

import os

import trio

from actorhttp import web

if os.path.exists(os.environ.get("CLI_APP_BROKEN", "/nonexistent")):
    raise RuntimeError("cli_app is broken on purpose (CLI_APP_BROKEN exists)")

NOT_AN_APP = 42


async def pid(request: web.Request) -> web.Response:
    return web.Response(text=str(os.getpid()))


async def slow(request: web.Request) -> web.Response:
    await trio.sleep(float(request.query.get("s", "1")))
    return web.Response(text="slow done")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", pid)
    app.router.add_get("/slow", slow)
    return app


async def make_app_async() -> web.Application:
    return make_app()


def not_a_factory() -> int:
    return 42


app = make_app()
