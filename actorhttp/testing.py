"""Test helpers: serve an app on 127.0.0.1:0 and talk to it with a real httpx client.

    async with actorhttp.testing.serve_app(app) as client:     # in a trio test
        response = await client.get("/hello/world")

    with actorhttp.testing.SyncClient(app) as client:          # in a plain ``def`` test
        assert client.get("/hello/world").text == "hello, world"

``make_mocked_request`` builds a Request with no network, as aiohttp's
``test_utils.make_mocked_request`` does, for testing handlers and
middlewares directly. The pytest fixtures live in ``actorhttp.pytest_plugin``
(loaded by its entry point); aiohttp's ``TestServer``/``TestClient`` names are
in ``actorhttp.test_utils``. This module imports without pytest. Needs httpx
and anyio (``pip install actorhttp[testing]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Future
from contextlib import ExitStack, asynccontextmanager
from functools import partial
from types import TracebackType
from typing import Any, Self

import trio

from ._testsupport import STOP_GRACE, missing_extra

try:
    import httpx
    from anyio.from_thread import BlockingPortal, start_blocking_portal
except ImportError as exc:  # the optional extra is not installed: say which
    raise missing_extra("actorhttp.testing", exc) from exc

from ._app import Application
from ._reply import Reply, open_reply
from ._routing._matchinfo import UrlMappingMatchInfo
from ._serve import Server, serve
from ._web._helpers import HttpVersion, HttpVersion11
from ._web._request import DEFAULT_CLIENT_MAX_SIZE, Request
from ._web._streams import EMPTY_PAYLOAD, StreamReader
from ._web._transport import ConnectionTransport

__all__ = ["STOP_GRACE", "SyncClient", "TestClient", "make_mocked_request", "serve_app"]


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


class SyncClient(httpx.Client):
    """A synchronous client for plain ``def`` tests, on ``app`` served in a trio thread.

        with SyncClient(app) as client:
            assert client.get("/hello/you").text == "hello, you"

    It is an ``httpx.Client``: every request method of httpx's sync API, each
    returning an ``httpx.Response``, over real sockets on loopback. (Not to be
    confused with aiohttp's async ``TestClient``: see ``actorhttp.test_utils``.)

    Entering starts an anyio blocking portal — a thread running ``trio.run``,
    as Starlette's ``TestClient`` does — and serves ``app`` there on
    127.0.0.1 (a free port) with ``settings`` (``serve()``'s keywords). The
    app's startup has run when ``with`` gives the client; what it raises (or
    ``TypeError``/``ValueError``/``OSError`` for settings or a bind that fail)
    is raised by ``with`` itself, after the app's cleanup and with the thread
    ended. Leaving closes the client's connections, stops the server
    gracefully (``on_shutdown``, then ``STOP_GRACE`` seconds for requests in
    flight), waits for the app's cleanup and ends the thread; what the
    cleanup raised is raised then. The client owns the thread, the server and
    the connections: nothing outlives the ``with`` block, and a closed client
    cannot be entered again (httpx's ``RuntimeError``). A request outside the
    block raises ``RuntimeError``.

    ``server`` is the running server's handle; ``portal`` runs more async
    code in the server's trio thread (``client.portal.call(client.server.add_route,
    "GET", "/late", handler)``). Each request blocks the calling thread, so
    inside a trio task use ``serve_app`` or ``test_utils.TestClient`` instead.
    Requests time out after 30 s (``client.timeout`` changes it).
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: Application, **settings: Any) -> None:
        super().__init__(timeout=30.0)
        self.app = app
        self._settings = settings
        self._running: tuple[ExitStack, BlockingPortal, Future[None], Server] | None = None

    @property
    def server(self) -> Server:
        """The running server (``port``, ``url``, ``add_route``); only inside ``with``."""
        return self._require_running()[3]

    @property
    def portal(self) -> BlockingPortal:
        """The anyio portal to the server's trio thread; only inside ``with``."""
        return self._require_running()[1]

    def _require_running(self) -> tuple[ExitStack, BlockingPortal, Future[None], Server]:
        if self._running is None:
            raise RuntimeError("SyncClient serves its app only inside `with SyncClient(app) as c:`")
        return self._running

    def __enter__(self) -> Self:
        super().__enter__()  # refuses a closed client, before any thread starts
        try:
            with ExitStack() as stack:
                portal = stack.enter_context(start_blocking_portal(backend="trio"))
                # Raises what the app's startup raised; the portal's exit ends the thread.
                done, server = portal.start_task(self._serve, name=f"serve {self.app!r}")
                if not isinstance(server, Server):  # pragma: no cover - _serve starts with one
                    raise TypeError(f"serve started with {server!r}")
                self._running = (stack.pop_all(), portal, done, server)
        except BaseException:
            super().__exit__(None, None, None)
            raise
        self.base_url = httpx.URL(server.url)
        return self

    async def _serve(self, *, task_status: trio.TaskStatus[Server]) -> None:
        # The portal passes anyio's task status: its started(value=None) is trio's protocol too.
        await serve(self.app, "127.0.0.1", 0, task_status=task_status, **self._settings)

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc_value, traceback)  # no idle connection left to wait on
        finally:
            running, self._running = self._running, None
            if running is not None:
                stack, portal, done, server = running
                with stack:  # last: stops the portal's trio.run and joins its thread
                    portal.call(partial(server.stop, grace=STOP_GRACE))
                done.result()  # serve() has returned: this raises what the cleanup raised

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        """httpx's ``send``; ``RuntimeError`` outside the ``with`` block."""
        self._require_running()
        return super().send(request, **kwargs)


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


_NO_SOCKET = ConnectionTransport(None, None)  # the default: made anew for each request


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
    transport: ConnectionTransport | None = _NO_SOCKET,
) -> Request:
    """A Request with no connection behind it, for testing handlers and middlewares directly.

    ``payload`` is the body (bytes, or a ``StreamReader``). The request's
    ``reply`` is a fresh one unless given: pass one made with
    ``actorhttp.messages.open_reply()`` to keep its receiving half.
    ``request.transport``, as aiohttp's mocked one, is there: its
    ``get_extra_info("peername")`` is ``peer``, it has no socket and never
    closes; give ``transport`` (``None``: a client that has gone) to change it.
    """
    if transport is _NO_SOCKET:
        transport = ConnectionTransport(None, peer)
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
        _transport=transport,
    )
    if match_info is not None or app is not None:
        apps = () if app is None else (app,)
        request._route(UrlMappingMatchInfo(match_info or {}, None, apps, app), app)
    return request
