"""A StreamResponse route, written as for aiohttp: prepare, then write as the data comes.

    python examples/stream.py [--port 8080]
    curl -N http://127.0.0.1:8080/count/5        # one line a second, as it is written
    curl http://127.0.0.1:8080/numbers.ndjson    # 10,000 JSON lines, compressed if asked

A client that reads slowly slows the writer (each write waits while the
connection is behind); a client that leaves makes the next write raise
ConnectionResetError, which ends the handler.
"""

from __future__ import annotations

import argparse
import json

import trio

from actorhttp import web


async def count(request: web.Request) -> web.StreamResponse:
    n = int(request.match_info["n"])
    response = web.StreamResponse(headers={"Cache-Control": "no-cache"})
    response.content_type = "text/plain"
    response.charset = "utf-8"
    await response.prepare(request)  # the head goes out now
    for i in range(n, 0, -1):
        await response.write(f"{i}\n".encode())
        await trio.sleep(float(request.query.get("interval", "1")))
    await response.write_eof(b"liftoff\n")
    return response


async def numbers(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_type = "application/x-ndjson"
    response.enable_compression()  # gzip or deflate when the client accepts it
    await response.prepare(request)
    for i in range(10_000):
        await response.write(json.dumps({"n": i, "square": i * i}).encode() + b"\n")
    await response.write_eof()
    return response


app = web.Application()
app.router.add_get("/count/{n:\\d+}", count)
app.router.add_get("/numbers.ndjson", numbers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(app, host=args.host, port=args.port)
