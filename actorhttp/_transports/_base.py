"""The transport seam: what any transport needs from the server actor, and gives back.

A transport accepts connections, turns each HTTP request into a
:class:`~actorhttp.messages.Request` with a fresh one-shot reply,
``deliver``s it, and turns whatever comes back on the reply into the HTTP
answer (framed by ``_framing``, the one place that decides it). It never
sees a router or an application.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

import trio

from .._reply import ReplyReceiver
from .._web._exceptions import HTTPInternalServerError, HTTPServiceUnavailable
from .._web._request import Request
from .._web._response import StreamResponse
from ..messages import StartServer

__all__ = [
    "Deliver",
    "Live",
    "Peer",
    "READ_SIZE",
    "accept_connections",
    "connection_slots",
    "StopSignal",
    "Transport",
    "exchange",
    "bound_address",
    "client_gone",
    "open_listeners",
]

logger = logging.getLogger("actorhttp")

Deliver = Callable[[Request], Awaitable[None]]

READ_SIZE = 64 * 1024
"""How much a connection asks of its socket in one read (HTTP/1.1, HTTP/2, WebSocket)."""

Peer = tuple[str, int] | None
"""A client's address as accepted; ``None`` when the socket family has no host and port."""

ConnectionHandler = Callable[[trio.SocketStream, Peer], Coroutine[Any, Any, None]]

# Out of descriptors or memory: the listener is fine, the process is full. Wait and retry
# (trio.serve_listeners does the same), so the connections already open can finish.
_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_CAPACITY_PAUSE = 0.1
# The listening socket itself was closed: the accept loop is over.
_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK, errno.EINVAL})
# Anything else accept() reports (ECONNABORTED for a peer that reset before we took it,
# EPERM from a firewall, EPROTO, ...) belongs to that one connection attempt.
_UNKNOWN_PAUSE = 0.01
ACCEPT_BURST = 100
"""Connections taken from the backlog in a row before the accept loop lets them run (asyncio's
default backlog)."""


NOTSENT_LOWAT = 256 * 1024
"""Unsent bytes the kernel may hold before a send blocks (trio sets 16 KiB).

With trio's 16 KiB a response streamed to a slow reader wakes the server
for every few dozen KiB the client reads: measured, 1 GiB to a client
reading at 64 MiB/s cost 1.74 s of server CPU (aiohttp: 0.43 s), and
0.26 s per 256 MiB at 16 KiB against 0.13 s at 256 KiB. 256 KiB keeps what
a stalled client can pin in the kernel small (aiohttp lets it grow to MiBs).
"""


def _raise_notsent_lowat(stream: trio.SocketStream) -> None:
    lowat = getattr(trio.socket, "TCP_NOTSENT_LOWAT", None)
    if lowat is not None:
        try:
            # On the socket itself: the stream's setsockopt wraps each call in a context
            # manager that translates errors, which this one ignores anyway.
            stream.socket.setsockopt(trio.socket.IPPROTO_TCP, lowat, NOTSENT_LOWAT)
        except OSError:
            pass  # a peer that already reset: the connection fails on its first read


def _peer(address: object) -> Peer:
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return None


async def accept_connections(
    listener: trio.SocketListener,
    handler: ConnectionHandler,
    nursery: trio.Nursery,
    slots: trio.Semaphore | None = None,
) -> None:
    """Accept on ``listener`` until it is closed, running ``handler(stream, peer)`` in ``nursery``.

    With ``slots`` (``max_connections``, shared by every listener of a
    server), a connection holds one until its handler returns, and none is
    accepted while they are all taken: new ones wait in the listen backlog.

    The peer's address is the one ``accept()`` returns: asking the socket
    later (``getpeername``) fails with ENOTCONN for a client that has
    already reset, and must never be what ends a server. No fault of one
    connection attempt ends this loop; running out of descriptors pauses it.
    """
    sock = listener.socket
    if slots is not None:
        handler = _holding(slots, handler)
    async with listener:
        await _accept_loop(sock, handler, nursery, slots)


