"""Sans-IO HTTP/1.1 request parsing: httptools (llhttp) plus the rules llhttp leaves to us.

:class:`H1Parser` takes bytes and yields events in order: a :class:`Head`
when a request's headers are complete, ``bytes`` for body data, :data:`END`
when the message ends, and a :class:`Refusal` when the input breaks a rule.
A refusal ends the connection: after it, the parser takes no more input.

Beyond llhttp's own checks it enforces size limits (while the head is still
arriving, so memory stays bounded), the request-target forms of RFC 9112
§3.2, exactly one ``Host`` in HTTP/1.1, no duplicate singleton fields, no
``Transfer-Encoding`` in HTTP/1.0, no underscore look-alikes of framing
fields, and no framing, routing or auth fields in trailers. No trio here.

A request that asks to switch protocols (``Connection: upgrade`` with an
``Upgrade`` field) stops the parsing: its :class:`Head`, body and
:data:`END` come out, and the bytes after it are kept in
:attr:`H1Parser.upgrade_data` (with what arrives later) for the protocol
that may take over. If the upgrade is declined (answered with an ordinary
response), :meth:`H1Parser.resume` parses them as HTTP/1.1 again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple

import httptools

__all__ = ["END", "H1Limits", "H1Parser", "Head", "Refusal", "origin_form"]


@dataclass(frozen=True, slots=True)
class H1Limits:
    """Size limits of one request head; the defaults are gunicorn's."""

    max_request_line: int = 4094  # bytes with CRLF; 414 past it
    max_header_line: int = 8190  # bytes of "name: value\r\n"; 431 past it
    max_headers: int = 100  # fields; 431 past it
    max_header_size: int = 64 * 1024  # request line and every field together; 431 past it


class Head(NamedTuple):
    """A request's line and headers, checked (a tuple: made once per request, cheaply)."""

    method: str
    target: bytes  # origin-form: path and query as sent
    http_version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    expect_continue: bool
    content_length: int | None
    chunked: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    """Input that breaks a rule: answer ``status`` and close."""

    status: int
    reason: str


class _End:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END"


END: Final = _End()
Event = Head | bytes | _End | Refusal

_SINGLETONS = frozenset({b"host", b"content-length", b"content-type", b"transfer-encoding"})
_FRAMING_OR_EXPECT = frozenset({b"content-length", b"transfer-encoding", b"expect"})
_NOTED = _SINGLETONS | _FRAMING_OR_EXPECT  # fields whose presence the head's checks note
_FRAMING_ALIASES = frozenset({b"content_length", b"transfer_encoding"})
_CHECKED = _NOTED | _FRAMING_ALIASES
_NOTHING_SEEN: frozenset[bytes] = frozenset()
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}
_FORBIDDEN_TRAILERS = frozenset(
    {
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"connection",
        b"keep-alive",
        b"upgrade",
        b"expect",
        b"authorization",
        b"proxy-authorization",
        b"cookie",
        b"content-type",
        b"content-encoding",
        b"content-range",
        b"range",
        b"max-forwards",
        b"cache-control",
    }
)


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.refusal = Refusal(status, reason)


