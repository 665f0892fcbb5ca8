"""Every message the actors exchange: commands in, events out, requests and responses.

All are frozen, slotted dataclasses. A :class:`Request` carries its own
one-shot ``reply`` channel: whoever holds the request answers by sending one
:class:`Response` on it and closing it, and the server turns that into the
HTTP answer. Closing ``reply`` without a response gets the client a 500.

Imports only the standard library, trio's channel types and actorhttp's
stdlib-only value types, so a transport can build these without knowing
about routers or applications.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import trio

from ._body import BodyReader
from ._exceptions import HTTPBadRequest
from ._headers import Headers
from ._query import Query

__all__ = [
    "AddRoute",
    "CancelRequests",
    "Command",
    "CommandFailed",
    "Event",
    "Handler",
    "Mailbox",
    "Request",
    "Response",
    "ServerStarted",
    "ServerStopped",
    "StartServer",
    "StopServer",
    "Target",
    "TransportName",
    "open_reply_channel",
]

MiB = 1024 * 1024
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_TEXT_PLAIN = ("content-type", "Content-Type", "text/plain; charset=utf-8")
_EMPTY: Mapping[str, str] = MappingProxyType({})


# -- request and response ---------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Request:
    """One HTTP request, as the server actor pushes it, with the channel to answer on.

    ``path`` is percent-decoded, ``raw_path`` is as the client sent it.
    ``match_info`` holds the decoded ``{name}`` parts once the router has
    resolved the path; ``app`` is the Application serving it (``None`` in the
    bare driver). ``request[key] = value`` stores per-request data for
    middlewares, as in aiohttp.
    """

    method: str
    path: str
    raw_path: str
    query_string: str
    headers: Headers
    content: BodyReader
    reply: trio.MemorySendChannel[Response]
    scheme: str = "http"
    http_version: str = "1.1"
    client: tuple[str, int] | None = None
    match_info: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    app: Any = None
    state: dict[str, Any] = field(default_factory=dict)

    def routed(self, match_info: Mapping[str, str], app: Any) -> Request:
        """This request as the router hands it on: with its ``match_info`` and ``app``."""
        # Positional and direct: dataclasses.replace costs several times more per request.
        return Request(
            self.method,
            self.path,
            self.raw_path,
            self.query_string,
            self.headers,
            self.content,
            self.reply,
            self.scheme,
            self.http_version,
            self.client,
            match_info,
            app,
            self.state,
        )

    @property
    def query(self) -> Query:
        return Query(self.query_string)

    @property
    def host(self) -> str | None:
        return self.headers.get("Host")

    @property
    def content_type(self) -> str:
        """The media type of the body, lowercased, without parameters."""
        value = self.headers.get("Content-Type", "application/octet-stream")
        return value.partition(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        return _charset(self.headers.get("Content-Type", ""))

    @property
    def content_length(self) -> int | None:
        return parse_content_length(self.headers.get("Content-Length"))

    @property
    def body_exists(self) -> bool:
        return not self.content.at_eof() or self.content.received > 0

    async def read(self) -> bytes:
        """The rest of the body; 413 once it passes the size limit."""
        return await self.content.read()

    async def text(self) -> str:
        """The body decoded with its charset (UTF-8 by default); 400 if it does not decode."""
        body = await self.read()
        charset = self.charset or "utf-8"
        try:
            return body.decode(charset)
        except (UnicodeDecodeError, LookupError) as exc:
            raise HTTPBadRequest(text=f"request body is not valid {charset}: {exc}") from exc

    async def json(self, *, loads: Callable[[str], Any] = json.loads) -> Any:
        """The body parsed as JSON; 400 if it is not JSON."""
        text = await self.text()
        try:
            return loads(text)
        except ValueError as exc:
            raise HTTPBadRequest(text=f"request body is not valid JSON: {exc}") from exc

    def __getitem__(self, key: str) -> Any:
        return self.state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.state[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self.state

    def get(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"


def parse_content_length(value: str | None) -> int | None:
    """A ``Content-Length`` value as an int; ``None`` unless it is 1*DIGIT (ASCII only)."""
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


@dataclass(frozen=True, slots=True, init=False, eq=False)
class Response:
    """An HTTP response: status, headers and a body of bytes, or a stream of them.

    Built as in aiohttp: ``Response(text="hi")`` is ``text/plain; charset=utf-8``,
    ``Response(body=b"...")`` defaults to ``application/octet-stream``.
    ``Response(stream=chunks)`` sends each piece of an async iterable as it
    comes (HTTP/1.1 chunked encoding); ``body`` is then ``b""``, and an error
    raised by the stream after sending has begun cuts the connection.
    ``headers`` stays editable, so middlewares can add to it; names and values
    with CR or LF raise ``ValueError``. ``Content-Length`` and
    ``Transfer-Encoding`` are computed on sending, never taken from ``headers``.
    """

    status: int
    reason: str
    headers: Headers
    body: bytes
    stream: AsyncIterable[bytes] | None

    def __init__(
        self,
        *,
        body: bytes | bytearray | memoryview | None = None,
        status: int = 200,
        reason: str | None = None,
        text: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
        charset: str | None = None,
        stream: AsyncIterable[bytes] | None = None,
    ) -> None:
        if stream is not None:
            if body is not None or text is not None:
                raise ValueError("give body, text or stream, only one")
            if not hasattr(stream, "__aiter__"):
                raise TypeError(f"stream must be an async iterable of bytes, not {stream!r}")
            if content_type is None and (headers is None or "Content-Type" not in headers):
                content_type = "application/octet-stream"
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
            raise ValueError(f"status must be an int from 100 to 999, not {status!r}")
        if reason is None:
            reason = _PHRASES.get(status, "")
        elif "\r" in reason or "\n" in reason:
            raise ValueError(f"reason {reason!r} has a CR or LF")
        if headers is None:
            hdrs = Headers._trusted(())
        elif isinstance(headers, Headers):
            hdrs = headers.copy()
        else:
            hdrs = Headers(headers)
        if text is not None and body is not None:
            raise ValueError("give body or text, not both")
        if (content_type is not None or charset is not None) and "Content-Type" in hdrs:
            raise ValueError("give content_type and charset or a Content-Type header, not both")
        if text is not None:
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
            if headers is None and content_type is None and charset is None:
                # The common case, with nothing of the user's to check.
                hdrs._items.append(_TEXT_PLAIN)
                charset = "utf-8"
            else:
                charset = charset or _charset(hdrs.get("Content-Type", "")) or "utf-8"
                if "Content-Type" not in hdrs:
                    # add, not []=: the name is known absent, and add checks the value too.
                    hdrs.add("Content-Type", f"{content_type or 'text/plain'}; charset={charset}")
            data = text.encode(charset)
        else:
            if body is not None and not isinstance(body, bytes | bytearray | memoryview):
                raise TypeError(f"body must be bytes, not {type(body).__name__}")
            data = bytes(body) if body is not None else b""
            if "Content-Type" not in hdrs and (body is not None or content_type is not None):
                value = content_type or "application/octet-stream"
                hdrs.add("Content-Type", f"{value}; charset={charset}" if charset else value)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "headers", hdrs)
        object.__setattr__(self, "body", data)
        object.__setattr__(self, "stream", stream)

    @property
    def text(self) -> str:
        if self.stream is not None:
            raise TypeError("a streamed response has no text until it is sent")
        return self.body.decode(self.charset or "utf-8")

    @property
    def content_type(self) -> str:
        value = self.headers.get("Content-Type", "application/octet-stream")
        return value.partition(";")[0].strip()

    @property
    def charset(self) -> str | None:
        return _charset(self.headers.get("Content-Type", ""))

    @property
    def content_length(self) -> int | None:
        """The body's length; ``None`` for a stream, whose length is known only at its end."""
        return None if self.stream is not None else len(self.body)

    def __repr__(self) -> str:
        size = "streamed" if self.stream is not None else f"{len(self.body)} bytes"
        return f"<Response {self.status} {self.reason} ({size})>"


