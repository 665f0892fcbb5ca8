"""The HTTP/2 connection as a sans-IO state machine on the ``h2`` library: bytes and events in,
bytes and decisions out.

:class:`H2Connection` wraps ``h2.connection.H2Connection`` (all framing,
HPACK, flow control and stream states are h2's) and decides what HTTP/2
asks of a server on top of it, in the style of :mod:`._h1conn`. The trio
side feeds what it reads (:meth:`~H2Connection.receive_data`), acts on the
events that come back, and sends :meth:`~H2Connection.data_to_send`.

* **Requests.** A complete header block becomes a :class:`RequestHead`, or
  a :class:`Refused` answer (431, 414, 400) for one that breaks the same
  limits as an HTTP/1.1 head (``H1Limits``); a refusal costs only its stream.
  Body data (:class:`BodyData`) is acknowledged to the client only when the
  handler takes it (:meth:`~H2Connection.acknowledge`), so flow control is
  the backpressure: a client can have at most a window's worth waiting.
* **Dangers, each refused by name** (GOAWAY debug data, or a RST_STREAM
  code), every other connection unaffected:

  - rapid reset (CVE-2023-44487): client resets of streams still being
    handled spend a token bucket (:attr:`H2Settings.reset_burst`, refilled
    at ``reset_rate`` a second); empty, the connection gets GOAWAY
    ENHANCE_YOUR_CALM. The trio side cancels each reset stream's handler.
  - CONTINUATION floods (CVE-2024-27316): a header block is bounded in
    bytes while it arrives (:mod:`._h2engine`), and in frames by h2 (64).
  - HPACK bombs: the decoded header list is bounded while it is decoded
    (h2's ``max_header_list_size``), by the HTTP/1.1 limits.
  - ``SETTINGS_MAX_CONCURRENT_STREAMS`` (100): h2 refuses a stream past it.
  - PING, SETTINGS and PRIORITY floods, and empty DATA frames: each spends
    a second token bucket (``control_burst``, ``control_rate``).

* **Lifecycle.** :meth:`~H2Connection.stop` sends GOAWAY with the last
  stream id and lets those streams finish; :attr:`~H2Connection.finished`
  says when the connection may close. There is no cap on a connection's
  requests. :attr:`~H2Connection.deadline` is the idle (keep-alive)
  deadline, reached only while no stream is open: pings do not keep a
  connection alive.

No trio, no I/O, no clock of its own (``now`` is passed in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, NamedTuple

import h2.events
import h2.exceptions
from h2.errors import ErrorCodes
from hyperframe.frame import GoAwayFrame

from ._h1 import H1Limits, Refusal
from ._h2engine import MEMORY_BYTES, Recall, new_engine
from ._h2head import Head, Malformed, read_head

__all__ = [
    "PREFACE",
    "WINDOW_OPENED",
    "BodyData",
    "BodyEnd",
    "ClientReset",
    "GoAwaySent",
    "H2Connection",
    "H2Settings",
    "Refused",
    "RequestHead",
]

PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""What an HTTP/2 client sends first: how a cleartext connection says it speaks h2c."""


@dataclass(frozen=True, slots=True)
class H2Settings:
    """What one HTTP/2 connection allows; the defaults are what ``StartServer`` gives."""

    max_concurrent_streams: int = 100
    keep_alive: float = 5.0  # seconds with no stream open: then GOAWAY and close
    # Rapid reset: client resets of streams still in hand. nghttp2 allows a burst of 1000
    # at 33/s; ours is tighter, as each reset stream also cancels a handler here.
    reset_burst: int = 200
    reset_rate: float = 20.0
    # PING, SETTINGS, PRIORITY and empty DATA frames: each makes work (an ACK to queue,
    # a frame to parse) and none moves a request on.
    control_burst: int = 200
    control_rate: float = 20.0
    # Request body bytes the client may have in flight over all its streams; each
    # stream gets h2's default 65,535. Bounds what a connection's bodies hold in memory.
    connection_window: int = 1024 * 1024


class RequestHead(NamedTuple):
    """A request's header block, checked: its stream starts (a tuple: cheap to make)."""

    stream_id: int
    method: str
    target: bytes  # :path as sent (path and query)
    headers: list[tuple[bytes, bytes]]  # no pseudo-headers; Host first, from :authority
    end_stream: bool  # no body follows
    content_length: int | None
    expect_continue: bool


