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
``RawTestServer`` (a bare low-level handler, with no Application), and
``TestClient.ws_connect`` (use a WebSocket client such as ``websockets``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Generator
from contextlib import AsyncExitStack
from functools import partial
from http.cookies import SimpleCookie
from types import TracebackType
from typing import Any, Self

import trio
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._testsupport import STOP_GRACE, missing_extra, unused_port

try:
    import httpx
except ImportError as exc:  # the optional extra is not installed: say which
    raise missing_extra("actorhttp.test_utils", exc) from exc

from ._app import Application
from ._serve import Server, serve
from .testing import make_mocked_request

__all__ = ["ClientResponse", "TestClient", "TestServer", "make_mocked_request", "unused_port"]


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


class ClientResponse:
    """A response as aiohttp's ``ClientResponse`` shows it, over an ``httpx.Response`` read whole.

    ``status``, ``reason``, ``method``, ``url`` (a ``yarl.URL``), ``headers``
    (a ``CIMultiDictProxy``, names as sent), ``cookies`` (the ``Set-Cookie``
    of this response, a ``SimpleCookie``), ``content_type``, ``charset``,
    ``content_length``, ``ok``; ``await read()``, ``await text()``,
    ``await json()``, ``raise_for_status()`` (httpx's ``HTTPStatusError``).
    ``httpx_response`` is the response underneath, for anything else.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.httpx_response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.method = response.request.method
        self.url = URL(str(response.url))
        self.headers = CIMultiDictProxy(
            CIMultiDict(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in response.headers.raw
            )
        )

    @property
    def ok(self) -> bool:
        """True for a status below 400."""
        return self.status < 400

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters; aiohttp's default if none."""
        value = self.headers.get("Content-Type", "application/octet-stream")
        return value.partition(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset of ``Content-Type``, or None."""
        return self.httpx_response.charset_encoding

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` as an int, or None."""
        value = self.headers.get("Content-Length")
        return int(value) if value is not None else None

    @property
    def cookies(self) -> SimpleCookie:
        """The cookies this response set (its ``Set-Cookie`` headers)."""
        cookies = SimpleCookie()
        for value in self.headers.getall("Set-Cookie", ()):
            cookies.load(value)
        return cookies

    async def read(self) -> bytes:
        """The body (already read whole)."""
        await trio.lowlevel.checkpoint()
        return self.httpx_response.content

    async def text(self, encoding: str | None = None, errors: str = "strict") -> str:
        """The body decoded with ``encoding``, else the response's charset, else UTF-8."""
        body = await self.read()
        return body.decode(encoding or self.charset or "utf-8", errors)

    async def json(
        self,
        *,
        encoding: str | None = None,
        loads: Callable[[str], Any] = json.loads,
        content_type: str | None = "application/json",
    ) -> Any:
        """The body as JSON; ``ValueError`` if its type is not ``content_type`` (``None``: any)."""
        if content_type is not None and not _is_expected_type(self.content_type, content_type):
            raise ValueError(
                f"Attempt to decode JSON with unexpected mimetype: {self.content_type}"
            )
        text = await self.text(encoding)
        return loads(text) if text.strip() else None

    def raise_for_status(self) -> None:
        """httpx's ``HTTPStatusError`` for a 4xx or 5xx status; nothing otherwise."""
        self.httpx_response.raise_for_status()

    def release(self) -> None:
        """Nothing to release: the body was read whole (aiohttp's name, kept for ported code)."""

    def close(self) -> None:
        """Nothing to close: the connection went back to the pool once the body was read."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<ClientResponse({self.url}) [{self.status} {self.reason}]>"


_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+?\+)?json")  # aiohttp's: application/*+json too


def _is_expected_type(actual: str, expected: str) -> bool:
    if expected == "application/json":
        return _JSON_TYPE.match(actual) is not None
    return expected in actual


class _RequestContextManager:
    """What ``client.get(...)`` gives: awaited, the response; or ``async with`` it."""

    __slots__ = ("_make", "_response")

    def __init__(self, make: Callable[[], Coroutine[Any, Any, ClientResponse]]) -> None:
        self._make = make  # the request starts when awaited, never otherwise
        self._response: ClientResponse | None = None

    def __await__(self) -> Generator[Any, None, ClientResponse]:
        return self._make().__await__()

    async def __aenter__(self) -> ClientResponse:
        self._response = await self._make()
        return self._response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._response is not None:
            self._response.release()


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

    def request(self, method: str, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """Request ``path`` on the server; await it for the response, or ``async with`` it."""
        return _RequestContextManager(partial(self._request, method, path, **kwargs))

    def get(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """GET ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """POST ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("POST", path, **kwargs)

    def options(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """OPTIONS ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("OPTIONS", path, **kwargs)

    def head(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """HEAD ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("HEAD", path, **kwargs)

    def put(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """PUT ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """PATCH ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str | URL, **kwargs: Any) -> _RequestContextManager:
        """DELETE ``path``: await it for a ``ClientResponse``, or ``async with`` it."""
        return self.request("DELETE", path, **kwargs)

    async def close(self) -> None:
        """Close the session, then the server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._session.aclose()
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
