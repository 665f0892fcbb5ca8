"""The pytest plugin: fixtures that serve an app for a test (needs pytest-trio).

Enable it with ``pytest_plugins = ["actorhttp.pytest_plugin"]`` in a ``conftest.py``:

    async def test_hello(actorhttp_client):
        client = await actorhttp_client(app)
        assert (await client.get("/hello/world")).text == "hello, world"
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import pytest
import trio

from ._app import Application
from ._serve import Server, serve
from .testing import STOP_GRACE, TestClient

__all__ = ["actorhttp_client"]


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
