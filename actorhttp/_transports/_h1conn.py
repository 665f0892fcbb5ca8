"""The HTTP/1.1 connection as a sans-IO state machine: bytes and events in, bytes and decisions out.

:class:`H1Connection` sits on :class:`~._h1.H1Parser` (llhttp). The trio task
around it feeds what it reads (``receive_data``), takes events
(``next_event``), and sends the bytes this returns for a response
(``response_bytes``, ``data_bytes``, ``end_bytes``). Everything HTTP/1.1
asks of a server is decided here, in the style of h11's ``Connection``:

* one request at a time: while a response is pending, ``next_event`` gives
  :data:`PAUSED`, so pipelined requests are answered in order;
* keep-alive: ``cycle()`` says whether another request may follow (not
  after ``Connection: close``, a refused request, a stop, or a body left
  unread that has not arrived whole);
* framing from :mod:`._framing`: Content-Length, chunked, close-delimited;
* ``Expect: 100-continue``: ``continue_bytes()`` gives the 100 once, when
  the handler starts reading, so a 413 can still refuse an upload unsent;
* upgrade: a request asking to switch protocols is answered before what
  follows it is parsed. Answered with ``switch_protocols()`` (a 101), the
  connection is the new protocol's from then on (``phase`` UPGRADED),
  starting with the bytes that followed the request (``upgrade_data``).
  Answered with an ordinary response (declined, as aiohttp allows), the
  connection goes on as HTTP/1.1: a request pipelined behind it is served.

Deadlines are state, not timers: :attr:`deadline` is the time by which the
client must have made progress in the current phase (idle: keep-alive
timeout; head arriving: header timeout), and :meth:`timed_out` says what
passing it means. No trio, no I/O.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from time import time
from typing import Final

from .._web._response import Response, StreamResponse
from ._framing import _OWNED, Wire
from ._h1 import END, H1Limits, H1Parser, Head, Refusal, _End

__all__ = [
    "CONTINUE",
    "NEED_DATA",
    "PAUSED",
    "H1Connection",
    "H1Timeouts",
    "Phase",
]

CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""Nothing to give until more bytes arrive (or the client's EOF)."""
PAUSED: Final = _Sentinel("PAUSED")
"""A response is still pending: the next request waits for it (pipelining keeps order)."""


class Phase(enum.Enum):
    IDLE = "idle"  # waiting for a request to begin
    HEAD = "head"  # a request's head is arriving
    HANDLING = "handling"  # a request is with the application, or its answer is going out
    UPGRADED = "upgraded"  # switched to another protocol (a WebSocket): no HTTP/1.1 any more
    CLOSED = "closed"  # nothing more on this connection


@dataclass(frozen=True, slots=True)
class H1Timeouts:
    """Seconds the client gets in each phase."""

    keep_alive: float = 5.0  # idle between requests: then the connection closes quietly
    header: float = 10.0  # for a request's head, from its first byte: then 408


