"""``request.transport`` and ``request.protocol``: the connection a request came on, as aiohttp.

aiohttp programs and plugins ask the request's asyncio transport about the
connection (``request.transport.get_extra_info("peername")``, ``is_closing()``)
and log through ``request.protocol.logger``. Each transport of actorhttp
makes one :class:`ConnectionTransport` per client connection, from what it
holds (a trio socket, the TLS context and object, the addresses), and marks
it lost when the connection ends; nothing of the transport itself (no
httptools, hypercorn or ASGI type) is in it, so the request message stays
the same whichever transport made it.
"""

from __future__ import annotations

import logging
import select
import ssl
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from ._request import BaseRequest

__all__ = ["ConnectionTransport", "RequestProtocol"]

# Reported by poll() when the peer has closed its side or reset: aiohttp's transport is
# closed once asyncio sees the client's EOF, so either means "the client has gone".
_GONE = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR


class ConnectionTransport:
    """The client connection a request came on, with the two methods of asyncio's transport
    that aiohttp programs use: ``get_extra_info(name)`` and ``is_closing()``.

    ``socket`` is the connection's trio socket (``None`` when the server was
    not given one: a memory stream in a test, or another ASGI server), to
    read addresses and options from; the server owns it, so closing or
    reading it from a handler breaks the connection. ``is_closing()`` is
    true once the connection has ended or the client has closed or reset it
    (checked on the socket when asked, never by reading from it).
    """

    __slots__ = ("_lost", "_peername", "_socket", "_sockname", "_ssl_context", "_ssl_object")

    def __init__(
        self,
        socket: trio.socket.SocketType | None,
        peername: tuple[str, int] | None,
        *,
        sockname: tuple[str, int] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ssl_object: Any = None,
    ) -> None:
        """``sockname`` is for a connection without a socket (read from the socket otherwise);
        ``ssl_object`` the connection's ``ssl.SSLObject`` (or an object with its methods)."""
        self._socket = socket
        self._peername = peername
        self._sockname = sockname
        self._ssl_context = ssl_context
        self._ssl_object = ssl_object
        self._lost = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """asyncio's names: ``peername``, ``sockname``, ``socket``, ``sslcontext``,
        ``ssl_object`` (the last two ``None`` without TLS); any other gives ``default``."""
        if name == "peername":
            value: Any = self._peername
        elif name == "sockname":
            value = self._sockname
            if value is None and self._socket is not None:
                try:
                    value = self._socket.getsockname()
                except OSError:  # closed meanwhile
                    value = None
        elif name == "socket":
            value = self._socket
        elif name == "sslcontext":
            value = self._ssl_context
        elif name == "ssl_object":
            value = self._ssl_object
        else:
            value = None
        return default if value is None else value

    def is_closing(self) -> bool:
        """True once the connection is over or the client has closed or reset its side."""
        if self._lost:
            return True
        sock = self._socket
        if sock is None:
            return False
        fd = sock.fileno()
        if fd < 0:
            return True
        poller = select.poll()
        poller.register(fd, _GONE)
        return bool(poller.poll(0))

    def connection_lost(self) -> None:
        """The transport's call when the connection has ended: from then on it is closing."""
        self._lost = True

    def __repr__(self) -> str:
        state = " closing" if self.is_closing() else ""
        return f"<ConnectionTransport {self._peername}{state}>"


class RequestProtocol:
    """``request.protocol``: what aiohttp programs read of aiohttp's ``RequestHandler``.

    ``logger`` is the server's logger (``actorhttp``, where aiohttp has
    ``aiohttp.server``), ``access_logger`` the access log's
    (``actorhttp.access``), ``transport`` the request's ``transport``.
    """

    __slots__ = ("_request",)

    logger = logging.getLogger("actorhttp")
    access_logger = logging.getLogger("actorhttp.access")

    def __init__(self, request: BaseRequest) -> None:
        self._request = request

    @property
    def transport(self) -> ConnectionTransport | None:
        """The request's connection, ``None`` once the client has gone."""
        return self._request.transport

    @property
    def peername(self) -> tuple[str, int] | None:
        """The client's address, as the connection was accepted."""
        return self._request.peer

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context the connection is served with, or ``None``."""
        transport = self._request._transport
        return None if transport is None else transport.get_extra_info("sslcontext")

    def __repr__(self) -> str:
        return f"<RequestProtocol {self.peername}>"
