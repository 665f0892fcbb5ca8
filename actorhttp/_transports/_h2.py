"""HTTP/2 on the fast transport: trio around the sans-IO :class:`~._h2conn.H2Connection`.

The httptools transport hands a connection here when its client speaks
HTTP/2 (ALPN ``h2`` over TLS, or the h2c preface on cleartext), with the
bytes it has read. The I/O is the HTTP/1.1 path's own: :class:`~._sockio.StreamIO`
or :class:`~._tlsio.TLSStream`, metered for the minimum response rate.

Tasks of one connection:

* its own (:meth:`H2Session.run`): reads, feeds the state machine, and acts
  on what comes out: each request becomes a ``Request`` message delivered
  to the router with a one-shot reply, like an HTTP/1.1 request;
* a writer, the only one to send on the socket: it sends what the state
  machine has queued, as one write however many streams queued it;
* one per response whose body must wait (a stream, or more than the
  client's flow-control window allows now).

No task waits for a reply: the answer is taken at its hand-over
(``ReplyReceiver.on_answer``, ``on_close``), in the answering task. A plain
answer is framed by ``_framing`` (the one response path) and handed to h2
there and then. A streamed one gets a sender task, which reads its pipe and
sends as the client's windows allow: flow control is the backpressure, and
a window left shut costs the stream at the minimum response rate.

A request whose stream the client resets has its handler cancelled (its
``disconnected`` is set and the router's scope for it cancelled), whatever
``handler_cancellation`` says: an HTTP/2 reset is the client cancelling
that request, not a lost connection.
"""

from __future__ import annotations

import logging

import trio
from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError

from .._pipe import BodyPipe, ClientDisconnectedError, PipeAborted
from .._reply import ReplyReceiver, open_reply
from .._web._exceptions import HTTPInternalServerError, HTTPServiceUnavailable
from .._web._helpers import HttpVersion
from .._web._request import Request, new_request
from .._web._response import StreamResponse
from .._web._streams import EMPTY_PAYLOAD, StreamReader
from ..messages import StartServer
from ._asgi import refusal_response
from ._base import Deliver, Peer, client_gone
from ._framing import Wire, frame
from ._h1 import H1Limits
from ._h1conn import _clock
from ._h2conn import (
    PREFACE,
    WINDOW_OPENED,
    BodyData,
    BodyEnd,
    ClientReset,
    GoAwaySent,
    H2Connection,
    H2Settings,
    Refused,
    RequestHead,
)
from ._rate import RateMeter, SlowClientError, receive_within
from ._sockio import StreamIO
from ._tlsio import TLSStream

__all__ = ["H2Session", "first_bytes", "h2_settings"]

logger = logging.getLogger("actorhttp")
HTTP2 = HttpVersion(2, 0)
READ_SIZE = 64 * 1024
HIGH_WATER = 256 * 1024
"""Body bytes queued for the writer past which senders wait for it (a client that opens its
windows wide but does not read must not make us buffer without bound)."""
CLOSE_FLUSH_SECONDS = 2.0
"""How long the last frames (a GOAWAY) may take to leave once the connection is over."""


def h2_settings(settings: StartServer) -> H2Settings:
    """A connection's HTTP/2 settings from the server's."""
    return H2Settings(
        max_concurrent_streams=settings.h2_max_concurrent_streams,
        keep_alive=settings.keep_alive_timeout,
    )


async def first_bytes(io: StreamIO | TLSStream) -> tuple[bytes, bool]:
    """A connection's first bytes, and whether its client speaks HTTP/2.

    Over TLS the handshake happens in this read and ALPN says (``h2``); in
    clear text the bytes do (the h2c preface, read whole if it came split).
    A client gone already gives ``b""``.
    """
    try:
        data = await io.receive_some(READ_SIZE)
        if isinstance(io, TLSStream):
            return data, io.alpn_protocol == "h2"
        while data and len(data) < len(PREFACE) and PREFACE.startswith(data):
            more = await io.receive_some(READ_SIZE)
            if not more:
                break
            data += more
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return b"", False
    return data, data.startswith(PREFACE)