async def open_listeners(settings: StartServer) -> list[trio.SocketListener]:
    """The listening sockets to accept on: ``settings.sockets``, else ``host:port`` bound.

    A given socket is listened on through a duplicate descriptor, which the
    accept loop closes at the stop; the original stays its owner's (a
    supervisor keeps it listening while a worker restarts). Binding raises
    ``OSError``, and trio closes whatever it had opened. With
    ``tcp_keepalive`` the listeners get ``SO_KEEPALIVE``, which every
    accepted socket inherits.
    """
    if not settings.sockets:
        listeners = await trio.open_tcp_listeners(
            settings.port, host=settings.host, backlog=settings.backlog
        )
    else:
        listeners = []
        for sock in settings.sockets:
            duplicate = trio.socket.from_stdlib_socket(sock.dup())
            duplicate.listen(settings.backlog)  # harmless if already listening: sets the backlog
            listeners.append(trio.SocketListener(duplicate))
    if settings.tcp_keepalive:
        # Accepted sockets inherit it from their listener: no system call per connection.
        for listener in listeners:
            listener.socket.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_KEEPALIVE, 1)
    return listeners


def tls_context(settings: StartServer, *, alpn: list[str]) -> ssl.SSLContext | None:
    """The context to serve TLS with, or None for plain HTTP.

    The program's own ``ssl_context`` is used as it is (its ALPN list too);
    ``certfile``/``keyfile`` make a server context offering ``alpn``, which
    refuses TLS 1.2 renegotiation (a client-driven CPU cost with no use to
    HTTP/1.1 or HTTP/2 clients). Raises ``OSError``/``ssl.SSLError`` for
    files that cannot be loaded.
    """
    if settings.ssl_context is not None:
        return settings.ssl_context
    if settings.certfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.certfile, settings.keyfile)
    context.set_alpn_protocols(alpn)
    context.options |= ssl.OP_NO_RENEGOTIATION
    return context


def connection_slots(settings: StartServer) -> trio.Semaphore | None:
    """``max_connections`` as one semaphore for all of a server's listeners (``None``: no cap)."""
    cap = settings.max_connections
    return None if cap is None else trio.Semaphore(cap)


def _holding(slots: trio.Semaphore, handler: ConnectionHandler) -> ConnectionHandler:
    """``handler``, releasing a slot taken by the accept loop when it returns."""

    async def holding(stream: trio.SocketStream, peer: Peer) -> None:
        try:
            await handler(stream, peer)
        finally:
            slots.release()

    return holding


async def _accept_loop(
    sock: trio.socket.SocketType,
    handler: ConnectionHandler,
    nursery: trio.Nursery,
    slots: trio.Semaphore | None,
) -> None:
    # Like asyncio, take every connection already queued each time the listener is
    # readable, through a non-owning view of the same descriptor. trio's accept() takes
    # one per scheduler round (under load the 64th of a burst of clients waited ~40 ms
    # for its first answer: wrk's max and p99.9), and the socket module's accept() looks
    # the listener's family and type up as enums for every connection: half its cost.
    fd = sock.fileno()
    # Each connection task's name, spelt once (trio would make the string at every spawn).
    name = f"{getattr(handler, '__module__', '')}.{getattr(handler, '__qualname__', handler)}"
    family, kind, proto = int(sock.family), int(sock.type), sock.proto
    queued = socket.socket(family, kind, proto, fileno=fd)
    taken = 0
    try:
        queued.setblocking(False)  # never wait here, whatever socket.setdefaulttimeout() says
        while True:
            if slots is not None:
                try:
                    slots.acquire_nowait()
                except trio.WouldBlock:
                    await slots.acquire()  # all taken: new clients wait in the backlog
            if sock.fileno() != fd:  # closed while we were scheduled out
                if slots is not None:
                    slots.release()
                return
            try:
                accepted, address = queued._accept()  # type: ignore[attr-defined]
            except BlockingIOError:
                if slots is not None:
                    slots.release()
                taken = 0
                try:
                    await trio.lowlevel.wait_readable(fd)
                except trio.ClosedResourceError:
                    return  # the listener's close woke us (trio's notify_closing)
                continue
            except OSError as exc:
                if slots is not None:
                    slots.release()
                if exc.errno in _CLOSED_ERRNOS:
                    return
                await _after_accept_error(exc)
                continue
            raw = socket.socket(family, kind, proto, fileno=accepted)
            _start(trio.socket.from_stdlib_socket(raw), address, handler, nursery, slots, name)
            taken += 1
            if taken == ACCEPT_BURST:  # a flood of clients: let the accepted ones run
                taken = 0
                await trio.lowlevel.checkpoint()
    finally:
        queued.detach()  # the listener owns the descriptor


