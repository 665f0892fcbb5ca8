"""A route whose target is a stateful actor's mailbox.

The counter actor owns its count; nobody else touches it. Requests to
/counter/{name} are sent to its mailbox, with their reply channel, and it
answers each with the new count. The middleware wraps it like any handler.

    python examples/actors.py [--port 8080]
"""

from __future__ import annotations

import argparse
import signal
from collections import Counter

import trio

from actorhttp import Application, Request, Response, json_response, middleware, serve
from actorhttp.messages import Handler


async def counter_actor(mailbox: trio.MemoryReceiveChannel[Request]) -> None:
    """Counts hits per name; state lives only in this task."""
    counts: Counter[str] = Counter()
    async with mailbox:
        async for request in mailbox:
            async with request.reply:
                name = request.match_info["name"]
                if request.method == "DELETE":
                    counts.pop(name, None)
                    await request.reply.send(Response(status=204))
                else:
                    counts[name] += 1
                    await request.reply.send(json_response({"name": name, "count": counts[name]}))


@middleware
async def served_by(request: Request, handler: Handler) -> Response:
    response = await handler(request)
    response.headers["X-Served-By"] = "counter-actor"
    return response


async def main(host: str, port: int) -> None:
    mailbox_send, mailbox_receive = trio.open_memory_channel[Request](16)
    app = Application(middlewares=[served_by])
    app.router.add_post("/counter/{name}", mailbox_send)
    app.router.add_delete("/counter/{name}", mailbox_send)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(counter_actor, mailbox_receive)
            server = await nursery.start(serve, app, host, port)
            print("serving on", server.url, flush=True)
            async for _ in signals:
                break
            await server.stop(grace=5)
            await mailbox_send.aclose()  # the actor's loop ends: the nursery can close
    print("stopped", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    trio.run(main, args.host, args.port)
