"""Server-sent events with aiohttp_sse's API: a clock ticking, and the stop ending the streams.

    python examples/sse.py [--port 8080]
    curl -N http://127.0.0.1:8080/clock          # one event a second, as they come

``actorhttp.sse`` is aiohttp_sse's API on trio: ``sse_response(request)``
prepares a ``text/event-stream`` response and pings the client every 15 s
while the block runs; ``send`` writes one event. A client that reads slowly
slows its own writer, and one that leaves ends its stream
(``is_connected()`` turns false). A browser that reconnects sends the last
id it saw (``last_event_id``), and the clock goes on from there. When the
server stops, the handlers see ``app.stopping`` and end their streams with
a ``bye`` event, so the stop is immediate instead of waiting out the grace
period.
"""

from __future__ import annotations

import argparse
import time

import trio

from actorhttp import web
from actorhttp.sse import sse_response

PAGE = """<!doctype html><title>clock</title><pre id="out"></pre>
<script>
const source = new EventSource("/clock");
source.onmessage = (event) => { document.getElementById("out").textContent += event.data + "\\n"; };
source.addEventListener("bye", () => source.close());
</script>
"""


async def clock(request: web.Request) -> web.StreamResponse:
    interval = float(request.query.get("interval", "1"))
    stopping = request.app.stopping
    async with sse_response(request) as resp:
        last = resp.last_event_id
        tick = int(last) + 1 if last is not None and last.isdigit() else 0
        while resp.is_connected() and not stopping.is_set():
            await resp.send(time.strftime("%H:%M:%S"), id=str(tick))
            tick += 1
            with trio.move_on_after(interval):
                await stopping.wait()
        if stopping.is_set():
            await resp.send("the server is stopping", event="bye")
    return resp


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
