"""aiohttp's ``aiohttp.test_utils`` names, on trio: tests written for aiohttp port by the import.

    from actorhttp.test_utils import TestClient, TestServer

    async def test_hello() -> None:
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/hello/you")
            assert resp.status == 200
            assert await resp.text() == "hello, you"

``TestServer`` serves an app on 127.0.0.1 (a free port); ``TestClient``
requests it with httpx underneath and answers with a :class:`ClientResponse`
that has aiohttp's names (``status``, ``await resp.text()``, ``await
resp.json()``, ``await resp.read()``, ``headers`` as a ``CIMultiDictProxy``).
The body is read whole before ``await client.get(...)`` returns; to stream a
body, use ``client.session`` (the ``httpx.AsyncClient``) with absolute URLs
from ``client.make_url(path)``. Request keywords are httpx's, but for two of
aiohttp's translated: ``data=`` bytes or str is sent as the body (a dict as
a form), and ``allow_redirects`` (default true, as aiohttp's) becomes httpx's
``follow_redirects``. Another keyword httpx does not know raises its
``TypeError``.

The nursery rule: ``TestServer`` runs the server in a nursery that it opens
in ``start_server()`` and closes in ``close()``, so both must be called by
the same task (``close()`` from another raises ``RuntimeError``) and in the
same cancel scope: a ``start_server()`` inside ``with trio.fail_after(...)``
with the ``close()`` after that block corrupts trio's scope stack, which trio
reports as an internal error. ``async with`` keeps both rules; so does a
pytest-trio fixture that starts in its setup and closes after its ``yield``.
``TestClient.close()`` closes its server too, as aiohttp's does, so the same
rule holds for ``TestClient``.

Left out, as meaningless on trio: aiohttp's asyncio loop helpers
(``loop_context``, ``setup_test_loop``, ``teardown_test_loop``,
``unittest_run_loop``), ``AioHTTPTestCase`` (an asyncio ``unittest`` case),
and ``RawTestServer`` (a bare low-level handler, with no Application).

``TestClient.ws_connect(path)`` opens a WebSocket on the server, as
aiohttp's: a :class:`ClientWebSocketResponse` (``receive()``, ``send_str()``,
``send_json()``, ``close()``, ``async for msg in ws``...) whose messages are
actorhttp's ``WSMessage``; a refused handshake raises
:class:`WSServerHandshakeError` (``status``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from contextlib import AsyncExitStack
from functools import partial
from ssl import SSLContext
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import trio
from yarl import URL

from ._testsupport import STOP_GRACE, missing_extra, unused_port

try:
    import httpx
except ImportError as exc:  # the optional extra is not installed: say which
    raise missing_extra("actorhttp.test_utils", exc) from exc

from ._app import Application
from ._clientresponse import ClientResponse
from ._serve import Server, serve
from ._wsclient import (
    ClientWebSocketResponse,
    WSServerHandshakeError,
    handshake_headers,
    ws_connect,
)
from .testing import make_mocked_request

__all__ = [
    "ClientResponse",
    "ClientWebSocketResponse",
    "TestClient",
    "TestServer",
    "WSServerHandshakeError",
    "make_mocked_request",
    "unused_port",
]


T = TypeVar("T")


class _AsyncWithOnly:
    """``with`` raises ``TypeError`` as aiohttp's test helpers do: they are ``async with`` only."""

    def __enter__(self) -> None:
        raise TypeError("Use async with instead")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        pass  # pragma: no cover - __enter__ never returns


