from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from .redisserver import RedisServer, redis_server  # noqa: F401 - a fixture

if TYPE_CHECKING:  # importing the plugin module here would stop pytest rewriting it
    from actorhttp import Application
    from actorhttp.messages import TransportName
    from actorhttp.testing import TestClient

# Installed, actorhttp registers its plugin by the pytest11 entry point, which makes this
# line redundant but harmless (the entry point is named after the module, so pytest finds
# it loaded). Kept so the suite runs where the install predates the entry point, or where
# the package is found on PYTHONPATH rather than installed (a worktree checkout).
pytest_plugins = ["actorhttp.pytest_plugin"]

TRANSPORTS = ["httptools", "hypercorn"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> TransportName:
    """Each test that serves an app runs once per transport: behaviour must not differ."""
    name: TransportName = request.param
    return name


@pytest.fixture
def actorhttp_client(
    actorhttp_client: Callable[..., Awaitable[TestClient]], transport: TransportName
) -> Callable[..., Awaitable[TestClient]]:
    async def make(app: Application, **settings: Any) -> TestClient:
        settings.setdefault("transport", transport)
        return await actorhttp_client(app, **settings)

    return make


@pytest.fixture(params=["memory", "redis"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """The same test with each broker: in-process, and a real redis-server (lease 1 s)."""
    if request.param == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url + "?lease_time=1&health_interval=0.2"


# The polls example's tests run in a pytest process of their own (tests/test_polls_example.py):
# the example imports actorhttp.aiohttp_patch, which changes sys.modules for the process.
collect_ignore = ["polls_app"]


@pytest.fixture
def session_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What WebSocket sessions (httptools transport) give the kernel, one item per
    ``os.write``: the bytes it took."""
    import actorhttp._transports._wssession as session

    written: list[bytes] = []

    class CountingOs:
        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        @staticmethod
        def write(fd: int, data: bytes) -> int:
            count = os.write(fd, data)
            written.append(bytes(data[:count]))
            return count

    monkeypatch.setattr(session, "os", CountingOs())
    return written