class _Clock:
    """The Date header, formatted once a second rather than once a request."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def date(self) -> bytes:
        now = int(time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
        return self._value


_clock = _Clock()
_UPGRADED: Final = H1Parser.finished()  # every upgraded connection's parser: it parses nothing
_DEFAULT_LIMITS = H1Limits()
_DEFAULT_TIMEOUTS = H1Timeouts()


class H1Connection:
    """One HTTP/1.1 connection's state; see the module docstring."""

    __slots__ = (
        "_body_done",
        "_body_refused",
        "_continue_pending",
        "_head",
        "_keep_alive",
        "_parser",
        "_timeouts",
        "deadline",
        "phase",
        "stopping",
    )

    def __init__(
        self,
        limits: H1Limits = _DEFAULT_LIMITS,
        timeouts: H1Timeouts = _DEFAULT_TIMEOUTS,
        *,
        now: float,
    ) -> None:
        self._parser = H1Parser(limits)
        self._timeouts = timeouts
        self.phase = Phase.IDLE
        self.deadline = now + timeouts.keep_alive
        self.stopping = False
        self._head: Head | None = None
        self._body_done = True
        self._body_refused = False
        self._continue_pending = False
        self._keep_alive = True

    # -- receiving -------------------------------------------------------------

    def release(self) -> None:
        """The connection is over: its parser is let go at once (``H1Parser.release``)."""
        self._parser.release()

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the client; ``b""`` is its EOF."""
        if not data:
            self._parser.feed_eof()
            return
        if self.phase is Phase.IDLE:
            self.phase = Phase.HEAD
            self.deadline = now + self._timeouts.header
        self._parser.feed(data)

    def next_event(self) -> Head | bytes | _End | Refusal | _Sentinel | None:
        """The next thing to act on.

        A :class:`Head` starts a request (``phase`` becomes HANDLING);
        ``bytes`` and :data:`END` are its body; a :class:`Refusal` is to be
        answered with :meth:`refusal_bytes`, then the connection closes.
        :data:`NEED_DATA` asks for bytes; :data:`PAUSED` means a response is
        pending; ``None`` means the connection is over (EOF, or after a refusal).
        """
        events = self._parser.events
        if self.phase is Phase.CLOSED:
            return None
        if self._head is not None:
            # A request is being handled: only its body comes out.
            if events and not isinstance(events[0], Head):
                event = events.pop(0)
                if event is END:
                    self._body_done = True
                elif isinstance(event, Refusal):
                    self._body_refused = True
                return event
            if self._body_done:
                return PAUSED
            parser = self._parser
            # An upgrade request's body comes after llhttp has stopped: still to read.
            return None if parser.done and not parser.upgrade_pending else NEED_DATA
        if events:
            event = events.pop(0)
            if isinstance(event, Head):
                self._start(event)
            elif isinstance(event, Refusal):
                self.phase = Phase.CLOSED
            return event
        if self._parser.done or self.stopping:
            self.phase = Phase.CLOSED
            return None
        return NEED_DATA

    def _start(self, head: Head) -> None:
        self._head = head
        self.phase = Phase.HANDLING
        self.deadline = math.inf  # a handler takes the time it takes
        self._body_done = head.content_length in (None, 0) and not head.chunked
        self._body_refused = False
        self._continue_pending = head.expect_continue and not self._body_done
        events = self._parser.events
        if self._body_done and events and events[0] is END:
            events.pop(0)

    @property
    def body_done(self) -> bool:
        """True once the current request's body has been received whole (or it had none)."""
        return self._body_done

    @property
    def in_message(self) -> bool:
        """True while a request's bytes are arriving: an EOF now cuts it short."""
        return self._parser.in_message

    def continue_bytes(self) -> bytes:
        """``100 Continue`` the first time the handler reads a body that expects it; else b""."""
        if self._continue_pending:
            self._continue_pending = False
            return CONTINUE
        return b""

    # -- sending ---------------------------------------------------------------

    def _decide_keep_alive(self, head: Head, close: bool) -> bool:
        """Whether the connection stays open after this answer, as its head must say.

        Not after a close asked for by either side, a refused body, a stop, or a
        body left unread whose rest has not arrived (it cannot be skipped safely).
        """
        self._continue_pending = False  # never a 100 after the final answer (RFC 9110 15.2.1)
        parser = self._parser
        self._keep_alive = keep = (
            head.keep_alive
            and not close
            and not self._body_refused
            and (not parser.done or parser.upgrade_pending)  # a declined upgrade goes on
            and not self.stopping
            and (self._body_done or END in parser.events)
        )
        return keep

    def plain_response_bytes(self, response: StreamResponse) -> bytes | None:
        """The bytes of a plain answer (a ``Response`` with a whole body), or None.

        What most answers are, sent without building a ``Wire``: the status
        line and the response's own fields are encoded once per distinct set
        and kept (:data:`_PLAIN_HEADS`); only the length, Connection and Date
        are added each time. None means the answer needs the general framing
        (``response_bytes``): a stream, compression, cookies, HEAD or a status
        without a body, or a field the server owns among the response's.
        """
        if (
            type(response) is not Response
            or response._pipe is not None
            or response._body_stream is not None
            or response._compression
            or response._wire_cookies
            or response._keep_alive is not None
        ):
            return None
        head = self._head
        assert head is not None, "no request to answer"
        status = response._status
        if (
            status < 200
            or status == 204
            or status == 304
            or head.method == "HEAD"
            or head.http_version == "1.0"  # answered as HTTP/1.0: not the cached 1.1 heads
        ):
            return None
        key = (status, response._reason, tuple(response._headers.items()))
        prefix = _PLAIN_HEADS.get(key)
        if prefix is None:
            prefix = _plain_prefix(key)
        if not prefix:
            return None
        body = response._body
        body = b"" if body is None else bytes(body)  # made bytes at hand-over: no copy
        keep = self._decide_keep_alive(head, False)
        connection = b"" if keep else b"Connection: close\r\n"
        return b"%sContent-Length: %d\r\n%sDate: %s\r\n\r\n%s" % (
            prefix,
            len(body),
            connection,
            _clock.date(),
            body,
        )

    def response_bytes(self, wire: Wire) -> bytes:
        """The head (and whole body, if any) of the current request's response.

        Decides keep-alive now (see :meth:`_decide_keep_alive`).
        """
        head = self._head
        assert head is not None, "no request to answer"
        self._decide_keep_alive(head, wire.close)
        # As aiohttp: an HTTP/1.0 request is answered in HTTP/1.0, kept alive only when it
        # asked to be (llhttp's keep_alive says so), and then told it is.
        parts = [f"HTTP/{head.http_version} {wire.status} {wire.reason}\r\n"]
        for name, value in wire.headers:
            parts.append(f"{name}: {value}\r\n")
        if head.http_version == "1.0":
            if self._keep_alive:
                parts.append("Connection: keep-alive\r\n")  # else closing is 1.0's default
        elif not self._keep_alive:
            parts.append("Connection: close\r\n")
        data = "".join(parts).encode("utf-8")
        if not wire.has_date:
            data += b"Date: " + _clock.date() + b"\r\n"
        data += b"\r\n"
        return data + wire.body if wire.body else data

    def data_bytes(self, wire: Wire, data: bytes) -> bytes:
        """A piece of a streamed body as it goes on the wire (``ValueError`` past its length)."""
        return _piece(wire, wire.encode(data))

    def end_bytes(self, wire: Wire) -> bytes:
        """The end of a streamed body: the compressor's tail, the last chunk.

        ``ValueError`` if a declared Content-Length was not reached.
        """
        tail = _piece(wire, wire.finish())
        if wire.chunked and wire.send_body:
            return tail + b"0\r\n\r\n"
        return tail

    @property
    def upgrade_requested(self) -> bool:
        """True if the current request asks to switch protocols (llhttp saw the upgrade)."""
        return self._parser.upgrade_data is not None

    def switch_protocols(self, wire: Wire) -> bytes:
        """The 101 that hands this connection to the protocol the request asked for.

        From here on the connection is that protocol's (``phase`` UPGRADED, no
        deadline, no HTTP parser); its first bytes are what ``upgrade_data`` was
        before this call.
        """
        upgrade_data = self._parser.upgrade_data
        assert self._head is not None, "no request to answer"
        assert upgrade_data is not None, "the request asked for no upgrade"
        self.phase = Phase.UPGRADED
        self.deadline = math.inf
        # An upgraded connection (a WebSocket) may live for hours: the request's head
        # and llhttp's parser (with its callbacks) are of no more use to it. (Read
        # upgrade_data before switching.)
        self._parser.release()
        self._parser = _UPGRADED
        self._head = None
        parts = [f"HTTP/1.1 101 {wire.reason or 'Switching Protocols'}\r\n"]
        for name, value in wire.headers:
            parts.append(f"{name}: {value}\r\n")
        parts.append("Connection: Upgrade\r\n")
        data = "".join(parts).encode("utf-8")
        if not wire.has_date:
            data += b"Date: " + _clock.date() + b"\r\n"
        return data + b"\r\n"

    @property
    def upgrade_data(self) -> bytes:
        """The bytes that came after an upgrade request's head: the new protocol's first."""
        return self._parser.upgrade_data or b""

    def refusal_bytes(self, refusal: Refusal) -> bytes:
        """The answer to a request that broke a rule; the connection closes after it."""
        self.phase = Phase.CLOSED
        body = refusal.reason.encode("utf-8")
        return (
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\nDate: %s\r\n\r\n%s"
            % (refusal.status, _reason(refusal.status), len(body), _clock.date(), body)
        )

    def cycle(self, now: float) -> bool:
        """The response is out: True if the connection may carry another request.

        Drops the rest of an unread body when it has already arrived whole
        (its end is queued), so a pipelined request behind it still works.
        """
        parser = self._parser
        events = parser.events
        if not self._body_done and END in events and (not parser.done or parser.upgrade_pending):
            while events.pop(0) is not END:
                pass
            self._body_done = True
        # The upgrade request is the last the parser gave: when nothing is queued behind
        # the request just answered, that was it, and it was declined.
        resumed = parser.upgrade_pending and not events and self._keep_alive and self._body_done
        if resumed:
            parser.resume()  # what followed it is HTTP/1.1 again (a pipelined request)
        keep = (
            self._keep_alive
            and self._body_done
            # Requests queued before an upgrade are served; after a declined one, what
            # resume() parsed is answered: a request, another upgrade, or a refusal.
            and (not parser.done or parser.upgrade_pending or resumed)
            and not self.stopping
        )
        self._head = None
        if not keep:
            self.phase = Phase.CLOSED
            return False
        self._keep_alive = True
        if self._parser.in_message:
            self.phase = Phase.HEAD  # a pipelined request has begun already
            self.deadline = now + self._timeouts.header
        else:
            self.phase = Phase.IDLE
            self.deadline = now + self._timeouts.keep_alive
        return True

    # -- deadlines and stopping --------------------------------------------------

    def timed_out(self) -> Refusal | None:
        """The deadline passed: a 408 to send, or None to close quietly (idle, stopping)."""
        phase = self.phase
        self.phase = Phase.CLOSED
        if phase is Phase.HEAD:
            return Refusal(408, "request head not received in time")
        return None

    def stop(self) -> bool:
        """The server is stopping: True if the connection is idle and may close now."""
        self.stopping = True
        return self.phase is Phase.IDLE


