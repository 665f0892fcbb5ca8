"""Hello world: python examples/hello.py, then open http://127.0.0.1:8080/hello/you.

Written as for aiohttp, with ``from actorhttp import web``. Also served by
the command line, in worker processes if asked
(``python -m actorhttp examples.hello:app --workers 2``), an ASGI app
(``hypercorn -k trio examples.hello:app``) and an entry point for
``python -m actorhttp.web examples.hello:init``.
"""

from __future__ import annotations

import argparse

from actorhttp import web

routes = web.RouteTableDef()


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    return web.Response(text="hello, world\n")


@routes.get("/hello/{name}", name="hello")
async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello, {request.match_info['name']}\n")


@routes.get("/info")
async def info(request: web.Request) -> web.Response:
    return web.json_response(
        {"method": request.method, "path": request.path, "query": dict(request.query)}
    )


app = web.Application()
app.add_routes(routes)


def init(argv: list[str]) -> web.Application:
    """For ``python -m actorhttp.web examples.hello:init``: the app, its arguments ignored."""
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
