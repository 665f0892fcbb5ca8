"""The pytest plugin: fixtures that serve an app for a test.

Installing actorhttp registers it with pytest by its entry point (``pytest11``,
named ``actorhttp.pytest_plugin`` after this module, so that a conftest's
``pytest_plugins = ["actorhttp.pytest_plugin"]`` or ``-p actorhttp.pytest_plugin``
finds it already loaded rather than loading it twice; ``-p
no:actorhttp.pytest_plugin`` turns it off).

    async def test_hello(actorhttp_client):
        client = await actorhttp_client(app)
        assert (await client.get("/hello/world")).text == "hello, world"

pytest-aiohttp's own names are here too, over ``actorhttp.test_utils``, so an
aiohttp application's test file runs with its imports changed:
``aiohttp_client(app)`` gives a started ``TestClient`` (``await
client.get(...)``, ``client.ws_connect(...)``), ``aiohttp_server(app)`` a
started ``TestServer``, ``aiohttp_unused_port()`` a free port, and
``aiohttp_client_cls`` the client class ``aiohttp_client`` makes (override it
to use your own).

``actorhttp_client``, ``actorhttp_server``, ``aiohttp_client`` and
``aiohttp_server`` are trio fixtures: they need
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
    from . import test_utils
    from .testing import TestClient

__all__ = [
    "actorhttp_client",
    "actorhttp_server",
    "aiohttp_client",
    "aiohttp_client_cls",
    "aiohttp_server",
    "aiohttp_unused_port",
    "unused_tcp_port",
]


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
        f"actorhttp's server and client fixtures are trio fixtures: {reason}. They need "
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


async def _hold(entered: Any, done: trio.Event, *, task_status: trio.TaskStatus[Any]) -> None:
    """Enter ``entered`` (an async context manager) and hold it until ``done``.

    ``TestServer`` opens a nursery in the task that starts it and must be
    closed by that same task; the fixtures run this in a task of their own
    nursery, so the server is started and closed by one task whichever task
    of the test asked for it.
    """
    async with entered as value:
        task_status.started(value)
        await done.wait()


@pytest.fixture
async def aiohttp_server(
    _actorhttp_trio_test: None,
) -> AsyncIterator[Callable[..., Awaitable[test_utils.TestServer]]]:
    """pytest-aiohttp's: ``server = await aiohttp_server(app, port=None, **settings)``.

    A started ``actorhttp.test_utils.TestServer`` on 127.0.0.1 (``settings``
    are ``serve()``'s keywords), closed after the test (``on_shutdown``,
    then the cleanup). Raises what ``TestServer.start_server()`` raises.
    """
    from .test_utils import TestServer

    done = trio.Event()
    async with trio.open_nursery() as nursery:

        async def make(
            app: Application, *, host: str = "127.0.0.1", port: int | None = None, **settings: Any
        ) -> TestServer:
            server = TestServer(app, host=host, port=port, **settings)
            started: TestServer = await nursery.start(_hold, server, done)
            return started

        yield make
        done.set()


@pytest.fixture
def aiohttp_client_cls() -> type[test_utils.TestClient]:
    """The class ``aiohttp_client`` makes: ``actorhttp.test_utils.TestClient``; override this
    fixture to have it make a subclass of your own, as with pytest-aiohttp."""
    from .test_utils import TestClient

    return TestClient


@pytest.fixture
async def aiohttp_client(
    _actorhttp_trio_test: None, aiohttp_client_cls: type[test_utils.TestClient]
) -> AsyncIterator[Callable[..., Awaitable[test_utils.TestClient]]]:
    """pytest-aiohttp's: ``client = await aiohttp_client(app, server_kwargs=None, **kwargs)``.

    ``app`` is an Application (served by a new ``TestServer(app,
    **server_kwargs)``) or a ``TestServer`` (from ``aiohttp_server``: then
    that fixture closes it). Gives a started ``actorhttp.test_utils.TestClient``
    (``kwargs`` go to it); after the test it is closed, and so is the server
    it started. ``TypeError`` for anything else.
    """
    from .test_utils import TestServer

    done = trio.Event()
    async with trio.open_nursery() as nursery:

        async def make(
            app: Application | TestServer,
            *,
            server_kwargs: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> test_utils.TestClient:
            if isinstance(app, TestServer):
                if server_kwargs:
                    raise TypeError("server_kwargs are for an Application, not a TestServer")
                client = aiohttp_client_cls(app, **kwargs)
                if app.started:
                    # Not ours to close: only the client's session is held here.
                    held = await nursery.start(_hold, _SessionOnly(client), done)
                    result: test_utils.TestClient = held
                    return result
            elif isinstance(app, Application):
                client = aiohttp_client_cls(TestServer(app, **(server_kwargs or {})), **kwargs)
            else:
                raise TypeError(f"aiohttp_client takes an Application or a TestServer, not {app!r}")
            started: test_utils.TestClient = await nursery.start(_hold, client, done)
            return started

        yield make
        done.set()


class _SessionOnly:
    """``async with`` a client on a server someone else runs: closes its connections only."""

    def __init__(self, client: test_utils.TestClient) -> None:
        self._client = client

    async def __aenter__(self) -> test_utils.TestClient:
        return self._client

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client._close_connections()


@pytest.fixture
def aiohttp_unused_port() -> Callable[[], int]:
    """pytest-aiohttp's: a function that returns a TCP port free on 127.0.0.1 when called."""
    return unused_port
