"""Server-sent events with aiohttp_sse's API, on trio: ``from actorhttp.sse import sse_response``.

aiohttp_sse (3.0) pings and waits with asyncio tasks; this module has its
names and behaviour on trio, so a handler written for it ports by its import::

    from actorhttp.sse import sse_response

    async def clock(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            while resp.is_connected():
                await resp.send(time.strftime("%H:%M:%S"), event="tick")
                await trio.sleep(1)
        return resp

* ``sse_response(request, ...)`` prepares an :class:`EventSourceResponse`
  and gives it as an ``async with`` block, inside which a comment line
  (``: ping``) is sent every ``ping_interval`` seconds so that proxies keep
  the stream open. The pings run in a nursery the block opens and closes:
  the block ends when its body does, stopping them.
* ``send(data, id=, event=, retry=)`` writes one event (a ``data:`` line per
  line of ``data``); ``ConnectionResetError`` once the client has gone, and
  ``TimeoutError`` when the client has not taken it within ``send_timeout``
  seconds (then the connection is cut, as aiohttp_sse aborts it).
* ``wait()`` returns once the client has gone or ``stop_streaming()`` was
  called (from another task, say); ``is_connected()`` is true until then.
  Outside an ``async with`` block, ``wait()`` sends the pings itself.
* ``last_event_id`` is the client's ``Last-Event-Id`` header (a browser
  reconnecting says where it stopped).

Under ``actorhttp.aiohttp_patch``, ``import aiohttp_sse`` gives this module.
"""

from __future__ import annotations

import io
import re
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Self, TypeVar, overload

import trio

from ._web._exceptions import HTTPMethodNotAllowed
from ._web._request import BaseRequest
from ._web._response import ContentCoding, StreamResponse

__all__ = ["EventSourceResponse", "sse_response"]

_TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", None)