_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 413: b"Payload Too Large"}


_OWNED_FIELDS = _OWNED | {"date"}  # the framing's own, and Date (the user's is kept as is)
_PLAIN_HEADS: dict[tuple[int, str, tuple[tuple[str, str], ...]], bytes] = {}
"""Status line and fields of the plain answers seen, encoded; b"" when one has an owned field."""
_PLAIN_HEADS_MAX = 512


def _plain_prefix(key: tuple[int, str, tuple[tuple[str, str], ...]]) -> bytes:
    status, reason, fields = key
    if any(name.lower() in _OWNED_FIELDS for name, _ in fields):
        prefix = b""  # the general framing decides what to do with it
    else:
        lines = [f"HTTP/1.1 {status} {reason}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in fields)
        prefix = "".join(lines).encode("utf-8")
    if len(_PLAIN_HEADS) >= _PLAIN_HEADS_MAX:
        _PLAIN_HEADS.clear()  # many distinct answers (say, a header per request): start over
    _PLAIN_HEADS[key] = prefix
    return prefix


def _piece(wire: Wire, data: bytes) -> bytes:
    if not data or not wire.send_body:
        return b""
    return b"%X\r\n%s\r\n" % (len(data), data) if wire.chunked else data


def _reason(status: int) -> bytes:
    return _REASONS.get(status) or HTTPStatus(status).phrase.encode("ascii")