async def _after_accept_error(exc: OSError) -> None:
    if exc.errno in _CAPACITY_ERRNOS:
        logger.error("accept: %s; pausing %.0f ms", os.strerror(exc.errno), _CAPACITY_PAUSE * 1000)
        await trio.sleep(_CAPACITY_PAUSE)
    else:
        logger.debug("accept: %s (one connection attempt lost)", exc)
        await trio.sleep(_UNKNOWN_PAUSE)  # never a busy loop on a repeating error


def _start(
    conn: trio.socket.SocketType,
    address: object,
    handler: ConnectionHandler,
    nursery: trio.Nursery,
    slots: trio.Semaphore | None,
    name: str,
) -> None:
    try:
        # Sets TCP_NODELAY, ignoring an OSError from a socket the peer already reset.
        stream = trio.SocketStream(conn)
        _raise_notsent_lowat(stream)
    except Exception:  # one connection's set-up failed; the loop goes on
        logger.debug("connection from %s dropped during set-up", address, exc_info=True)
        conn.close()
        if slots is not None:
            slots.release()
        return
    nursery.start_soon(handler, stream, _peer(address), name=name)


class StopSignal:
    """Set once by the server actor with the grace period; the transport waits on it.

    ``going_away`` is when open WebSockets are closed with 1001: with the stop
    itself, unless the owner of the server gives an event of its own and sets
    it later (``serve`` sets it once the app's ``on_shutdown`` has run).
    """

    def __init__(self, going_away: trio.Event | None = None) -> None:
        self._event = trio.Event()
        self.grace = 0.0
        self._going_away = going_away if going_away is not None else self._event

    def set(self, grace: float) -> None:
        if not self._event.is_set():
            self.grace = grace
            self._event.set()

    async def wait(self) -> float:
        await self._event.wait()
        return self.grace

    @property
    def going_away(self) -> trio.Event:
        """Set when open WebSockets are to be closed with 1001 (see the class docstring)."""
        return self._going_away


class Live(Protocol):
    """A connection as a transport's reaper and its stop see it (HTTP/1.1 or HTTP/2)."""

    scope: trio.CancelScope

    @property
    def deadline(self) -> float:
        """When the client must have made progress by; the reaper cancels ``scope`` then."""
        ...

    def stop(self) -> bool:
        """The server is stopping: True if the connection is idle and may close now."""
        ...


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


async def exchange(deliver: Deliver, request: Request, receiver: ReplyReceiver) -> StreamResponse:
    """Deliver ``request`` and wait for its response; a closed or lost reply is a 500.

    ``receiver`` is the waiting half of ``request.reply``; this closes it, so
    an answer that comes after we stopped waiting (the connection was cut)
    gets ``trio.BrokenResourceError`` at its sender, never a silent loss.
    """
    try:
        await deliver(request)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        request.reply.close()
        receiver.close()
        return HTTPServiceUnavailable(text="the router has stopped")
    try:
        return await receiver.receive()
    except trio.EndOfChannel:
        logger.error("%s %s: reply closed without a response", request.method, request.raw_path)
        return HTTPInternalServerError()
    finally:
        receiver.close()


def client_gone(request: Request) -> None:
    """The client gave up on ``request``: set its ``disconnected`` and cancel its handler.

    For a request delivered with ``disconnected`` (``handler_cancellation``,
    or an HTTP/2 stream the client reset); a no-op otherwise.
    """
    if request.disconnected is not None:
        request.disconnected.set()
        request.reply._client_gone()


def bound_address(sock: socket.socket | trio.socket.SocketType) -> str:
    """``host:port`` as bound (``[host]:port`` for IPv6), for the URLs a server reports."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == trio.socket.AF_INET6 else f"{host}:{port}"
