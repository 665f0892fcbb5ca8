"""Server-sent events from a StreamResponse: a clock ticking, and the stop ending the streams.

    python examples/sse.py [--port 8080]
    curl -N http://127.0.0.1:8080/clock          # one event a second, as they come

Each event is written as it happens (``text/event-stream``); a client that
reads slowly slows its own writer, a client that leaves ends its handler
(the next write raises ConnectionResetError). When the server stops, the
handlers see ``app.stopping`` and end their streams with a ``bye`` event,
so the stop is immediate instead of waiting out the grace period.
"""

from __future__ import annotations

import argparse
import time

import trio

from actorhttp import web

PAGE = """<!doctype html><title>clock</title><pre id="out"></pre>
<script>
const source = new EventSource("/clock");
source.onmessage = (event) => { document.getElementById("out").textContent += event.data + "\\n"; };
</script>
"""


def event(data: str, *, name: str | None = None, event_id: int | None = None) -> bytes:
    lines = [f"event: {name}"] if name else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


async def clock(request: web.Request) -> web.StreamResponse:
    interval = float(request.query.get("interval", "1"))
    response = web.StreamResponse(headers={"Cache-Control": "no-cache"})
    response.content_type = "text/event-stream"
    await response.prepare(request)
    stopping = request.app.stopping
    tick = 0
    while not stopping.is_set():
        await response.write(event(time.strftime("%H:%M:%S"), event_id=tick))
        tick += 1
        with trio.move_on_after(interval):
            await stopping.wait()
    await response.write_eof(event("the server is stopping", name="bye"))
    return response


async def index(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/clock", clock)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port)
