"""Every message the actors exchange: commands in, events out, requests and their replies.

Commands and events are frozen, slotted dataclasses, all here. A
:class:`Request` (also frozen and slotted) carries its own one-shot
:class:`Reply`: whoever holds the request answers by sending one response
on it (``await request.reply.send(response)``), which hands the response
over to the server: from then on it refuses changes. Closing the reply
without a response gets the client a 500; a second answer is refused with
:class:`ReplyError`. A WebSocket served by an actor arrives as a
:class:`WebSocketConnection`: a channel of the client's messages and a
channel for the actor's.

Imports only the standard library, trio and actorhttp's own value types
(the request, the responses, the reply, WebSocket messages), so a transport can build these
without knowing about routers or applications.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import trio

from ._reply import Reply, ReplyError, ReplyReceiver, open_reply
from ._web._request import Request
from ._web._response import Response, StreamResponse
from ._web._wschannels import WebSocketInbox
from ._web._wsmodels import WSMessage
from ._web._wsoutbox import WebSocketOutbox

__all__ = [
    "AddRoute",
    "CancelRequests",
    "Command",
    "CommandFailed",
    "Event",
    "Handler",
    "Mailbox",
    "MinDataRate",
    "Reply",
    "ReplyError",
    "ReplyReceiver",
    "Request",
    "Response",
    "ServerStarted",
    "ServerStopped",
    "StartServer",
    "StopServer",
    "StreamResponse",
    "Target",
    "TransportName",
    "WSMessage",
    "WebSocketConnection",
    "WebSocketInbox",
    "WebSocketMailbox",
    "WebSocketOutbox",
    "open_reply",
]

MiB = 1024 * 1024


Handler: TypeAlias = Callable[[Request], Awaitable[StreamResponse]]
"""An ``async def handler(request) -> web.StreamResponse``."""

Mailbox: TypeAlias = trio.MemorySendChannel[Request]
"""An actor's inbox: requests sent there are answered on ``request.reply``."""

Target: TypeAlias = Handler | Mailbox
"""What a route leads to: a handler, or an actor's mailbox."""


@dataclass(frozen=True, slots=True, eq=False)
class WebSocketConnection:
    """One client's WebSocket, sent to the actor of a route added with ``add_websocket``.

    * ``inbox`` (a :class:`WebSocketInbox`, a ``trio.abc.ReceiveChannel``)
      yields what the client sends, as ``WSMessage`` items (TEXT and BINARY;
      ERROR if it broke the protocol), and **ends when the client goes** (its
      close frame, a lost connection, or the socket closed by us). Bounded
      (``inbox_size``, 16 by default): while it is full the server stops
      reading the socket, so TCP holds the client back: a client cannot
      outrun the actor. Closing it closes the socket (1000).
    * ``outbox`` (a :class:`WebSocketOutbox`, a ``trio.abc.SendChannel``)
      takes what to send: ``str`` as TEXT, ``bytes`` as BINARY, or a
      ``WSMessage(WSMsgType.CLOSE, code, reason)`` to close with that code
      (anything else: ``TypeError`` at the send). A message sent while
      nothing is queued is written to the socket at once, in the sender's
      task; while the inbox still holds messages the actor has not taken (it
      is working through a batch), what it sends waits for the inbox to run
      dry or the sender's task to wait (the end of the scheduler's round),
      and then leaves with the rest in one write. Bounded (``outbox_size``, 16
      by default) in messages the socket has not taken: ``send`` waits while
      it is full (``send_nowait`` raises ``trio.WouldBlock``, so an actor
      serving many clients can drop or close a slow one rather than wait for
      it). Closing it closes the socket cleanly (1000, after what was queued
      and the close handshake). Once the socket is closed or closing,
      sending raises ``trio.BrokenResourceError``.

    ``request`` is the handshake's request (``match_info``, headers, cookies);
    ``protocol`` the subprotocol chosen, if any.
    """

    request: Request
    inbox: WebSocketInbox
    outbox: WebSocketOutbox
    protocol: str | None = None


WebSocketMailbox: TypeAlias = trio.MemorySendChannel[WebSocketConnection]
"""An actor's inbox for WebSockets: each connection arrives as a WebSocketConnection."""


# -- commands ----------------------------------------------------------------

TransportName: TypeAlias = Literal["auto", "httptools", "hypercorn"]
"""How clients are reached: ``StartServer.transport``."""


def _positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")


