"""Test helpers: serve an app on 127.0.0.1:0 and talk to it with a real httpx client.

    async with actorhttp.testing.serve_app(app) as client:
        response = await client.get("/hello/world")

For pytest (with pytest-trio), add ``pytest_plugins = ["actorhttp.testing"]``
to a ``conftest.py`` and use the ``actorhttp_client`` fixture:

    async def test_hello(actorhttp_client):
        client = await actorhttp_client(app)
        assert (await client.get("/hello/world")).text == "hello, world"

Needs httpx (``pip install actorhttp[testing]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import pytest
import trio

from ._app import Application
from ._serve import Server, serve

__all__ = ["TestClient", "actorhttp_client", "serve_app"]

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


@pytest.fixture
async def actorhttp_client() -> AsyncIterator[Callable[..., Awaitable[TestClient]]]:
    """A factory: ``await actorhttp_client(app, **settings)`` serves ``app`` for the test."""
    started: list[TestClient] = []
    async with trio.open_nursery() as nursery:

        async def make(app: Application, **settings: Any) -> TestClient:
            server: Server = await nursery.start(partial(serve, app, "127.0.0.1", 0, **settings))
            client = TestClient(server)
            started.append(client)
            return client

        yield make
        for client in started:
            await client.aclose()
            await client.server.stop(grace=STOP_GRACE)