class EventSourceResponse(StreamResponse):
    """A ``text/event-stream`` response: events written with :meth:`send`, pings between them.

    Use it through :func:`sse_response`, or ``await resp.prepare(request)``
    then ``async with resp:`` (pings run inside the block). Only GET is
    allowed unless ``allow_all_methods`` (another method: 405).
    ``ping_interval`` must be positive (``ValueError``); ``send_timeout``
    (seconds, ``None``: no bound) bounds each write and, on Linux, is the
    socket's ``TCP_USER_TIMEOUT`` while streaming, so a client that stops
    acknowledging is cut even between events.
    """

    DEFAULT_PING_INTERVAL: float = 15
    DEFAULT_SEND_TIMEOUT: float | None = 120
    DEFAULT_SEPARATOR = "\r\n"
    DEFAULT_LAST_EVENT_HEADER = "Last-Event-Id"
    LINE_SEP_EXPR = re.compile(r"\r\n|\r|\n")

    def __init__(
        self,
        *,
        status: int = 200,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
        sep: str | None = None,
        allow_all_methods: bool = False,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        ping_interval: float = DEFAULT_PING_INTERVAL,
    ) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        self.headers["Content-Type"] = "text/event-stream"
        self.headers["Cache-Control"] = "no-cache"
        self.headers["Connection"] = "keep-alive"
        self.headers["X-Accel-Buffering"] = "no"
        self._ping_interval = self._checked_interval(ping_interval)
        self._sep = sep if sep is not None else self.DEFAULT_SEPARATOR
        self._allow_all_methods = allow_all_methods
        self._send_timeout = send_timeout
        self._request: BaseRequest | None = None
        self._stopped = trio.Event()
        self._write_lock = trio.Lock()  # the handler's events and the pings share the stream
        self._pinging: AsyncExitStack | None = None  # the nursery of `async with resp`
        self._ping_scope: trio.CancelScope | None = None
        self._saved_user_timeout: int | None = None

    @staticmethod
    def _checked_interval(value: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"ping interval must be int or float, not {value!r}")
        if value <= 0:
            raise ValueError("ping interval must be positive")
        return value

    @property
    def ping_interval(self) -> float:
        """Seconds between pings (15 by default); ``ValueError`` unless positive."""
        return self._ping_interval

    @ping_interval.setter
    def ping_interval(self, value: float) -> None:
        self._ping_interval = self._checked_interval(value)

    @property
    def last_event_id(self) -> str | None:
        """The client's ``Last-Event-Id``; ``RuntimeError`` before ``prepare``."""
        if self._request is None:
            raise RuntimeError("EventSource request must be prepared first")
        return self._request.headers.get(self.DEFAULT_LAST_EVENT_HEADER)

    def is_connected(self) -> bool:
        """True once prepared, until the client goes or ``stop_streaming()`` is called."""
        request = self._request
        if request is None or self._stopped.is_set():
            return False
        return request._transport is None or request.transport is not None

    async def prepare(self, request: BaseRequest) -> None:
        """Send the head; 405 (``HTTPMethodNotAllowed``) for a method other than GET."""
        if self.prepared:
            return
        if not self._allow_all_methods and request.method != "GET":
            raise HTTPMethodNotAllowed(request.method, ["GET"])
        self._request = request
        self._set_user_timeout(request)
        await super().prepare(request)

    def _set_user_timeout(self, request: BaseRequest) -> None:
        """Let the kernel cut a connection whose data stays unacknowledged (Linux)."""
        transport = request._transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if self._send_timeout is None or _TCP_USER_TIMEOUT is None or sock is None:
            return
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        try:
            self._saved_user_timeout = sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, int(self._send_timeout * 1000))
        except OSError:  # the client has gone already: the first send will say so
            self._saved_user_timeout = None

    def _restore_user_timeout(self) -> None:
        saved, self._saved_user_timeout = self._saved_user_timeout, None
        transport = self._request._transport if self._request is not None else None
        sock = transport.get_extra_info("socket") if transport is not None else None
        if saved is None or sock is None or sock.fileno() < 0 or _TCP_USER_TIMEOUT is None:
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, saved)
        except OSError:
            pass  # closed meanwhile: nothing to restore

    async def write_eof(self, data: bytes = b"") -> None:
        """End the stream; the socket's ``TCP_USER_TIMEOUT`` is what it was before."""
        await super().write_eof(data)
        self._restore_user_timeout()

    async def send(
        self,
        data: str,
        id: str | None = None,
        event: str | None = None,
        retry: int | None = None,
    ) -> None:
        """Send one event: ``data`` (each of its lines a ``data:`` line), and its ``id``,
        ``event`` type and ``retry`` (milliseconds) when given.

        ``ValueError`` for an ``id`` or ``event`` with a line break (or an ``id``
        with a NUL), or a negative ``retry``. ``ConnectionResetError`` once the
        client has gone; ``TimeoutError`` when the client did not take the event
        within ``send_timeout`` (the connection is then cut). Either stops streaming.
        """
        buffer = io.StringIO()
        if id is not None:
            if self.LINE_SEP_EXPR.search(id) or "\0" in id:
                raise ValueError("id must not contain line separators or null characters")
            buffer.write(f"id: {id}{self._sep}")
        if event is not None:
            if self.LINE_SEP_EXPR.search(event):
                raise ValueError("event must not contain line separators")
            buffer.write(f"event: {event}{self._sep}")
        for chunk in self.LINE_SEP_EXPR.split(data):
            buffer.write(f"data: {chunk}{self._sep}")
        if retry is not None:
            if retry < 0:
                raise ValueError("retry must not be negative")
            buffer.write(f"retry: {retry}{self._sep}")
        buffer.write(self._sep)
        try:
            await self._send(buffer.getvalue().encode("utf-8"))
        except (ConnectionResetError, TimeoutError):
            self.stop_streaming()
            raise

    async def _send(self, data: bytes) -> None:
        async with self._write_lock:
            if self._send_timeout is None:
                await self.write(data)
                return
            try:
                with trio.fail_after(self._send_timeout):
                    await self.write(data)
            except trio.TooSlowError:
                error = TimeoutError(f"the client took no data for {self._send_timeout} s")
                self._abort(error)  # a stalled client never drains: cut, do not wait
                raise error from None

    async def _ping(self) -> None:
        """Send ``: ping`` every ``ping_interval`` seconds until stopped or the client goes."""
        message = f": ping{self._sep}{self._sep}".encode()
        with trio.CancelScope() as self._ping_scope:
            while not self._stopped.is_set():
                await trio.sleep(self._ping_interval)
                try:
                    await self._send(message)
                except (ConnectionResetError, TimeoutError, RuntimeError):
                    break  # RuntimeError: written after write_eof
        self._stopped.set()

    def _check_started(self) -> None:
        if self._request is None:
            raise RuntimeError("Response is not started")

    def stop_streaming(self) -> None:
        """End the stream's pings and make ``wait()`` return (from any task of the handler's)."""
        self._check_started()
        self._stopped.set()
        if self._ping_scope is not None:
            self._ping_scope.cancel()

    async def wait(self) -> None:
        """Return once the client has gone or ``stop_streaming()`` was called.

        Inside ``async with resp`` the pings run beside; outside, they run here.
        """
        self._check_started()
        if self._pinging is not None:
            await self._stopped.wait()
        else:
            await self._ping()

    def enable_compression(
        self, force: bool | ContentCoding | None = None, strategy: int | None = None
    ) -> None:
        """Not for event streams (``NotImplementedError``), as in aiohttp_sse."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        """Start the pings (``RuntimeError`` before ``prepare``)."""
        self._check_started()
        stack = AsyncExitStack()
        nursery = await stack.enter_async_context(trio.open_nursery())
        nursery.start_soon(self._ping)
        self._pinging = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_streaming()
        stack, self._pinging = self._pinging, None
        if stack is not None:
            # Closed with no exception: the body's own (ConnectionResetError, say) goes on
            # as it was raised, not wrapped in the nursery's ExceptionGroup.
            await stack.aclose()


ESR = TypeVar("ESR", bound=EventSourceResponse)


@overload
def sse_response(
    request: BaseRequest,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    allow_all_methods: bool = False,
) -> AbstractAsyncContextManager[EventSourceResponse]: ...


@overload
def sse_response(
    request: BaseRequest,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    response_cls: type[ESR],
    allow_all_methods: bool = False,
) -> AbstractAsyncContextManager[ESR]: ...


def sse_response(
    request: BaseRequest,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    response_cls: type[EventSourceResponse] = EventSourceResponse,
    allow_all_methods: bool = False,
) -> AbstractAsyncContextManager[EventSourceResponse]:
    """``async with sse_response(request) as resp:``: a prepared :class:`EventSourceResponse`
    (of ``response_cls``) that pings while the block runs; ``TypeError`` for a
    ``response_cls`` that is not one."""
    if not (isinstance(response_cls, type) and issubclass(response_cls, EventSourceResponse)):
        raise TypeError(
            "response_cls must be subclass of actorhttp.sse.EventSourceResponse, "
            f"got {response_cls}"
        )
    sse = response_cls(
        status=status,
        reason=reason,
        headers=headers,
        sep=sep,
        allow_all_methods=allow_all_methods,
        send_timeout=send_timeout,
        ping_interval=ping_interval,
    )
    return _stream(sse, request)


@asynccontextmanager
async def _stream(sse: ESR, request: BaseRequest) -> AsyncIterator[ESR]:
    await sse.prepare(request)
    async with sse as resp:
        yield resp
