"""Embedding: the server runs in a nursery beside other tasks, and a command stops it.

A ticker task counts seconds beside the server; POST /shutdown sends the
stop command, the server drains, and the program ends.

    python examples/nursery.py [--port 8080]
"""

from __future__ import annotations

import argparse

import trio

from actorhttp import Application, Request, Response, serve


async def main(host: str, port: int) -> None:
    shutdown = trio.Event()

    async def hello(request: Request) -> Response:
        return Response(text="hello from inside a nursery\n")

    async def stop(request: Request) -> Response:
        shutdown.set()
        return Response(text="stopping\n")

    app = Application()
    app.router.add_get("/", hello)
    app.router.add_post("/shutdown", stop)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve, app, host, port)
        print("serving on", server.url, flush=True)

        async def ticker() -> None:
            for tick in range(1, 10**9):
                await trio.sleep(1)
                print("tick", tick, flush=True)

        nursery.start_soon(ticker)
        await shutdown.wait()
        await server.stop(grace=5)
        print("stopped", flush=True)
        nursery.cancel_scope.cancel()  # the ticker's work is done too


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    trio.run(main, args.host, args.port)
