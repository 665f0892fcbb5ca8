"""A route whose target is a stateful actor: a counter with one incarnation in the cluster.

The counter actor owns its counts; nobody else touches them. It is declared
on the app (``app.add_actor``) with a ``cluster_name``: whatever the number
of workers and machines sharing the broker, one incarnation runs, and a
request to ``/counter/{name}`` on any worker reaches it and gets its answer.
So under ``--workers 4 --broker redis://...`` 100 requests count 1..100.
It runs under ``supervise``: a bug that kills it (try POST
/counter/boom) costs that one request a 500, and it starts again on the
same mailbox, with the counts kept outside it. The middleware wraps it
like any handler: here it refuses a DELETE without the admin header before
the actor sees it. An answer the actor has sent is final: a middleware may
look at it or replace it, never change it.

    python examples/actors.py [--port 8080] [--broker redis://127.0.0.1:6379/0]
    actorhttp examples.actors:app --workers 4 --broker redis://127.0.0.1:6379/0

The counts live in the process that runs the incarnation: if it dies,
another process takes the counter over (within the broker's lease time)
and starts from zero. Keep counts that must outlive a process in a store.
"""

from __future__ import annotations

import argparse
import os
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
    run_app,
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
                answer.headers["X-Served-By"] = f"counter-actor pid {os.getpid()}"
                await request.reply.send(answer)  # handed over: final from here on


@middleware
async def admin_only_delete(request: Request, handler: Handler) -> StreamResponse:
    if request.method == "DELETE" and request.headers.get("X-Admin") != "yes":
        raise HTTPForbidden(text="DELETE needs X-Admin: yes")
    return await handler(request)


def make_app() -> Application:
    app = Application(middlewares=[admin_only_delete])
    counts: Counter[str] = Counter()  # outside the actor: it survives a restart
    counter = app.add_actor(partial(counter_actor, counts=counts), cluster_name="counter")
    app.router.add_post("/counter/{name}", counter)
    app.router.add_delete("/counter/{name}", counter)
    return app


app = make_app()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--broker", help="redis://host:port/db (default: this process only)")
    args = parser.parse_args()
    run_app(app, host=args.host, port=args.port, broker=args.broker, access_log=None)
    print("stopped", flush=True)
