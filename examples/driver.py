"""The actor layer with no Application: an echo server driven by messages.

Commands go in (AddRoute, StartServer, StopServer); request items come out,
each answered on its own one-shot reply. GET /echo/{what} echoes; GET /stop
stops the server, which ends the program.

    python examples/driver.py [--port 8080]
"""

from __future__ import annotations

import argparse

import trio

from actorhttp import Response, http_driver
from actorhttp.messages import (
    AddRoute,
    CommandFailed,
    Request,
    ServerStarted,
    ServerStopped,
    StartServer,
    StopServer,
)


async def main(host: str, port: int) -> None:
    async with trio.open_nursery() as nursery:
        commands, requests = await nursery.start(http_driver)
        async with commands:
            await commands.send(AddRoute(methods=["GET"], path="/echo/{what}"))
            await commands.send(AddRoute(methods=["GET"], path="/stop"))
            await commands.send(StartServer(host=host, port=port))
            async for item in requests:
                if isinstance(item, ServerStarted):
                    print("serving on", " ".join(item.urls), flush=True)
                elif isinstance(item, CommandFailed):
                    print("failed:", item.error, flush=True)
                    break
                elif isinstance(item, ServerStopped):
                    print("stopped", flush=True)
                    break
                elif isinstance(item, Request):
                    async with item.reply:
                        if item.path == "/stop":
                            await item.reply.send(Response(text="stopping\n"))
                            await commands.send(StopServer(grace=2))
                        else:
                            await item.reply.send(Response(text=item.match_info["what"] + "\n"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    trio.run(main, args.host, args.port)
