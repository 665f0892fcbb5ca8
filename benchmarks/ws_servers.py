"""WebSocket echo servers for benchmarks/websocket.py: ``ws_servers.py KIND PORT``.

Every kind serves, on 127.0.0.1:PORT until killed:

* ``GET /hello`` -> ``Hello, World!`` (the benchmark's readiness check);
* ``GET /ws`` -> a WebSocket that sends every TEXT message back as TEXT and every
  BINARY one as BINARY, until the client closes.

The echo handler is the same code for every kind: aiohttp's API, imported
from ``actorhttp.web`` or ``aiohttp.web``. Access logging is off everywhere.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Running this as a script puts its folder first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` package (aiohttp and hypercorn import it).
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)

from collections.abc import Awaitable, Callable
from typing import Any

KINDS = ("actorhttp-httptools", "actorhttp-hypercorn", "aiohttp")
HOST = "127.0.0.1"
HELLO = "Hello, World!"


def echo_handler(web: Any) -> Callable[[Any], Awaitable[Any]]:
    """The WebSocket echo as aiohttp's users write it (``web`` is either module): every
    TEXT message back as TEXT, every BINARY one as BINARY. benchmarks/ws_scale_servers.py
    serves it too."""

    async def echo(request: Any) -> Any:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == web.WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    return echo


def routes(web: Any) -> list[Any]:
    """The two routes, written once against aiohttp's API (``web`` is either module)."""

    async def hello(request: Any) -> Any:
        return web.Response(text=HELLO)

    return [web.get("/hello", hello), web.get("/ws", echo_handler(web))]


def serve_actorhttp(port: int, transport: str) -> None:
    from actorhttp import web

    app = web.Application()
    app.add_routes(routes(web))
    web.run_app(app, host=HOST, port=port, transport=transport, print=None)


def serve_aiohttp(port: int) -> None:
    from aiohttp import web

    app = web.Application()
    app.add_routes(routes(web))
    web.run_app(app, host=HOST, port=port, access_log=None, print=None)


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in KINDS or not argv[1].isdigit():
        raise SystemExit(f"usage: ws_servers.py {{{','.join(KINDS)}}} PORT")
    kind, port = argv[0], int(argv[1])
    if kind == "aiohttp":
        serve_aiohttp(port)
    else:
        serve_actorhttp(port, kind.removeprefix("actorhttp-"))


if __name__ == "__main__":
    main(sys.argv[1:])
