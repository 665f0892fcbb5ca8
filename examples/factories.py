"""An aiohttp-2-era program, unchanged but for its import: middleware factories.

    python examples/factories.py [--port 8080]

It was written for aiohttp 2 (``from aiohttp import web``, two logging
middleware *factories* ``async def f(app, handler)``, handlers that set
``resp.content_type``); only the import line and the start-up differ
(``web.run_app`` instead of its asyncio loop boilerplate). For each request
it prints ``i am logger1`` then ``i am logger2``: the first factory listed
runs outermost. Factories are accepted with aiohttp 3's DeprecationWarning.
"""

import argparse
import warnings

from actorhttp import web


async def index(request):
    resp = web.Response(body=b"<h1>Index</h1>")
    resp.content_type = "text/html;charset=utf-8"
    return resp


async def hello(request):
    text = "<h1>hello,%s</h1>" % request.match_info["name"]
    resp = web.Response(body=text.encode("utf-8"))
    resp.content_type = "text/html;charset=utf-8"
    return resp


async def logger1_factory(app, handler):
    async def logger1_handler(request):
        print("i am logger1", flush=True)
        return await handler(request)

    return logger1_handler


async def logger2_factory(app, handler):
    async def logger2_handler(request):
        print("i am logger2", flush=True)
        return await handler(request)

    return logger2_handler


app = web.Application(middlewares=[logger1_factory, logger2_factory])
app.router.add_route("GET", "/", index)
app.router.add_route("GET", "/hello/{name}", hello)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    warnings.simplefilter("default", DeprecationWarning)  # show it, as aiohttp 3 would
    web.run_app(app, host="127.0.0.1", port=args.port)
