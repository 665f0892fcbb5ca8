"""Server entry points for benchmarks/http.py: ``python benchmarks/servers.py KIND PORT``.

Every kind serves the same three endpoints on 127.0.0.1:PORT until killed:

* ``GET /hello`` -> ``Hello, World!`` (text/plain)
* ``GET /json`` -> ``{"message": "Hello, World!"}`` (application/json)
* ``GET /items/{id}`` -> ``item {id}`` (text/plain), registered after 999 other
  distinct dynamic routes ``/r{i}/{id}`` (i = 0..998), so that the dynamic
  endpoint is resolved in a 1,000-dynamic-route application (``/hello`` and
  ``/json`` are registered first, as an application usually does).

The raw ASGI kind has no router: it compares the path with two constants and
checks the ``/items/`` prefix; it is the ceiling of the hypercorn transport,
not a routing comparison.

Access logging is off everywhere and idle keep-alive connections are kept for
75 s, so that the memory measurement's idle connections stay open.

With ``--tls DIR`` every kind serves the same endpoints over HTTPS instead, with a
server context built here the same way for all of them (:func:`tls_context`: the
``ssl`` module's server defaults, ``DIR/cert.pem`` and ``DIR/key.pem``, ALPN
``http/1.1``, or ``h2`` and ``http/1.1`` with ``--h2``), handed to each server's own
TLS option: ``run_app(ssl_context=)`` for actorhttp and aiohttp,
``Config.create_ssl_context`` for hypercorn. The ``actorhttp-cli`` kind is the
command line itself (``actorhttp benchmarks.servers:actorhttp_app --certfile ...
--keyfile ...``): its TLS context, ALPN and transport are the command line's own.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Running this as a script puts its folder first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` package (aiohttp, hypercorn and starlette
# import it). Take that entry out before importing anything else.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)

import json
import logging
import ssl
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # imported lazily at run time: each server process loads only its own stack
    from hypercorn.config import Config
    from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Framework, Scope

    from actorhttp import Application

KEEP_ALIVE_TIMEOUT = 75.0
HOST = "127.0.0.1"
HELLO = "Hello, World!"
OTHER_ROUTES = 999
CERTFILE = "cert.pem"  # in the --tls directory: the server's certificate chain
KEYFILE = "key.pem"  # and its private key
KINDS = (
    "actorhttp-httptools",
    "actorhttp-hypercorn",
    "raw-asgi-hypercorn",
    "aiohttp",
    "starlette-hypercorn",
    "actorhttp-cli",
)


# --- TLS -------------------------------------------------------------------------------------


def tls_context(directory: Path, *, h2: bool = False) -> ssl.SSLContext:
    """The one server context every kind serves HTTPS with (ALPN HTTP/1.1, or h2 first too)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / CERTFILE, directory / KEYFILE)
    context.set_alpn_protocols(["h2", "http/1.1"] if h2 else ["http/1.1"])
    return context


# --- actorhttp -------------------------------------------------------------------------------


def actorhttp_app() -> Application:
    """The benchmark Application."""
    from actorhttp import Application, Request, Response, json_response

    async def hello(request: Request) -> Response:
        return Response(text=HELLO)

    async def json_endpoint(request: Request) -> Response:
        return json_response({"message": HELLO})

    async def other(request: Request) -> Response:
        return Response(text=f"other {request.match_info['id']}")

    async def item(request: Request) -> Response:
        return Response(text=f"item {request.match_info['id']}")

    app = Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/json", json_endpoint)
    for i in range(OTHER_ROUTES):
        app.router.add_get(f"/r{i}/{{id}}", other)
    app.router.add_get("/items/{id}", item)
    return app


def serve_actorhttp(port: int, transport: str, context: ssl.SSLContext | None) -> None:
    from actorhttp import run_app

    run_app(
        actorhttp_app(),
        host=HOST,
        port=port,
        transport=transport,
        keep_alive_timeout=KEEP_ALIVE_TIMEOUT,
        access_log=None,
        print=None,
        ssl_context=context,
    )


def serve_actorhttp_httptools(port: int, context: ssl.SSLContext | None) -> None:
    serve_actorhttp(port, "httptools", context)


def serve_actorhttp_hypercorn(port: int, context: ssl.SSLContext | None) -> None:
    serve_actorhttp(port, "hypercorn", context)


def serve_actorhttp_cli(port: int, tls: Path | None) -> None:
    """What ``actorhttp benchmarks.servers:actorhttp_app`` does: the command line's own path.

    With ``--tls DIR``, ``--certfile``/``--keyfile`` from DIR: the context the command
    line builds (ALPN h2 and http/1.1) and the transport ``auto`` picks for it.
    """
    from actorhttp._cli import main

    argv = ["benchmarks.servers:actorhttp_app", "--host", HOST, "--port", str(port)]
    argv += ["--no-access-log", "--keep-alive-timeout", str(KEEP_ALIVE_TIMEOUT)]
    if tls is not None:
        argv += ["--certfile", str(tls / CERTFILE), "--keyfile", str(tls / KEYFILE)]
    main(argv)


# --- hypercorn's trio worker -----------------------------------------------------------------