class H1Parser:
    """Feed bytes with :meth:`feed`, take events with :meth:`next_event`."""

    __slots__ = (
        "_done",
        "_eof",
        "_head_bytes",
        "_headers",
        "_in_head",
        "_in_message",
        "_limits",
        "_parser",
        "_trailers",
        "_upgrade_body_left",
        "_url",
        "events",
        "upgrade_data",
    )

    def __init__(self, limits: H1Limits = H1Limits()) -> None:
        self._limits = limits
        self._parser = httptools.HttpRequestParser(self)
        # A list, not a deque: it holds a handful of events, and an empty deque
        # costs an idle connection ten times the memory of an empty list.
        self.events: list[Event] = []
        self.upgrade_data: bytes | None = None  # after an upgrade request: the bytes past it
        self._done = False
        self._eof = False
        self._upgrade_body_left = 0
        self._in_message = False  # between the first byte of a request and its end
        self._in_head = False  # between the first byte of a request and its headers' end
        self._head_bytes = 0
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._trailers = False

    @classmethod
    def finished(cls) -> H1Parser:
        """A parser that parses nothing more (what an upgraded connection keeps)."""
        parser = cls()
        parser.release()
        return parser

    def release(self) -> None:
        """Parse nothing more, and let llhttp's parser go now (once the connection is over,
        or speaks another protocol).

        llhttp's parser holds this one's callbacks and this one holds it: a
        reference cycle, which only the cyclic collector would free, and every
        such cycle left behind brings the collector's next full pass nearer (at
        10,000 WebSockets, a pass over all of them).
        """
        self._done = True
        try:
            del self._parser
        except AttributeError:
            pass  # let go already

    @property
    def in_message(self) -> bool:
        """True while a request has begun and not ended: EOF now is a truncated request."""
        return self._in_message

    @property
    def done(self) -> bool:
        """True after a refusal, the client's EOF or an upgrade request (until resumed)."""
        return self._done

    @property
    def upgrade_pending(self) -> bool:
        """True after an upgrade request, until :meth:`resume`: the bytes wait for the answer."""
        return self.upgrade_data is not None and not self._eof

    def _take_upgrade_bytes(self, data: bytes) -> None:
        """After an upgrade request: its declared body first, then the bytes kept."""
        left = self._upgrade_body_left
        if left:
            body, data = data[:left], data[left:]
            if body:
                self.events.append(body)
            self._upgrade_body_left = left = left - len(body)
            if left:
                return
            self._in_message = False
            self.events.append(END)
        elif self.events and isinstance(self.events[-1], Head):
            self.events.append(END)  # the upgrade request had no body
        assert self.upgrade_data is not None
        # Bounded: bytes are read while its handler runs only by the disconnect watch, once.
        self.upgrade_data += data

    def resume(self) -> None:
        """The upgrade was declined: parse what followed the request as HTTP/1.1 again."""
        tail = self.upgrade_data or b""
        self.upgrade_data = None
        self._done = False
        self._parser = httptools.HttpRequestParser(self)
        self._in_message = self._in_head = False
        self._head_bytes = 0
        if tail:
            self.feed(tail)

    def feed(self, data: bytes) -> None:
        """Parse ``data``; events (and at most one refusal, last) go to :attr:`events`.

        After an upgrade request the bytes are kept for whoever takes over.
        """
        if self.upgrade_pending:
            self._take_upgrade_bytes(data)
            return
        if self._done:
            return
        if self._in_head or not self._in_message:
            # Bound what httptools buffers for a head that never ends.
            self._head_bytes += len(data)
            if self._head_bytes > self._limits.max_header_size + self._limits.max_request_line:
                self._refuse(431, "request header fields too large")
                return
        try:
            self._parser.feed_data(data)
        except _Refused as exc:
            self._refuse(exc.refusal.status, exc.refusal.reason)
        except httptools.HttpParserUpgrade as exc:
            # The request asks to switch protocols (a WebSocket handshake): the bytes
            # after it are kept for the new protocol, or for resume() if it is declined.
            # llhttp stops right after the head: a body the request declares is ours.
            offset = exc.args[0] if exc.args else len(data)
            self._done = True
            self.upgrade_data = b""
            events = self.events
            if events and events[-1] is END:
                events.pop()  # llhttp ends the message at its head; we end it after its body
            head = events[-1] if events else None
            if isinstance(head, Head) and head.chunked:
                self._refuse(400, "a request to switch protocols with a chunked body")
                return
            self._upgrade_body_left = head.content_length or 0 if isinstance(head, Head) else 0
            self._in_message = self._upgrade_body_left > 0
            self._take_upgrade_bytes(bytes(data[offset:]))
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refused):
                self._refuse(cause.refusal.status, cause.refusal.reason)
            else:
                self._refuse(400, f"malformed request: {exc}")

    def feed_eof(self) -> None:
        """The client closed its side; a request cut short is refused."""
        if self._in_message and not self._done:
            self._refuse(400, "connection closed in the middle of a request")
        self._done = True
        self._eof = True

    def _refuse(self, status: int, reason: str) -> None:
        self.events.append(Refusal(status, reason))
        self._done = True

    # -- httptools callbacks ------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._in_head = True
        self._trailers = False  # the head's own fields were handed to its Head: none held

    def on_url(self, url: bytes) -> None:
        self._url += url
        # The shortest method (one letter) gives the shortest possible line: past the
        # limit even so, refuse now; the exact length is checked with the whole head.
        if len(self._url) + 13 > self._limits.max_request_line:  # "M URL HTTP/1.1\r\n"
            raise _Refused(414, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._trailers:
            if name.lower() in _FORBIDDEN_TRAILERS:
                raise _Refused(400, f"{name.decode('latin-1')} is not allowed in a trailer")
            return  # other trailer fields are dropped: nothing reads them
        # Checked all at once when the head is complete: feed() bounds the head's bytes
        # meanwhile, so holding them costs at most max_header_size.
        self._headers.append((name, value))

    def _check_fields(self) -> frozenset[bytes]:
        """The size, count and repetition rules over the whole head; the noted names seen."""
        limits = self._limits
        headers = self._headers
        if len(headers) > limits.max_headers:
            raise _Refused(431, f"more than {limits.max_headers} header fields")
        total = len(self._url)
        line_limit = limits.max_header_line
        seen: set[bytes] = set()
        for name, value in headers:
            size = len(name) + len(value) + 4
            if size > line_limit:
                raise _Refused(431, f"header field {name[:64].decode('latin-1')} too large")
            total += size
            lowered = name.lower()
            if lowered in _CHECKED:
                if lowered in _FRAMING_ALIASES:
                    raise _Refused(400, f"ambiguous header name {name.decode('latin-1')}")
                if lowered in seen and lowered in _SINGLETONS:
                    raise _Refused(400, f"more than one {name.decode('latin-1')} field")
                seen.add(lowered)
        if total > limits.max_header_size:
            raise _Refused(431, "request header fields too large")
        return frozenset(seen) if seen else _NOTHING_SEEN

    def on_headers_complete(self) -> None:
        parser = self._parser
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise _Refused(400, f"HTTP/{version} is not HTTP/1.0 or HTTP/1.1")
        raw_method = parser.get_method()
        if len(self._url) + 12 + len(raw_method) > self._limits.max_request_line:
            raise _Refused(414, "request line too long")
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        target = _origin_form(method, self._url)
        seen = self._check_fields()
        if version == "1.1" and b"host" not in seen:
            raise _Refused(400, "HTTP/1.1 request without a Host field")
        length: int | None = None
        chunked = False
        expect_continue = False
        # A second look at the fields only when framing or Expect is among them.
        for name, value in () if seen.isdisjoint(_FRAMING_OR_EXPECT) else self._headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)  # llhttp has checked it is 1*DIGIT
            elif lowered == b"transfer-encoding":
                if version == "1.0":
                    raise _Refused(400, "Transfer-Encoding in an HTTP/1.0 request")
                chunked = True  # llhttp only lets a final "chunked" through
            elif lowered == b"expect":
                if value.lower() != b"100-continue":
                    raise _Refused(417, f"cannot meet Expect: {value.decode('latin-1')}")
                expect_continue = version == "1.1"
        self._in_head = False
        self._head_bytes = 0
        self._trailers = True
        self.events.append(
            Head(
                method,
                target,
                version,
                self._headers,
                parser.should_keep_alive(),
                expect_continue,
                length,
                chunked,
            )
        )
        # The head now belongs to the Head event: an idle connection keeps none of it.
        self._url = b""
        self._headers = []

    def on_body(self, body: bytes) -> None:
        self.events.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self.events.append(END)


def origin_form(method: str, target: bytes) -> bytes | Refusal:
    """The path and query of a request ``target`` (RFC 9112 3.2), or the 400 to answer.

    Origin-form (``/path?q``) is taken as it is, ``*`` for OPTIONS only, and
    the absolute-form a server MUST accept (``http://host/path?q``, 3.2.2)
    becomes its path and query; the authority-form is a proxy's.
    """
    try:
        return _origin_form(method, target)
    except _Refused as exc:
        return exc.refusal


def _origin_form(method: str, target: bytes) -> bytes:
    """The path and query of ``target``, or a 400 for a form this server does not take."""
    if target.startswith(b"/"):
        return target
    if target == b"*":
        if method != "OPTIONS":
            raise _Refused(400, "'*' is a target for OPTIONS only")
        return target
    if target[:7].lower() == b"http://" or target[:8].lower() == b"https://":
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            raise _Refused(400, "malformed absolute-form target") from None
        if not url.host:
            raise _Refused(400, "absolute-form target without a host")
        path = url.path or b"/"
        return path + b"?" + url.query if url.query else path
    raise _Refused(400, "request target must be a path, '*', or an http(s) URL")