@dataclass(frozen=True, slots=True)
class Refused:
    """A request that breaks a limit: answer ``refusal`` on its stream (the rest go on)."""

    stream_id: int
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class BodyData:
    """Request body bytes; ``flow`` is what they count against the windows (with padding)."""

    stream_id: int
    data: bytes
    flow: int


@dataclass(frozen=True, slots=True)
class BodyEnd:
    """The request's body is complete (END_STREAM, with or without trailers).

    Not sent for a request whose head ended the stream (``RequestHead.end_stream``).
    """

    stream_id: int


@dataclass(frozen=True, slots=True)
class ClientReset:
    """The client reset a stream we were handling: its handler is to be cancelled."""

    stream_id: int
    error_code: int


@dataclass(frozen=True, slots=True)
class GoAwaySent:
    """We sent GOAWAY for a fault (``reason`` is its debug data): flush, then close."""

    error_code: int
    reason: str


class _Signal:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


WINDOW_OPENED: Final = _Signal("WINDOW_OPENED")
"""The client opened flow-control windows (or changed their size): blocked senders may go on."""

Event = RequestHead | Refused | BodyData | BodyEnd | ClientReset | GoAwaySent | _Signal


class _Budget:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` a second."""

    __slots__ = ("_burst", "_last", "_rate", "_tokens")

    def __init__(self, burst: int, rate: float, now: float) -> None:
        self._burst = float(burst)
        self._rate = rate
        self._tokens = float(burst)
        self._last = now

    def spend(self, now: float) -> bool:
        """Take one token; False when none is left."""
        tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True


_CONNECTION_SPECIFIC = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)
_NO_ERROR = ErrorCodes.NO_ERROR
_CONTROL_EVENTS = (
    h2.events.PingReceived,
    h2.events.PriorityUpdated,
    h2.events.RemoteSettingsChanged,
)
_CONTROL_FRAMES: dict[type[h2.events.Event], str] = {
    h2.events.PingReceived: "PING",
    h2.events.PriorityUpdated: "PRIORITY",
    h2.events.RemoteSettingsChanged: "SETTINGS",
}
_STATUS = {status: b"%d" % status for status in range(100, 600)}
_MIN_FRAME_SIZE = 16384


class H2Connection:
    """One HTTP/2 connection's state over h2's; see the module docstring."""

    __slots__ = (
        "_control",
        "_h2",
        "_heads",
        "_last",
        "_limits",
        "_out",
        "_resets",
        "_settings",
        "_streams",
        "closing",
        "deadline",
        "going_away",
        "queued",
        "stopping",
    )

    def __init__(self, limits: H1Limits, settings: H2Settings, *, now: float) -> None:
        self._limits = limits
        self._settings = settings
        # HPACK's size of a list counts 32 bytes per field beyond its name and value.
        header_list = limits.max_header_size + 32 * limits.max_headers
        self._h2 = new_engine(
            settings.max_concurrent_streams, header_list, settings.connection_window
        )
        self._streams: set[int] = set()  # streams the application has, until stream_done
        # Heads read_head accepted, by their fields: a request repeated is not read again.
        self._heads: Recall[tuple[tuple[bytes, bytes], ...], Head] = Recall()
        self._resets = _Budget(settings.reset_burst, settings.reset_rate, now)
        self._control = _Budget(settings.control_burst, settings.control_rate, now)
        self.deadline = now + settings.keep_alive
        self.stopping = False  # we sent a graceful GOAWAY: no new streams
        self.going_away = False  # the client sent GOAWAY: it opens no new streams
        self.closing: str | None = None  # why we sent GOAWAY for a fault
        self.queued = 0  # body bytes handed to h2 and not yet taken by data_to_send's caller
        self._out = b""  # frames to send ahead of h2's next ones (our graceful GOAWAY)
        self._last: int | None = None  # the last stream id our GOAWAY named

    # -- receiving -------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Bytes from the client (``b""``: its EOF, which ends the connection); the events."""
        if self.closing is not None:
            return []
        if not data:
            self.closing = "the client closed the connection"
            return []
        try:
            received = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            return [self._fail(exc.error_code, str(exc) or type(exc).__name__)]
        events: list[Event] = []
        streams = self._streams
        whole = 0  # the stream of the last head that said no body follows: no BodyEnd for it
        for event in received:
            if isinstance(event, h2.events.RequestReceived):
                head = self._request(event)
                if head is not None:
                    events.append(head)
                    if event.stream_ended is not None:
                        whole = event.stream_id
            elif isinstance(event, h2.events.DataReceived):
                self._data(event, events, now)
            elif isinstance(event, h2.events.StreamEnded):
                if event.stream_id in streams and event.stream_id != whole:
                    events.append(BodyEnd(event.stream_id))
            elif isinstance(event, h2.events.WindowUpdated):
                if not events or events[-1] is not WINDOW_OPENED:
                    events.append(WINDOW_OPENED)
            elif isinstance(event, h2.events.StreamReset):
                if event.stream_id not in streams:
                    continue
                events.append(ClientReset(event.stream_id, event.error_code or 0))
                if not self._resets.spend(now):
                    settings = self._settings
                    events.append(
                        self._fail(
                            ErrorCodes.ENHANCE_YOUR_CALM,
                            f"rapid reset: streams reset faster than {settings.reset_rate:g}/s "
                            f"(after a burst of {settings.reset_burst})",
                        )
                    )
                    break
            elif isinstance(event, _CONTROL_EVENTS):
                if not self._control.spend(now):
                    events.append(self._flood(_CONTROL_FRAMES[type(event)]))
                    break
                if isinstance(event, h2.events.RemoteSettingsChanged):
                    events.append(WINDOW_OPENED)  # the initial window size may have grown
            elif isinstance(event, h2.events.ConnectionTerminated):
                # h2 allows no frame after a GOAWAY either way (it drops what was queued):
                # the client is leaving, as if it had closed the connection.
                self.closing = "the client sent GOAWAY"
                break
            # TrailersReceived (dropped: nothing reads them; StreamEnded follows),
            # SettingsAcknowledged, PingAckReceived, UnknownFrameReceived: nothing to do.
        return events

    def _request(self, event: h2.events.RequestReceived) -> RequestHead | Refused | None:
        stream_id = event.stream_id
        if self.stopping:
            # Opened after our GOAWAY: never handled, so the client may retry it elsewhere.
            self._h2.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return None
        self._streams.add(stream_id)
        self.deadline = math.inf
        fields = tuple(event.headers or ())
        heads = self._heads
        head = heads.get(fields)
        if head is None:
            try:
                head = read_head(fields, self._limits)
            except Malformed as exc:
                return Refused(stream_id, exc.refusal)
            if head.size <= MEMORY_BYTES and heads.again(fields):
                heads.keep(fields, head)
        ended = event.stream_ended is not None
        return RequestHead(
            stream_id,
            head.method,
            head.path,
            list(head.headers),  # the request's own, whoever else reads the same head
            ended,
            head.content_length,
            head.expect_continue and not ended,
        )

    def _data(self, event: h2.events.DataReceived, events: list[Event], now: float) -> None:
        stream_id = event.stream_id
        data = event.data or b""
        flow = event.flow_controlled_length or 0
        if stream_id not in self._streams:
            # Its handler has finished: nobody will take these bytes; give the window back.
            self.acknowledge(stream_id, flow)
            return
        if not data and event.stream_ended is None and not self._control.spend(now):
            events.append(self._flood("empty DATA"))
            return
        events.append(BodyData(stream_id, data, flow))

    def _flood(self, what: str) -> GoAwaySent:
        return self._fail(
            ErrorCodes.ENHANCE_YOUR_CALM,
            f"{what} flood: control frames faster than {self._settings.control_rate:g}/s "
            f"(after a burst of {self._settings.control_burst})",
        )

    def _fail(self, code: int, reason: str) -> GoAwaySent:
        """GOAWAY naming ``reason``: the connection closes once it is sent."""
        self.closing = reason
        self._h2.close_connection(
            code, reason.encode("utf-8", "replace")[:1024], last_stream_id=self._last
        )
        return GoAwaySent(code, reason)

    def acknowledge(self, stream_id: int, flow: int) -> None:
        """The handler took ``flow`` bytes of body: the client may send that much more."""
        if flow and self.closing is None:
            self._h2.acknowledge_received_data(flow, stream_id)

    # -- sending ---------------------------------------------------------------

    def send_head(
        self,
        stream_id: int,
        status: int,
        fields: list[tuple[str, str]],
        date: bytes | None,
        end: bool,
    ) -> None:
        """A response's status and fields (from ``_framing``), and ``date`` unless None.

        Connection-specific fields (RFC 9113 8.2.2) are left out. ``end``: no body follows.
        """
        headers = [(b":status", _STATUS[status])]
        for name, value in fields:
            lowered = name.lower()
            if lowered not in _CONNECTION_SPECIFIC:
                headers.append((lowered.encode("latin-1"), value.encode("utf-8")))
        if date is not None:
            headers.append((b"date", date))
        self._h2.send_headers(stream_id, headers, end_stream=end)

    def send_informational(self, stream_id: int, status: int) -> None:
        """An interim response (100 Continue): fields follow later, on the same stream."""
        self._h2.send_headers(stream_id, [(b":status", _STATUS[status])])

    def window(self, stream_id: int) -> int:
        """Body bytes that may be sent on ``stream_id`` now (flow control); 0 if it is gone."""
        try:
            return max(self._h2.local_flow_control_window(stream_id), 0)
        except h2.exceptions.StreamClosedError:
            return 0

    def send_whole(self, stream_id: int, data: bytes) -> bool:
        """A whole body, ending the stream, if the windows allow it now; else False, none sent.

        One DATA frame (``data`` no larger than the frame size); ``ProtocolError``
        if the stream is gone.
        """
        conn = self._h2
        # Every peer takes frames of 16 KiB (RFC 9113 4.2): asked only past that.
        if len(data) > _MIN_FRAME_SIZE and len(data) > conn.max_outbound_frame_size:
            return False
        try:
            conn.send_data(stream_id, data, end_stream=True)
        except h2.exceptions.FlowControlError:  # checked before h2 changes anything
            return False
        self.queued += len(data)
        return True

    def send_data(self, stream_id: int, data: bytes, end: bool) -> None:
        """Body bytes, no more than :meth:`window` allows; ``end``: the last of them."""
        conn = self._h2
        size = conn.max_outbound_frame_size
        if len(data) <= size:
            conn.send_data(stream_id, data, end_stream=end)
        else:
            for offset in range(0, len(data), size):
                last = offset + size >= len(data)
                conn.send_data(stream_id, data[offset : offset + size], end_stream=end and last)
        self.queued += len(data)

    def reset(self, stream_id: int, code: int = ErrorCodes.INTERNAL_ERROR) -> None:
        """Reset a stream we cannot finish (the handler failed, the client reads too slowly)."""
        if self.closing is None:
            try:
                self._h2.reset_stream(stream_id, code)
            except h2.exceptions.StreamClosedError:
                pass  # the client reset it first

    def stream_done(self, stream_id: int, now: float) -> None:
        """The application is done with ``stream_id`` (answered whole, reset or refused).

        A client still sending a body nobody read is told to stop (RST_STREAM
        NO_ERROR, RFC 9113 8.1). With no stream left open, the idle deadline starts.
        """
        streams = self._streams
        streams.discard(stream_id)
        if self.closing is None:
            stream = self._h2.streams.get(stream_id)
            if stream is not None and stream.open and not stream.closed:
                self._h2.reset_stream(stream_id, _NO_ERROR)
        if not streams:
            self.deadline = now + self._settings.keep_alive

    # -- the connection ----------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Everything there is to send (frames, acknowledgements), taken: the caller sends it."""
        data = self._h2.data_to_send()
        if self._out:
            data, self._out = self._out + data, b""
        return data

    @property
    def finished(self) -> bool:
        """True when the connection may close: it failed, or no stream is left after a GOAWAY."""
        return self.closing is not None or (
            (self.stopping or self.going_away) and not self._streams
        )

    @property
    def open_streams(self) -> int:
        """Streams the application has not finished with."""
        return len(self._streams)

    def stop(self) -> bool:
        """The server is stopping: GOAWAY with the last stream id; True if idle (close now).

        The streams up to that id are answered; later ones are refused
        (REFUSED_STREAM: the client may retry them elsewhere).
        """
        if not self.stopping and self.closing is None:
            self.stopping = True
            # h2 allows no frame at all after a GOAWAY it sends (its state machine
            # closes), so the streams in flight could not finish: this one is sent
            # beside it, in order after what h2 has queued so far.
            self._last = self._h2.highest_inbound_stream_id
            goaway = GoAwayFrame(
                0,
                last_stream_id=self._last,
                error_code=_NO_ERROR,
                additional_data=b"the server is stopping",
            )
            self._out += self._h2.data_to_send() + goaway.serialize()
        return not self._streams

    def close(self, reason: str) -> None:
        """Say goodbye before closing (idle, or the stop's grace is over): GOAWAY NO_ERROR."""
        if self.closing is None:
            self.closing = reason
            self._h2.close_connection(_NO_ERROR, reason.encode("utf-8"), last_stream_id=self._last)
