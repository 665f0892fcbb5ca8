"""Two logging middlewares around /hello/{name}, showing their order.

The first middleware listed runs outermost: each request logs
"outer: in", "inner: in", the handler, "inner: out", "outer: out".

    python examples/middlewares.py [--port 8080]
"""

from __future__ import annotations

import argparse
import logging

from actorhttp import Application, Request, Response, StreamResponse, middleware, run_app
from actorhttp.messages import Handler

log = logging.getLogger("example")


@middleware
async def outer(request: Request, handler: Handler) -> StreamResponse:
    log.info("outer: in %s", request.path)
    response = await handler(request)
    log.info("outer: out %s", response.status)
    response.headers.add("X-Middleware", "outer")
    return response


@middleware
async def inner(request: Request, handler: Handler) -> StreamResponse:
    log.info("inner: in %s", request.path)
    response = await handler(request)
    log.info("inner: out %s", response.status)
    response.headers.add("X-Middleware", "inner")
    return response


async def hello(request: Request) -> Response:
    log.info("handler: %s", request.match_info["name"])
    return Response(text=f"hello, {request.match_info['name']}\n")


app = Application(middlewares=[outer, inner])
app.router.add_get("/hello/{name}", hello)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_app(app, host=args.host, port=args.port)