def open_reply_channel() -> tuple[
    trio.MemorySendChannel[Response], trio.MemoryReceiveChannel[Response]
]:
    """A fresh one-shot reply channel: room for its one response, so answering never blocks."""
    # Not open_memory_channel[Response](1): subscripting builds a typing alias every call.
    pair: tuple[trio.MemorySendChannel[Response], trio.MemoryReceiveChannel[Response]]
    pair = trio.open_memory_channel(1)
    return pair


Handler: TypeAlias = Callable[[Request], Awaitable[Response]]
"""An ``async def handler(request) -> Response``."""

Mailbox: TypeAlias = trio.MemorySendChannel[Request]
"""An actor's inbox: requests sent there are answered on ``request.reply``."""

Target: TypeAlias = Handler | Mailbox
"""What a route leads to: a handler run in its own task, or an actor's mailbox."""


# -- commands ----------------------------------------------------------------

TransportName: TypeAlias = Literal["auto", "httptools", "hypercorn"]


def _positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")


@dataclass(frozen=True, slots=True)
class StartServer:
    """Bind ``host:port`` (port 0 picks a free one) and start serving.

    ``transport`` picks how clients are reached: ``"httptools"`` (HTTP/1.1,
    fastest and strictest), ``"hypercorn"`` (HTTP/1.1, HTTP/2, TLS), or
    ``"auto"``: httptools, or hypercorn when TLS is asked for.

    Limits: ``client_max_size`` bounds request bodies (413);
    ``max_header_size`` the request line and headers together (431);
    ``keep_alive_timeout`` idle connections. The httptools transport also
    enforces ``max_request_line`` (414), ``max_header_line`` and
    ``max_headers`` (431), ``header_timeout`` for a request's head and
    ``body_timeout`` for its whole body (408); hypercorn has its
    ``read_timeout`` and ``h2_max_concurrent_streams``.
    ``certfile``/``keyfile`` switch on TLS.
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
    body_timeout: float = 60.0
    read_timeout: float | None = None
    h2_max_concurrent_streams: int = 100
    backlog: int = 100
    certfile: str | None = None
    keyfile: str | None = None
    transport: TransportName = "auto"

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
        _positive("body_timeout", self.body_timeout)
        _positive("read_timeout", self.read_timeout, allow_none=True)
        _positive("h2_max_concurrent_streams", self.h2_max_concurrent_streams)
        _positive("backlog", self.backlog)
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("TLS needs both certfile and keyfile")
        if self.transport not in ("auto", "httptools", "hypercorn"):
            raise ValueError(
                f"unknown transport {self.transport!r}: use 'auto', 'httptools' or 'hypercorn'"
            )
        if self.transport == "httptools" and self.certfile is not None:
            raise ValueError("the httptools transport has no TLS: use transport='hypercorn'")

    @property
    def transport_name(self) -> str:
        """The transport ``"auto"`` stands for: hypercorn for TLS, httptools otherwise."""
        if self.transport != "auto":
            return self.transport
        return "hypercorn" if self.certfile is not None else "httptools"


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
    """Add a route while serving; with no handler, its requests go to the driver's outbox."""

    methods: tuple[str, ...]
    path: str
    handler: Target | None = None
    name: str | None = None

    def __init__(
        self,
        methods: str | Iterable[str],
        path: str,
        handler: Target | None = None,
        name: str | None = None,
    ) -> None:
        names = (methods,) if isinstance(methods, str) else tuple(methods)
        if not names or not all(isinstance(m, str) and m for m in names):
            raise ValueError(f"methods must be non-empty method names, not {methods!r}")
        object.__setattr__(self, "methods", tuple(m.upper() for m in names))
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "handler", handler)
        object.__setattr__(self, "name", name)


@dataclass(frozen=True, slots=True)
class CancelRequests:
    """Server actor to router actor: cancel every request still being handled."""


Command: TypeAlias = StartServer | StopServer | AddRoute


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
