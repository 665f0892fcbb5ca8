"""The pytest plugin: fixtures that serve an app for a test.

Installing actorhttp registers it with pytest by its entry point (``pytest11``,
named ``actorhttp.pytest_plugin`` after this module, so that a conftest's
``pytest_plugins = ["actorhttp.pytest_plugin"]`` or ``-p actorhttp.pytest_plugin``
finds it already loaded rather than loading it twice; ``-p
no:actorhttp.pytest_plugin`` turns it off).

    async def test_hello(actorhttp_client):
        client = await actorhttp_client(app)
        assert (await client.get("/hello/world")).text == "hello, world"

``actorhttp_client`` and ``actorhttp_server`` are trio fixtures: they need
pytest-trio and a trio test (``trio_mode = true``, or ``@pytest.mark.trio``),
and fail the test with a message saying so otherwise. ``unused_tcp_port`` is
a plain fixture. pytest imports this module in every run of every project in
an environment where actorhttp is installed, so it needs nothing beyond
actorhttp's own dependencies to import: not pytest-trio, and not httpx (an
optional dependency, imported when ``actorhttp_client`` is first used).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
import trio

from ._app import Application
from ._serve import Server, serve
from ._testsupport import STOP_GRACE, unused_port

if TYPE_CHECKING:
    from .testing import TestClient

__all__ = ["actorhttp_client", "actorhttp_server", "unused_tcp_port"]


@pytest.fixture
def _actorhttp_trio_test(request: pytest.FixtureRequest) -> None:
    """Fail, saying why, when a trio fixture is asked for outside a pytest-trio test."""
    plugins = request.config.pluginmanager.get_plugins()
    if not any(getattr(plugin, "__name__", "") == "pytest_trio.plugin" for plugin in plugins):
        reason = "pytest-trio is not loaded (pip install pytest-trio; not -p no:trio)"
    elif request.node.get_closest_marker("trio") is None:
        reason = "this test is not run by pytest-trio (an `async def` test is, in trio mode)"
    else:
        return
    pytest.fail(
        f"actorhttp_client and actorhttp_server are trio fixtures: {reason}. They need "
        "pytest-trio and a trio test: set `trio_mode = true` in your pytest configuration, "
        "or mark the test `@pytest.mark.trio`.",
        pytrace=False,
    )


@pytest.fixture
async def actorhttp_server(
    _actorhttp_trio_test: None,
) -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """A factory: ``server = await actorhttp_server(app, **settings)`` serves ``app`` for the test.

    The app is served on ``host`` (127.0.0.1) at ``port`` (a free one: 0)
    with ``settings`` (``serve()``'s keywords); it returns once the app's
    startup has run and the server listens, with ``server.port``,
    ``server.url`` and ``server.add_route``. It raises what ``serve()``
    raises (the app's startup errors, ``TypeError``/``ValueError`` for a
    setting, ``OSError`` for a bind). The fixture owns every server it
    started: after the test each is stopped gracefully (``on_shutdown``,
    then five seconds for requests in flight) and its cleanup awaited.
    """
    servers: list[Server] = []
    async with trio.open_nursery() as nursery:

        async def make(
            app: Application, *, host: str = "127.0.0.1", port: int = 0, **settings: Any
        ) -> Server:
            server: Server = await nursery.start(partial(serve, app, host, port, **settings))
            servers.append(server)
            return server

        yield make
        for server in servers:
            await server.stop(grace=STOP_GRACE)


@pytest.fixture
async def actorhttp_client(
    _actorhttp_trio_test: None,
) -> AsyncIterator[Callable[..., Awaitable[TestClient]]]:
    """A factory: ``client = await actorhttp_client(app, **settings)`` serves ``app`` for the test.

    As ``actorhttp_server`` (127.0.0.1, a free port, ``serve()``'s settings
    and errors), and gives an ``actorhttp.testing.TestClient`` on it: an
    ``httpx.AsyncClient`` whose base URL is the server, with the server as
    ``client.server``. After the test the fixture closes each client, then
    stops its server gracefully. Needs httpx.
    """
    from .testing import TestClient  # here: httpx is optional

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


@pytest.fixture
def unused_tcp_port() -> int:
    """A TCP port free on 127.0.0.1 when the test starts, as pytest-asyncio's fixture.

    Another process may take it before the test binds it; port 0 (what
    ``actorhttp_server`` uses by default) never races, so prefer it where
    the port need not be known in advance.
    """
    return unused_port()