class _StreamGone(Exception):
    """The stream can take nothing more: the client reset it, or the connection ended."""


class _Stream:
    """One request's stream, as the trio side tracks it."""

    __slots__ = (
        "accept_encoding",
        "body_meter",
        "chunks",
        "ended",
        "expect_continue",
        "gone",
        "head_sent",
        "id",
        "lot",
        "method",
        "pipe",
        "receiver",
        "request",
        "send_meter",
        "session",
        "settled",
    )

    def __init__(self, session: H2Session, stream_id: int, method: str) -> None:
        self.session = session
        self.id = stream_id
        self.method = method
        self.request: Request | None = None
        self.chunks: list[tuple[bytes, int]] = []  # body pieces not yet taken, with their flow
        self.ended = False  # the client's END_STREAM arrived
        self.gone = False  # reset by the client, or the connection is over
        self.settled = False  # answered (or refused): nothing else goes out as its head
        self.head_sent = False
        self.expect_continue = False
        self.accept_encoding: str | None = None
        self.lot: trio.lowlevel.ParkingLot | None = None  # the handler waiting for body bytes
        self.pipe: BodyPipe | None = None
        self.receiver: ReplyReceiver | None = None
        self.body_meter: RateMeter | None = None
        self.send_meter: RateMeter | None = None

    def answered(self, response: StreamResponse) -> None:
        self.session._respond(self, response)

    def unanswered(self) -> None:
        request = self.request
        if request is not None:
            logger.error("%s %s: reply closed without a response", request.method, request.path)
        self.session._respond(self, HTTPInternalServerError())

    async def receive_body(self) -> bytes:
        return await self.session._receive_body(self)


