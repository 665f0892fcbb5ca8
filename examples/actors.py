"""A route whose target is a stateful actor's mailbox.

The counter actor owns its count; nobody else touches it. Requests to
/counter/{name} are sent to its mailbox, each with its one-shot reply, and
it answers each with the new count. It runs under ``supervise``: a bug that
kills it (try POST /counter/boom) costs that one request a 500, and it
starts again on the same mailbox, with the counts kept outside it. The middleware wraps it like any
handler: here it refuses a DELETE without the admin header before the actor
sees it. An answer the actor has sent is final: a middleware may look at
it or replace it, never change it.

    python examples/actors.py [--port 8080]
"""

from __future__ import annotations

import argparse
import signal
from collections import Counter
from functools import partial

import trio

from actorhttp import (
    Application,
    HTTPForbidden,
    Request,
    Response,
    StreamResponse,
    json_response,
    middleware,
    serve,
    supervise,
)
from actorhttp.messages import Handler


async def counter_actor(mailbox: trio.abc.ReceiveChannel[Request], counts: Counter[str]) -> None:
    """Counts hits per name in ``counts``, which only this actor touches."""
    async with mailbox:
        async for request in mailbox:
            async with request.reply:
                name = request.match_info["name"]
                if name == "boom":
                    raise RuntimeError("the counter met a boom")  # a bug: supervise restarts it
                if request.method == "DELETE":
                    counts.pop(name, None)
                    answer = Response(status=204)
                else:
                    counts[name] += 1
                    answer = json_response({"name": name, "count": counts[name]})
                answer.headers["X-Served-By"] = "counter-actor"
                await request.reply.send(answer)  # handed over: final from here on


@middleware
async def admin_only_delete(request: Request, handler: Handler) -> StreamResponse:
    if request.method == "DELETE" and request.headers.get("X-Admin") != "yes":
        raise HTTPForbidden(text="DELETE needs X-Admin: yes")
    return await handler(request)


async def main(host: str, port: int) -> None:
    mailbox_send, mailbox_receive = trio.open_memory_channel[Request](16)
    app = Application(middlewares=[admin_only_delete])
    app.router.add_post("/counter/{name}", mailbox_send)
    app.router.add_delete("/counter/{name}", mailbox_send)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            counts: Counter[str] = Counter()  # outside the actor: it survives a restart
            nursery.start_soon(supervise, partial(counter_actor, counts=counts), mailbox_receive)
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