def _count(name: str, value: int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int{' or None' * allow_none}, not {value!r}")


@dataclass(frozen=True, slots=True)
class MinDataRate:
    """The slowest a client may send a request body or read a response (Kestrel's rule).

    Time counts only while the server waits on the client (a handler reading
    a body, a send the client's window holds up). After ``grace_period``
    seconds of that waiting, the bytes moved must average at least
    ``bytes_per_second`` over it, or the client is cut off: a request body
    gets 408 and the connection closes; a response's connection closes and
    its writer gets ``ConnectionResetError``. The defaults are Kestrel's.
    """

    bytes_per_second: float = 240.0
    grace_period: float = 5.0

    def __post_init__(self) -> None:
        _positive("bytes_per_second", self.bytes_per_second)
        _positive("grace_period", self.grace_period)


@dataclass(frozen=True, slots=True)
class StartServer:
    """Bind ``host:port`` (port 0 picks a free one) and start serving.

    Or serve ``sockets``, already bound TCP sockets (IPv4 or IPv6), instead
    of binding ``host:port``: a supervisor's for its worker processes, or
    systemd's. The server listens on a duplicate of each and closes only
    that: the given sockets stay their owner's to close.

    ``transport`` picks how clients are reached: ``"httptools"`` (actorhttp's
    own: HTTP/1.1 on llhttp and HTTP/2 on h2, with or without TLS; fastest and
    strictest), ``"hypercorn"`` (hypercorn's trio worker: HTTP/1.1, HTTP/2,
    TLS), or ``"auto"``, which is httptools.

    TLS: ``ssl_context`` (an ``ssl.SSLContext``, as aiohttp's ``run_app``
    takes) or ``certfile`` and ``keyfile``. Either works on either transport.
    Certificate files make a context that offers HTTP/2 and HTTP/1.1 by
    ALPN; a program's own context offers what its ALPN list says
    (``context.set_alpn_protocols(["h2", "http/1.1"])`` for both). In clear
    text, the httptools transport serves HTTP/2 to a client that starts with
    its preface (prior knowledge, ``h2c``).

    Limits: ``client_max_size`` bounds request bodies (413);
    ``max_header_size`` the request line and headers together (431; over
    HTTP/2, the decoded header list); ``keep_alive_timeout`` idle connections
    (over HTTP/2: with no stream open); ``max_request_line`` (414),
    ``max_header_line`` and ``max_headers`` (431);
    ``h2_max_concurrent_streams`` the streams one HTTP/2 client may have open
    (``SETTINGS_MAX_CONCURRENT_STREAMS``). The httptools transport also
    enforces ``header_timeout`` for an HTTP/1.1 request's head; hypercorn has
    its ``read_timeout``.
    Slow clients, on both transports: ``min_request_body_rate`` (408 and
    close) and ``min_response_rate`` (the connection closes), each a
    :class:`MinDataRate` (240 bytes/s after a 5 s grace) or ``None`` for no
    minimum.
    ``certfile``/``keyfile`` switch on TLS. ``handler_cancellation`` (aiohttp's
    run_app option) cancels a handler whose client goes away before its answer
    is out; off by default, as in aiohttp.

    aiohttp's request-handler settings: ``auto_decompress`` decodes request
    bodies sent with ``Content-Encoding`` gzip, deflate, br or zstd (on, as in
    aiohttp; ``False`` hands them over as sent); ``read_bufsize`` is the
    request body stream's buffer (``readline``'s limit, and the most one read
    of a compressed body decodes past 64 KiB); ``tcp_keepalive`` sets
    ``SO_KEEPALIVE`` on each accepted socket (on, as in aiohttp);
    ``lingering_time`` is how long the httptools transport drains what a
    client still sends after a refusal or an unread body, before it closes
    (2 s; aiohttp's default is 10 s).

    Overload: ``max_concurrency`` caps the requests handled at once (a
    WebSocket or a stream counts while its handler runs; ``None``: no cap);
    past it requests wait in the router actor's mailbox, and past
    ``max_queued`` waiting a request is answered 503 with ``Retry-After`` at
    once. ``max_connections`` caps open connections: past it new ones wait in
    the listen backlog (``backlog``), and the kernel refuses them when that is
    full.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    client_max_size: int | None = MiB
    max_header_size: int = 64 * 1024
    max_request_line: int = 4094
    max_header_line: int = 8190
    max_headers: int = 100
    keep_alive_timeout: float = 5.0
    header_timeout: float = 10.0
    min_request_body_rate: MinDataRate | None = MinDataRate()
    min_response_rate: MinDataRate | None = MinDataRate()
    read_timeout: float | None = None
    h2_max_concurrent_streams: int = 100
    backlog: int = 100
    handler_cancellation: bool = False
    max_concurrency: int | None = None
    max_queued: int = 1000
    max_connections: int | None = None
    certfile: str | None = None
    keyfile: str | None = None
    ssl_context: ssl.SSLContext | None = None
    transport: TransportName = "auto"
    sockets: tuple[socket.socket, ...] = ()
    auto_decompress: bool = True
    read_bufsize: int = 2**16
    tcp_keepalive: bool = True
    lingering_time: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host must be a non-empty string, not {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError(f"port must be an int, not {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, not {self.port}")
        _positive("client_max_size", self.client_max_size, allow_none=True)
        _positive("max_header_size", self.max_header_size)
        _positive("max_request_line", self.max_request_line)
        _positive("max_header_line", self.max_header_line)
        _positive("max_headers", self.max_headers)
        _positive("keep_alive_timeout", self.keep_alive_timeout)
        _positive("header_timeout", self.header_timeout)
        for name in ("min_request_body_rate", "min_response_rate"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, MinDataRate):
                raise ValueError(f"{name} must be a MinDataRate or None, not {value!r}")
        _positive("read_timeout", self.read_timeout, allow_none=True)
        _positive("h2_max_concurrent_streams", self.h2_max_concurrent_streams)
        _positive("backlog", self.backlog)
        _count("max_concurrency", self.max_concurrency, allow_none=True)
        _count("max_queued", self.max_queued)
        _count("max_connections", self.max_connections, allow_none=True)
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("TLS needs both certfile and keyfile")
        if self.ssl_context is not None:
            if not isinstance(self.ssl_context, ssl.SSLContext):
                raise ValueError(f"ssl_context must be an ssl.SSLContext, not {self.ssl_context!r}")
            if self.certfile is not None:
                raise ValueError("give ssl_context or certfile/keyfile, not both")
        if self.transport not in ("auto", "httptools", "hypercorn"):
            raise ValueError(
                f"unknown transport {self.transport!r}: use 'auto', 'httptools' or 'hypercorn'"
            )
        _check_sockets(self.sockets)
        for name in ("auto_decompress", "tcp_keepalive"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, not {getattr(self, name)!r}")
        _count("read_bufsize", self.read_bufsize)
        if (
            isinstance(self.lingering_time, bool)
            or not isinstance(self.lingering_time, int | float)
            or not self.lingering_time >= 0
        ):
            raise ValueError(f"lingering_time must be >= 0 seconds, not {self.lingering_time!r}")

    @property
    def tls(self) -> bool:
        """Whether clients are served over TLS (``https://``)."""
        return self.ssl_context is not None or self.certfile is not None

    @property
    def transport_name(self) -> str:
        """The transport ``"auto"`` stands for: httptools, with or without TLS."""
        return "httptools" if self.transport == "auto" else self.transport


def _check_sockets(sockets: object) -> None:
    if not isinstance(sockets, tuple):
        raise ValueError(f"sockets must be a tuple of sockets, not {sockets!r}")
    for sock in sockets:
        if not isinstance(sock, socket.socket):
            raise ValueError(f"sockets must hold socket.socket objects, not {sock!r}")
        if sock.fileno() < 0:
            raise ValueError(f"{sock!r} is closed")
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            raise ValueError(f"{sock!r} is not a TCP socket (IPv4 or IPv6)")
        if sock.getsockname()[1] == 0:
            raise ValueError(f"{sock!r} is not bound to a port")


@dataclass(frozen=True, slots=True)
class StopServer:
    """Stop accepting, let in-flight requests finish within ``grace`` seconds, then cut them."""

    grace: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.grace, bool) or not isinstance(self.grace, int | float):
            raise ValueError(f"grace must be a number of seconds, not {self.grace!r}")
        if not self.grace >= 0:
            raise ValueError(f"grace must be >= 0, not {self.grace}")


@dataclass(frozen=True, slots=True)
class AddRoute:
    """Add a route while serving; with no handler, its requests go to the driver's outbox.

    ``done``, if given, is called once the router actor has taken the
    command: with ``None``, or with the error that refused it (the error
    also comes back as a ``CommandFailed`` event). ``handler_timeout``
    (seconds) overrides the application's for this route (504 past it).
    """

    methods: tuple[str, ...]
    path: str
    handler: Target | None = None
    name: str | None = None
    done: Callable[[Exception | None], None] | None = field(default=None, compare=False)
    handler_timeout: float | None = None

    def __init__(
        self,
        methods: str | Iterable[str],
        path: str,
        handler: Target | None = None,
        name: str | None = None,
        done: Callable[[Exception | None], None] | None = None,
        *,
        handler_timeout: float | None = None,
    ) -> None:
        names = (methods,) if isinstance(methods, str) else tuple(methods)
        if not names or not all(isinstance(m, str) and m for m in names):
            raise ValueError(f"methods must be non-empty method names, not {methods!r}")
        object.__setattr__(self, "methods", tuple(m.upper() for m in names))
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "handler", handler)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "done", done)
        _positive("handler_timeout", handler_timeout, allow_none=True)
        object.__setattr__(self, "handler_timeout", handler_timeout)


@dataclass(frozen=True, slots=True)
class CancelRequests:
    """Server actor to router actor: cancel every request still being handled."""


Command: TypeAlias = StartServer | StopServer | AddRoute
"""What a program sends the server actor on its command channel."""


# -- events ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerStarted:
    """The server is listening; ``urls`` name the addresses really bound."""

    urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServerStopped:
    """The server has stopped: no listener, no connection, no request in flight."""


@dataclass(frozen=True, slots=True)
class CommandFailed:
    """A command could not be carried out; ``error`` says why. The actor goes on."""

    command: object
    error: str


Event: TypeAlias = ServerStarted | ServerStopped | CommandFailed
"""What the server actor reports on its outbox, beside the requests."""