class H2Session:
    """One HTTP/2 connection's trio side; see the module docstring."""

    def __init__(
        self,
        io: StreamIO | TLSStream,
        peer: Peer,
        settings: StartServer,
        limits: H1Limits,
        h2: H2Settings,
        deliver: Deliver,
        scheme: str,
        send_meter: RateMeter | None,
    ) -> None:
        """``send_meter``: the socket's minimum response rate (None: the stream meters itself)."""
        self.io = io
        self.peer = peer
        self.settings = settings
        self.deliver = deliver
        self.scheme = scheme
        self.send_meter = send_meter
        self.now = trio.lowlevel.current_clock().current_time
        self.conn = H2Connection(limits, h2, now=self.now())
        self.scope = trio.CancelScope()  # the reading; cancelled by the reaper or a stop
        self.streams: dict[int, _Stream] = {}
        self._output = trio.lowlevel.ParkingLot()  # the writer, waiting for something to send
        self._writer_parked = False  # waking it is then worth a call (most wakes find it busy)
        self._drained = trio.lowlevel.ParkingLot()  # senders, waiting for the writer
        self._window = trio.lowlevel.ParkingLot()  # senders, waiting for flow-control windows
        self._writer_done = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.failure: BaseException | None = None  # what ended the writer

    @property
    def deadline(self) -> float:
        """When the connection has been idle (no stream open) too long: the reaper's."""
        return self.conn.deadline

    def stop(self) -> bool:
        """The server is stopping: GOAWAY now; True if idle (the caller closes it at once)."""
        idle = self.conn.stop()
        self._wake_writer()
        return idle

    # -- the connection ------------------------------------------------------

    async def run(self, first: bytes) -> None:
        """Serve the connection (``first``: the bytes already read) until it is over.

        Raises what the socket raised for a client that went away or read too
        slowly (``trio.BrokenResourceError``, ``SlowClientError``); the caller
        owns and closes the stream.
        """
        conn = self.conn
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._write_loop)
                with self.scope:
                    await self._receive(first)
                    while not conn.finished:
                        try:
                            data = await self.io.receive_some(READ_SIZE)
                        except (trio.BrokenResourceError, trio.ClosedResourceError):
                            data = b""
                        await self._receive(data)
                if not conn.finished:  # the reaper (idle) or a stop's end
                    conn.close("the server is stopping" if conn.stopping else "idle timeout")
                self._end_streams()
                self._wake_writer()
                with trio.move_on_after(CLOSE_FLUSH_SECONDS):
                    await self._writer_done.wait()
                nursery.cancel_scope.cancel()
        finally:
            self._end_streams()
        if self.failure is not None:
            raise self.failure

    async def _write_loop(self) -> None:
        """Send what the state machine queues, until the connection is over."""
        conn = self.conn
        try:
            while True:
                queued = conn.queued
                data = conn.data_to_send()
                if data:
                    await self.io.send_all(data, self.send_meter)
                    conn.queued -= queued
                    self._drained.unpark_all()
                elif conn.finished:
                    return
                else:
                    self._writer_parked = True
                    await self._output.park()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            # The client went away or reads too slowly (SlowClientError): end it all.
            self.failure = exc
            conn.closing = conn.closing or str(exc)
            self.scope.cancel()
        finally:
            self._writer_done.set()
            self._window.unpark_all()
            self._drained.unpark_all()

    def _wake_writer(self) -> None:
        if self._writer_parked:
            self._writer_parked = False
            self._output.unpark_all()

    async def _receive(self, data: bytes) -> None:
        """Feed ``data`` to the state machine and act on its events."""
        for event in self.conn.receive_data(data, self.now()):
            if isinstance(event, RequestHead):
                await self._open(event)
            elif isinstance(event, BodyData):
                stream = self.streams.get(event.stream_id)
                if stream is None:
                    continue
                if event.data:
                    stream.chunks.append((event.data, event.flow))
                    _wake(stream.lot)
                else:
                    self.conn.acknowledge(event.stream_id, event.flow)  # padding only
            elif isinstance(event, BodyEnd):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream.ended = True
                    _wake(stream.lot)
            elif event is WINDOW_OPENED:
                self._window.unpark_all()
            elif isinstance(event, ClientReset):
                self._reset_by_client(event.stream_id)
            elif isinstance(event, Refused):
                stream = self.streams[event.stream_id] = _Stream(self, event.stream_id, "GET")
                answer = refusal_response(event.refusal)
                answer._hand_over()
                self._respond(stream, answer)
            elif isinstance(event, GoAwaySent):
                logger.info("HTTP/2 connection from %s refused: %s", self.peer, event.reason)
        self._wake_writer()

    # -- requests --------------------------------------------------------------

    async def _open(self, head: RequestHead) -> None:
        """Deliver the request a stream opens; its answer comes back at its hand-over."""
        stream = _Stream(self, head.stream_id, head.method)
        self.streams[head.stream_id] = stream
        settings = self.settings
        if head.end_stream:
            stream.ended = True
            content = EMPTY_PAYLOAD
        else:
            stream.expect_continue = head.expect_continue
            minimum = settings.min_request_body_rate
            stream.body_meter = RateMeter(minimum) if minimum is not None else None
            content = StreamReader(stream.receive_body, declared_length=head.content_length)
        path, _, query = head.target.partition(b"?")
        reply, receiver = open_reply()
        request = new_request(
            head.method,
            path.decode("latin-1"),
            query.decode("latin-1"),
            head.headers,
            content,
            reply,
            HTTP2,
            self.scheme,
            self.peer,
            True,
            settings.client_max_size,
            disconnected=trio.Event(),  # a reset stream's handler is always cancelled
        )
        stream.request = request
        stream.receiver = receiver
        receiver.on_answer(stream.answered)
        receiver.on_close(stream.unanswered)
        try:
            await self.deliver(request)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._respond(stream, HTTPServiceUnavailable(text="the router has stopped"))
            reply.close()

    async def _receive_body(self, stream: _Stream) -> bytes:
        """The next piece of a request's body (``b""`` at its end), in the handler's task.

        Raises ``HTTPRequestTimeout`` (408) when it comes slower than
        ``min_request_body_rate``, ``ClientDisconnectedError`` when the client
        reset the stream or the connection ended.
        """
        while True:
            if stream.chunks:
                data, flow = stream.chunks.pop(0)
                self.conn.acknowledge(stream.id, flow)  # the client may send this much more
                self._wake_writer()
                return data
            if stream.ended:
                return b""
            if stream.gone:
                raise ClientDisconnectedError("the client reset the stream before its body")
            if stream.expect_continue:
                # Only now that a handler reads: a 413 could still have refused first.
                stream.expect_continue = False
                if not stream.settled and self.conn.closing is None:
                    self.conn.send_informational(stream.id, 100)
                    self._wake_writer()
            meter = stream.body_meter
            lot = stream.lot
            if lot is None:
                lot = stream.lot = trio.lowlevel.ParkingLot()
            if meter is None:
                await lot.park()
            else:
                await receive_within(meter, lot.park, lambda _: _pending(stream))

    def _reset_by_client(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        stream.gone = True
        if stream.request is not None:
            client_gone(stream.request)  # its handler is cancelled
        self._done(stream)
        self._window.unpark_all()  # its sender, if waiting, learns it is gone
        self._drained.unpark_all()

    def _end_streams(self) -> None:
        """The connection is over: every stream's handler learns it, as over HTTP/1.1.

        Writers get ``ConnectionResetError``, body readers
        ``ClientDisconnectedError``; handlers are cancelled only with
        ``handler_cancellation`` (a reset stream's always were).
        """
        cancel = self.settings.handler_cancellation
        for stream in list(self.streams.values()):
            stream.gone = True
            if cancel and stream.request is not None:
                client_gone(stream.request)
            self._done(stream)
        self._window.unpark_all()
        self._drained.unpark_all()

    def _done(self, stream: _Stream) -> None:
        """The stream's answer is out, or will never be: release what it holds."""
        if self.streams.pop(stream.id, None) is None:
            return
        stream.settled = True
        if stream.receiver is not None:
            stream.receiver.close()  # an answer still to come gets BrokenResourceError
        pipe = stream.pipe
        if pipe is not None and not pipe.closed:
            pipe.break_("the client went away")
        _wake(stream.lot)
        conn = self.conn
        for _, flow in stream.chunks:
            conn.acknowledge(stream.id, flow)  # never read: the connection's window comes back
        stream.chunks.clear()
        conn.stream_done(stream.id, self.now())
        self._wake_writer()
        if conn.finished:
            self.scope.cancel()  # the reader need not wait for the client any more

    # -- responses -------------------------------------------------------------

    def _respond(self, stream: _Stream, response: StreamResponse) -> None:
        """The answer, at its hand-over: its head and whatever body the windows allow now.

        Runs in the answering task. A body that must wait (a stream, or more
        than the windows allow) goes on in a sender task.
        """
        if stream.settled:
            return
        stream.settled = True
        conn = self.conn
        try:
            accept = _accept_encoding(stream) if response._compression else None
            wire = frame(response, stream.method, framed_below=True, accept_encoding=accept)
            if stream.gone or conn.closing is not None:
                raise _StreamGone
            if wire.status < 200:
                # An interim status cannot be a final answer: the client gets it, then a reset.
                logger.error("a %d response is interim, not a final answer", wire.status)
                conn.send_informational(stream.id, wire.status)
                conn.reset(stream.id, ErrorCodes.INTERNAL_ERROR)
                self._done(stream)
                return
            pipe = wire.pipe
            body = wire.body
            date = None if wire.has_date else _clock.date()
            end = not wire.send_body or (pipe is None and not body)
            conn.send_head(stream.id, wire.status, wire.headers, date, end)
            stream.head_sent = True
            if end:
                self._done(stream)
                if pipe is not None:  # HEAD's stream: read to its end and dropped
                    self._start_sender(stream, wire)
            elif pipe is None and len(body) <= conn.window(stream.id) and conn.queued < HIGH_WATER:
                conn.send_data(stream.id, body, True)
                self._done(stream)
            else:
                # A body to wait for: the handler's writes, or the client's windows.
                stream.pipe = pipe
                self._start_sender(stream, wire)
        except (_StreamGone, ProtocolError):
            # The client reset the stream or left meanwhile: the answer goes nowhere.
            self._abandon(stream, response)
        except Exception:
            logger.exception("HTTP/2 response on stream %d failed", stream.id)
            conn.reset(stream.id, ErrorCodes.INTERNAL_ERROR)
            self._abandon(stream, response)
        self._wake_writer()

    def _start_sender(self, stream: _Stream, wire: Wire) -> None:
        assert self._nursery is not None, "answers come only while the connection runs"
        self._nursery.start_soon(self._send_body, stream, wire)

    def _abandon(self, stream: _Stream, response: StreamResponse) -> None:
        pipe = response._pipe
        if pipe is not None:
            pipe.break_("the client went away")
        self._done(stream)

    async def _send_body(self, stream: _Stream, wire: Wire) -> None:
        """Send a body as the handler writes it and the windows allow; then end the stream."""
        conn = self.conn
        pipe = wire.pipe
        minimum = self.settings.min_response_rate
        stream.send_meter = RateMeter(minimum) if minimum is not None else None
        try:
            if pipe is None:
                await self._send_bytes(stream, wire.body, True)
                return
            if not wire.send_body:  # the head ended the stream: drop what the handler writes
                while await pipe.read():
                    pass
                return
            while data := await pipe.read():
                data = wire.encode(data)
                if data:
                    await self._send_bytes(stream, data, False)
            await self._send_bytes(stream, wire.finish(), True)
        except PipeAborted:
            # The handler failed part-way (the router logged why): the client sees a reset.
            conn.reset(stream.id, ErrorCodes.INTERNAL_ERROR)
        except ValueError as exc:
            logger.error("streamed response cut: %s", exc)
            if pipe is not None:
                pipe.break_(str(exc))
            conn.reset(stream.id, ErrorCodes.INTERNAL_ERROR)
        except SlowClientError as exc:
            logger.info("HTTP/2 stream %d from %s cut: %s", stream.id, self.peer, exc)
            if pipe is not None:
                pipe.break_(str(exc))
            conn.reset(stream.id, ErrorCodes.CANCEL)
        except (_StreamGone, ProtocolError):
            if pipe is not None:
                pipe.break_("the client went away")
        finally:
            self._done(stream)

    async def _send_bytes(self, stream: _Stream, data: bytes, end: bool) -> None:
        """Hand ``data`` to h2 as the stream's and the connection's windows allow.

        Waits on the client no longer than the minimum response rate allows
        (``SlowClientError``), and while the writer is behind by
        :data:`HIGH_WATER`. ``_StreamGone`` once the stream cannot take more.
        """
        conn = self.conn
        meter = stream.send_meter
        while True:
            if stream.gone or conn.closing is not None:
                raise _StreamGone
            if conn.queued >= HIGH_WATER:
                await self._drained.park()
                continue
            window = conn.window(stream.id)
            if window <= 0 and data:
                await self._wait_window(meter)
                continue
            piece = data[:window]
            data = data[window:]
            conn.send_data(stream.id, piece, end and not data)
            if meter is not None:
                meter.record(0.0, len(piece))
            self._wake_writer()
            if not data:
                return
            await trio.lowlevel.checkpoint()

    async def _wait_window(self, meter: RateMeter | None) -> None:
        """Wait for the client to open a window, no longer than ``meter`` allows."""
        if meter is None:
            await self._window.park()
            return
        start = self.now()
        with trio.move_on_at(start + meter.budget()) as scope:
            await self._window.park()
        meter.record(self.now() - start, 0)
        if scope.cancelled_caught and meter.budget() <= 0:
            raise SlowClientError(meter.describe("the client read the response"))


def _wake(lot: trio.lowlevel.ParkingLot | None) -> None:
    if lot is not None:
        lot.unpark_all()


def _pending(stream: _Stream) -> int:
    return sum(len(data) for data, _ in stream.chunks)


def _accept_encoding(stream: _Stream) -> str | None:
    request = stream.request
    if request is None:
        return None
    for name, value in request.raw_headers:
        if name == b"accept-encoding":
            return value.decode("latin-1")
    return None
