"""The transport seam: what any transport needs from the server actor, and gives back.

A transport accepts connections, turns each HTTP request into a
:class:`~actorhttp.messages.Request` with a fresh one-shot reply channel,
``deliver``s it, and turns whatever comes back on the reply channel into the
HTTP answer. It never sees a router or an application.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import trio

from .._answers import exception_response
from .._exceptions import HTTPInternalServerError, HTTPServiceUnavailable
from ..messages import Request, Response, StartServer

__all__ = [
    "Deliver",
    "StopSignal",
    "Transport",
    "aclosing_stream",
    "body_allowed",
    "exchange",
    "listener_address",
    "status_has_body",
]

logger = logging.getLogger("actorhttp")

Deliver = Callable[[Request], Awaitable[None]]


class StopSignal:
    """Set once by the server actor with the grace period; the transport waits on it."""

    def __init__(self) -> None:
        self._event = trio.Event()
        self.grace = 0.0

    def set(self, grace: float) -> None:
        if not self._event.is_set():
            self.grace = grace
            self._event.set()

    async def wait(self) -> float:
        await self._event.wait()
        return self.grace


class Transport(Protocol):
    """Serves one StartServer's worth of listeners until ``stop`` is set, then drains."""

    async def __call__(
        self,
        settings: StartServer,
        deliver: Deliver,
        stop: StopSignal,
        *,
        task_status: trio.TaskStatus[tuple[str, ...]],
    ) -> None: ...


async def exchange(
    deliver: Deliver, request: Request, reply: trio.MemoryReceiveChannel[Response]
) -> Response:
    """Deliver ``request`` and wait for its response; a closed or lost reply is a 500.

    ``reply`` is the receiving end of ``request.reply``; this closes it.
    """
    try:
        await deliver(request)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        request.reply.close()
        reply.close()
        return exception_response(HTTPServiceUnavailable(text="the router has stopped"))
    try:
        return await reply.receive()
    except trio.EndOfChannel:
        logger.error("%s %s: reply closed without a response", request.method, request.raw_path)
        return exception_response(HTTPInternalServerError())
    finally:
        reply.close()


_NO_BODY_STATUSES = frozenset({204, 304})


def status_has_body(status: int) -> bool:
    """Whether a response with this status carries a body (and so a Content-Length)."""
    return status >= 200 and status not in _NO_BODY_STATUSES


def body_allowed(method: str, status: int) -> bool:
    """Whether the body goes on the wire: never for HEAD, nor for 1xx, 204 and 304."""
    return method != "HEAD" and status_has_body(status)


@asynccontextmanager
async def aclosing_stream(stream: AsyncIterable[bytes]) -> AsyncIterator[None]:
    """Close a response stream (an async generator's ``aclose``) however sending ends."""
    try:
        yield
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def listener_address(listener: trio.SocketListener) -> str:
    """``host:port`` as bound (``[host]:port`` for IPv6), for the URLs a server reports."""
    sock = listener.socket
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == trio.socket.AF_INET6 else f"{host}:{port}"