def hypercorn_config(port: int, context: ssl.SSLContext | None) -> Config:
    """hypercorn Config: bind, no access log, a quiet error log, a 75 s keep-alive.

    With ``context``, hypercorn serves TLS with that very context rather than one it
    builds from certificate files (its ``create_ssl_context``).
    """
    from hypercorn.config import Config

    class ContextConfig(Config):
        @property
        def ssl_enabled(self) -> bool:  # hypercorn's test: "has a certificate and key file"
            return context is not None

        def create_ssl_context(self) -> ssl.SSLContext | None:
            return context

    quiet = logging.getLogger("benchmarks.hypercorn")
    quiet.setLevel(logging.WARNING)  # no "Running on ..." lines; real errors still reach stderr
    config = ContextConfig()
    config.bind = [f"{HOST}:{port}"]
    config.accesslog = None
    config.errorlog = quiet
    config.keep_alive_timeout = KEEP_ALIVE_TIMEOUT
    return config


def serve_with_hypercorn(app: Framework, port: int, context: ssl.SSLContext | None) -> None:
    """Serve an ASGI app with hypercorn's trio worker: ``trio.run(hypercorn.trio.serve)``."""
    import trio
    from hypercorn.trio import serve

    trio.run(partial(serve, app, hypercorn_config(port, context)))


async def raw_asgi_app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """A minimal ASGI 3 app; not a router: two constant paths and one prefix check."""
    if scope["type"] == "lifespan":
        for _ in range(2):  # the lifespan protocol: startup, then shutdown
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    status = 200
    content_type = b"text/plain; charset=utf-8"
    if path == "/hello":
        body = HELLO.encode()
    elif path == "/json":
        body = json.dumps({"message": HELLO}).encode()
        content_type = b"application/json"
    elif path.startswith("/items/") and "/" not in path[7:] and path[7:]:
        body = f"item {path[7:]}".encode()
    else:
        status, body = 404, b"Not Found"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def serve_raw_asgi_hypercorn(port: int, context: ssl.SSLContext | None) -> None:
    serve_with_hypercorn(raw_asgi_app, port, context)


def serve_starlette_hypercorn(port: int, context: ssl.SSLContext | None) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def hello(request: Request) -> Response:
        return PlainTextResponse(HELLO)

    async def json_endpoint(request: Request) -> Response:
        return JSONResponse({"message": HELLO})

    async def other(request: Request) -> Response:
        return PlainTextResponse(f"other {request.path_params['id']}")

    async def item(request: Request) -> Response:
        return PlainTextResponse(f"item {request.path_params['id']}")

    routes = [Route("/hello", hello), Route("/json", json_endpoint)]
    routes += [Route(f"/r{i}/{{id}}", other) for i in range(OTHER_ROUTES)]
    routes.append(Route("/items/{id}", item))
    serve_with_hypercorn(cast("Framework", Starlette(routes=routes)), port, context)


# --- aiohttp ---------------------------------------------------------------------------------


def serve_aiohttp(port: int, context: ssl.SSLContext | None) -> None:
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=HELLO)

    async def json_endpoint(request: web.Request) -> web.Response:
        return web.json_response({"message": HELLO})

    async def other(request: web.Request) -> web.Response:
        return web.Response(text=f"other {request.match_info['id']}")

    async def item(request: web.Request) -> web.Response:
        return web.Response(text=f"item {request.match_info['id']}")

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/json", json_endpoint)
    for i in range(OTHER_ROUTES):
        app.router.add_get(f"/r{i}/{{id}}", other)
    app.router.add_get("/items/{id}", item)
    web.run_app(
        app,
        host=HOST,
        port=port,
        access_log=None,
        print=None,
        keepalive_timeout=KEEP_ALIVE_TIMEOUT,
        ssl_context=context,
    )


SERVERS: dict[str, Callable[[int, ssl.SSLContext | None], None]] = {
    "actorhttp-httptools": serve_actorhttp_httptools,
    "actorhttp-hypercorn": serve_actorhttp_hypercorn,
    "raw-asgi-hypercorn": serve_raw_asgi_hypercorn,
    "aiohttp": serve_aiohttp,
    "starlette-hypercorn": serve_starlette_hypercorn,
}
assert (*SERVERS, "actorhttp-cli") == KINDS


def main(argv: list[str]) -> int:
    h2 = "--h2" in argv  # offer HTTP/2 by ALPN too
    match [arg for arg in argv if arg != "--h2"]:
        case [kind, port] if kind in KINDS and port.isdigit():
            directory = None
        case [kind, port, "--tls", directory] if kind in KINDS and port.isdigit():
            pass
        case _:
            print(
                f"usage: python benchmarks/servers.py {{{','.join(KINDS)}}} PORT [--tls DIR [--h2]]"
                f"  (DIR holds {CERTFILE} and {KEYFILE}; --h2: ALPN offers h2 first)",
                file=sys.stderr,
            )
            return 2
    if kind == "actorhttp-cli":
        serve_actorhttp_cli(int(port), None if directory is None else Path(directory))
        return 0
    context = None if directory is None else tls_context(Path(directory), h2=h2)
    SERVERS[kind](int(port), context)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
