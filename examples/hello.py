"""Hello world: python examples/hello.py, then open http://127.0.0.1:8080/hello/you.

Also an ASGI app: hypercorn -k trio examples.hello:app
"""

from __future__ import annotations

import argparse

from actorhttp import Application, Request, Response, json_response, run_app


async def index(request: Request) -> Response:
    return Response(text="hello, world\n")


async def hello(request: Request) -> Response:
    return Response(text=f"hello, {request.match_info['name']}\n")


async def info(request: Request) -> Response:
    return json_response(
        {"method": request.method, "path": request.path, "query": dict(request.query)}
    )


app = Application()
app.router.add_get("/", index)
app.router.add_get("/hello/{name}", hello, name="hello")
app.router.add_get("/info", info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    run_app(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()


def init(argv: list[str]) -> Application:
    """For ``python -m actorhttp.web examples.hello:init``: the app, its arguments ignored."""
    return app