class TestServer(_AsyncWithOnly):
    """``app`` served on ``host`` (127.0.0.1) at ``port`` (a free one if ``None``), as aiohttp's.

    ``settings`` are ``serve()``'s keywords; as aiohttp's test server,
    ``handler_cancellation`` defaults to true (a handler is cancelled when its
    client disconnects). ``start_server()`` raises what the app's startup
    raises (after its cleanup), ``TypeError``/``ValueError`` for a setting,
    ``OSError`` for a bind. ``close()`` stops the server gracefully
    (``on_shutdown``, then ``STOP_GRACE`` seconds for requests in flight),
    waits for the app's cleanup and raises what it raised; it is idempotent.
    The server cannot be started again once closed. See the module docstring
    for the nursery rule.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: Application,
        *,
        scheme: str = "",
        host: str = "127.0.0.1",
        port: int | None = None,
        **settings: Any,
    ) -> None:
        self.app = app
        self.scheme = scheme
        self.host = host
        self.port = port
        self.server: Server | None = None  # the running server's handle, once started
        self._settings = settings
        self._nursery: AsyncExitStack | None = None
        self._owner: trio.lowlevel.Task | None = None  # the task that opened the nursery
        self._root: URL | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        """True once ``start_server()`` has run."""
        return self.server is not None

    @property
    def closed(self) -> bool:
        """True once ``close()`` has run; a closed server cannot start again."""
        return self._closed

    async def start_server(self, **settings: Any) -> None:
        """Serve the app (``settings`` add to the constructor's); nothing if already started."""
        if self._closed:
            raise RuntimeError("this TestServer is closed: make a new one")
        if self.server is not None:
            return
        merged = {"handler_cancellation": True, **self._settings, **settings}
        stack = AsyncExitStack()
        nursery = await stack.enter_async_context(trio.open_nursery())
        try:
            server: Server = await nursery.start(
                partial(serve, self.app, self.host, self.port or 0, **merged)
            )
        except BaseException:
            # No task in it yet: it closes at once, with no checkpoint (so no second
            # Cancelled). Not under a shield: the shield's scope would be inside the nursery's.
            await stack.aclose()
            raise  # the error itself, not wrapped in the nursery's ExceptionGroup
        self._nursery = stack
        self._owner = trio.lowlevel.current_task()
        self.server = server
        self.port = server.port
        self.scheme = self.scheme or ("https" if merged.get("certfile") else "http")
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._root = URL(f"{self.scheme}://{host}:{self.port}")

    def make_url(self, path: str | URL) -> URL:
        """The absolute URL of ``path`` on this server; ``ValueError`` for an absolute one."""
        if self._root is None:
            raise RuntimeError("the server is not started: use `async with TestServer(app)`")
        url = URL(path)
        if url.absolute:
            raise ValueError(f"{path!r} is absolute: give a path on the test server")
        return self._root.join(url)

    async def close(self) -> None:
        """Stop the server and wait for the app's cleanup; raise what the cleanup raised."""
        if self.server is None or self._closed:
            return
        if trio.lowlevel.current_task() is not self._owner:
            raise RuntimeError(
                "close() must be called by the task that called start_server(): "
                "its nursery belongs to that task (use `async with TestServer(app)`)"
            )
        self._closed = True
        server, stack = self.server, self._nursery
        self._root = None
        self.port = None
        try:
            await server.stop(grace=STOP_GRACE)
        finally:
            if stack is not None:
                try:
                    await stack.aclose()  # serve() returns once the cleanup has run
                except BaseExceptionGroup as group:
                    # The nursery held serve() alone: raise its error as serve_app does.
                    if len(group.exceptions) == 1 and isinstance(group.exceptions[0], Exception):
                        raise group.exceptions[0] from None
                    raise

    async def __aenter__(self) -> Self:
        await self.start_server()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._root or "not started"
        return f"<TestServer {state}>"


class _RequestContextManager(Generic[T]):
    """What ``client.get(...)`` and ``client.ws_connect(...)`` give: awaited, the response
    (or WebSocket); or ``async with`` it, which ends it with ``finish`` on the way out."""

    __slots__ = ("_finish", "_make", "_result")

    def __init__(
        self,
        make: Callable[[], Coroutine[Any, Any, T]],
        finish: Callable[[T], Awaitable[object]],
    ) -> None:
        self._make = make  # the request starts when awaited, never otherwise
        self._finish = finish
        self._result: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._make().__await__()

    async def __aenter__(self) -> T:
        self._result = await self._make()
        return self._result

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._result is not None:
            await self._finish(self._result)


async def _release(response: ClientResponse) -> None:
    response.release()


_BODY_TYPES = (bytes, bytearray, memoryview, str)


class TestClient(_AsyncWithOnly):
    """aiohttp's ``TestClient``: requests to a :class:`TestServer` by path, on trio.

    ``server`` must be a ``TestServer`` (``TypeError`` otherwise, as
    aiohttp's). ``kwargs`` go to the ``httpx.AsyncClient`` underneath
    (``session``; a 30 s timeout unless given). ``async with`` (or
    ``start_server()`` then ``close()``) starts the server if it is not
    running, and ``close()`` closes the session and then the server. Cookies
    the server sets are kept and sent back, as aiohttp's cookie jar does.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, server: TestServer, **kwargs: Any) -> None:
        if not isinstance(server, TestServer):
            raise TypeError(f"server must be TestServer instance, found type: {type(server)!r}")
        kwargs.setdefault("timeout", 30.0)
        self._server = server
        self._session = httpx.AsyncClient(**kwargs)
        self._closed = False
        self._websockets: list[ClientWebSocketResponse] = []  # closed with the client

    async def start_server(self) -> None:
        """Start the server if it is not running (``async with`` does this)."""
        await self._server.start_server()

    @property
    def host(self) -> str:
        """The server's host."""
        return self._server.host

    @property
    def port(self) -> int | None:
        """The server's port once started, else the port asked for (None: a free one)."""
        return self._server.port

    @property
    def server(self) -> TestServer:
        """The ``TestServer``."""
        return self._server

    @property
    def app(self) -> Application:
        """The application served."""
        return self._server.app

    @property
    def session(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` underneath: it needs absolute URLs (``make_url``)."""
        return self._session

    def make_url(self, path: str | URL) -> URL:
        """The absolute URL of ``path`` on the server."""
        return self._server.make_url(path)

    async def _request(self, method: str, path: str | URL, **kwargs: Any) -> ClientResponse:
        if "allow_redirects" in kwargs:
            kwargs["follow_redirects"] = kwargs.pop("allow_redirects")
        kwargs.setdefault("follow_redirects", True)  # aiohttp follows redirects by default
        if isinstance(kwargs.get("data"), _BODY_TYPES):
            kwargs["content"] = kwargs.pop("data")
        response = await self._session.request(method, str(self.make_url(path)), **kwargs)
        return ClientResponse(response)

    def request(
        self, method: str, path: str | URL, **kwargs: Any
    ) -> _RequestContextManager[ClientResponse]:
        """Request ``path`` on the server; await it for the response, or ``async with`` it."""
        return _RequestContextManager(partial(self._request, method, path, **kwargs), _release)

    def get(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """GET ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """POST ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("POST", path, **kwargs)

    def options(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """OPTIONS ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("OPTIONS", path, **kwargs)

    def head(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """HEAD ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("HEAD", path, **kwargs)

    def put(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """PUT ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """PATCH ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str | URL, **kwargs: Any) -> _RequestContextManager[ClientResponse]:
        """DELETE ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("DELETE", path, **kwargs)

    def ws_connect(
        self,
        path: str | URL,
        *,
        protocols: tuple[str, ...] | list[str] = (),
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        origin: str | None = None,
        autoclose: bool = True,
        autoping: bool = True,
        receive_timeout: float | None = None,
        max_msg_size: int = 4 * 1024 * 1024,
        ssl: SSLContext | None = None,
    ) -> _RequestContextManager[ClientWebSocketResponse]:
        """Open a WebSocket on ``path``: await it (or ``async with`` it) for a
        :class:`ClientWebSocketResponse`, as aiohttp's ``ws_connect``.

        The session's cookies and headers go with the handshake, and
        ``origin`` as its ``Origin``. A handshake the server refuses raises
        :class:`WSServerHandshakeError` with its ``status``. ``ssl``: the
        context for a TLS server (the system's trust otherwise).
        """
        url = self.make_url(path)
        if params is not None:
            url = url.update_query(params)

        async def connect() -> ClientWebSocketResponse:
            extra = dict(headers or {})
            if origin is not None:
                extra["Origin"] = origin
            built = self._session.build_request("GET", str(url), headers=extra)
            ws = await ws_connect(
                url,
                handshake_headers(built.headers.items()),
                protocols=tuple(protocols),
                ssl_context=ssl,
                autoclose=autoclose,
                autoping=autoping,
                max_msg_size=max_msg_size,
                receive_timeout=receive_timeout,
            )
            self._websockets.append(ws)
            return ws

        return _RequestContextManager(connect, ClientWebSocketResponse.close)

    async def _close_connections(self) -> None:
        """Close the WebSockets this client opened, then its session (not the server)."""
        try:
            for ws in self._websockets:
                await ws.close()  # a close handshake, bounded; the socket is closed after it
        finally:
            await self._session.aclose()

    async def close(self) -> None:
        """Close the WebSockets it opened, the session, then the server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._close_connections()
        finally:
            await self._server.close()

    async def __aenter__(self) -> Self:
        try:
            await self.start_server()
        except BaseException:
            self._closed = True
            with trio.CancelScope(shield=True):
                await self._session.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
