"""Test helpers: serve an app on 127.0.0.1:0 and talk to it with a real httpx client.

    async with actorhttp.testing.serve_app(app) as client:
        response = await client.get("/hello/world")

``make_mocked_request`` builds a Request with no network, as aiohttp's
``test_utils.make_mocked_request`` does, for testing handlers and
middlewares directly. The pytest fixtures live in ``actorhttp.pytest_plugin``;
this module imports without pytest. Needs httpx (``pip install actorhttp[testing]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import trio

from ._app import Application
from ._reply import Reply, open_reply
from ._serve import Server, serve
from ._web._helpers import HttpVersion, HttpVersion11
from ._web._request import DEFAULT_CLIENT_MAX_SIZE, Request
from ._web._streams import EMPTY_PAYLOAD, StreamReader

__all__ = ["STOP_GRACE", "TestClient", "make_mocked_request", "serve_app"]

STOP_GRACE = 5.0


class TestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose base URL is a running server; ``server`` is its handle."""

    __test__ = False  # not a pytest test class

    def __init__(self, server: Server, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 30.0)
        super().__init__(base_url=server.url, **kwargs)
        self.server = server


@asynccontextmanager
async def serve_app(app: Application, **settings: Any) -> AsyncIterator[TestClient]:
    """Serve ``app`` on 127.0.0.1 (a free port) and give a client on it; stop on exit.

    A server that cannot start raises its own error (``ValueError``, ``OSError``).
    """
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        try:
            server: Server = await nursery.start(partial(serve, app, "127.0.0.1", 0, **settings))
        except Exception as exc:
            failure = exc  # raised below, not wrapped in the nursery's ExceptionGroup
        else:
            try:
                async with TestClient(server) as client:
                    yield client
            finally:
                await server.stop(grace=STOP_GRACE)
    if failure is not None:
        raise failure


def _payload(payload: bytes | StreamReader | None) -> StreamReader:
    if payload is None or payload == b"":
        return EMPTY_PAYLOAD
    if isinstance(payload, StreamReader):
        return payload
    data = [bytes(payload)]

    async def receive() -> bytes:
        await trio.lowlevel.checkpoint()
        return data.pop() if data else b""

    return StreamReader(receive, declared_length=len(payload))


def make_mocked_request(
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    match_info: Mapping[str, str] | None = None,
    version: HttpVersion = HttpVersion11,
    app: Any = None,
    payload: bytes | StreamReader | None = None,
    reply: Reply | None = None,
    client_max_size: int | None = DEFAULT_CLIENT_MAX_SIZE,
    peer: tuple[str, int] | None = ("127.0.0.1", 0),
) -> Request:
    """A Request with no connection behind it, for testing handlers and middlewares directly.

    ``payload`` is the body (bytes, or a ``StreamReader``). The request's
    ``reply`` is a fresh one unless given: pass one made with
    ``actorhttp.messages.open_reply()`` to keep its receiving half.
    """
    target, _, query = path.partition("?")
    raw_headers = tuple(
        (name.encode("latin-1"), value.encode("utf-8")) for name, value in (headers or {}).items()
    )
    request = Request(
        method.upper(),
        target,
        query,
        raw_headers,
        _payload(payload),
        reply if reply is not None else open_reply()[0],
        version,
        "http",
        peer,
        True,
        client_max_size,
    )
    if match_info is not None or app is not None:
        request._route(match_info or {}, app)
    return request
