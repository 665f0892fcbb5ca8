"""HTTP/2 on the fast transport: trio around the sans-IO :class:`~._h2conn.H2Connection`.

The httptools transport hands a connection here when its client speaks
HTTP/2 (ALPN ``h2`` over TLS, or the h2c preface on cleartext), with the
bytes it has read. The I/O is the HTTP/1.1 path's own: :class:`~._sockio.StreamIO`
or :class:`~._tlsio.TLSStream`, metered for the minimum response rate.

Tasks of one connection:

* its own (:meth:`H2Session.run`): reads, feeds the state machine, and acts
  on what comes out: each request becomes a ``Request`` message delivered
  to the router with a one-shot reply, like an HTTP/1.1 request, and its
  stream an :class:`~._h2stream.H2Stream`;
* a writer, the only one to send on the socket: it sends what the state
  machine has queued, as one write however many streams queued it;
* one per response whose body must wait (a stream, or more than the
  client's flow-control window allows now): see :mod:`._h2stream`.

No task waits for a reply: the answer is taken at its hand-over
(``ReplyReceiver.on_answer``, ``on_close``), in the answering task.

A request whose stream the client resets has its handler cancelled (its
``disconnected`` is set and the router's scope for it cancelled), whatever
``handler_cancellation`` says: an HTTP/2 reset is the client cancelling
that request, not a lost connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from .._reply import open_reply
from .._web._decoding import body_stream
from .._web._exceptions import HTTPServiceUnavailable
from .._web._helpers import HttpVersion
from .._web._newrequest import new_request
from .._web._streams import EMPTY_PAYLOAD
from .._web._transport import ConnectionTransport
from ..messages import StartServer
from ._asgi import refusal_response
from ._base import READ_SIZE, Deliver, Peer, client_gone
from ._h1 import H1Limits
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
from ._h2stream import H2Stream
from ._rate import RateMeter
from ._sockio import StreamIO
from ._tlsio import TLSStream

__all__ = ["H2Session", "first_bytes", "h2_settings"]

logger = logging.getLogger("actorhttp")
HTTP2 = HttpVersion(2, 0)
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
        transport: ConnectionTransport | None = None,
    ) -> None:
        """``send_meter``: the socket's minimum response rate (None: the stream meters itself);
        ``transport``: the connection's, which each stream's ``request.transport`` shows."""
        self.io = io
        self.transport = transport
        self.peer = peer
        self.settings = settings
        self.deliver = deliver
        self.scheme = scheme
        self.send_meter = send_meter
        self.now = trio.lowlevel.current_clock().current_time
        self.conn = H2Connection(limits, h2, now=self.now())
        self.scope = trio.CancelScope()  # the reading; cancelled by the reaper or a stop
        self.streams: dict[int, H2Stream] = {}
        self._output = trio.lowlevel.ParkingLot()  # the writer, waiting for something to send
        self._writer_parked = False  # waking it is then worth a call (most wakes find it busy)
        self.drained = trio.lowlevel.ParkingLot()  # senders, waiting for the writer
        self.windows = trio.lowlevel.ParkingLot()  # senders, waiting for flow-control windows
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
        self.wake_writer()
        return idle

    def start_soon(self, sender: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start a stream's sender task, in the connection's nursery."""
        assert self._nursery is not None, "answers come only while the connection runs"
        self._nursery.start_soon(sender, *args)

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
                self.wake_writer()
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
                    self.drained.unpark_all()
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
            self.windows.unpark_all()
            self.drained.unpark_all()

    def wake_writer(self) -> None:
        """Something was queued for the client: the writer sends it."""
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
                    stream.received(event.data, event.flow)
                else:
                    self.conn.acknowledge(event.stream_id, event.flow)  # padding only
            elif isinstance(event, BodyEnd):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream.ended = True
                    stream.wake()
            elif event is WINDOW_OPENED:
                self.windows.unpark_all()
            elif isinstance(event, ClientReset):
                self._reset_by_client(event.stream_id)
            elif isinstance(event, Refused):
                stream = self.streams[event.stream_id] = H2Stream(self, event.stream_id, "GET")
                answer = refusal_response(event.refusal)
                answer._hand_over()
                stream.respond(answer)
            elif isinstance(event, GoAwaySent):
                logger.info("HTTP/2 connection from %s refused: %s", self.peer, event.reason)
        self.wake_writer()

    # -- requests --------------------------------------------------------------

    async def _open(self, head: RequestHead) -> None:
        """Deliver the request a stream opens; its answer comes back at its hand-over."""
        stream = H2Stream(self, head.stream_id, head.method)
        self.streams[head.stream_id] = stream
        settings = self.settings
        if head.end_stream:
            stream.ended = True
            content = EMPTY_PAYLOAD
        else:
            stream.expect_continue = head.expect_continue
            minimum = settings.min_request_body_rate
            stream.body_meter = RateMeter(minimum) if minimum is not None else None
            content = body_stream(
                stream.receive_body,
                head.headers,
                declared_length=head.content_length,
                auto_decompress=settings.auto_decompress,
                read_bufsize=settings.read_bufsize,
            )
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
            transport=self.transport,
        )
        stream.request = request
        stream.receiver = receiver
        receiver.on_answer(stream.answered)
        receiver.on_close(stream.unanswered)
        try:
            await self.deliver(request)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            stream.respond(HTTPServiceUnavailable(text="the router has stopped"))
            reply.close()

    def _reset_by_client(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        stream.gone = True
        if stream.request is not None:
            client_gone(stream.request)  # its handler is cancelled
        self.done(stream)
        self.windows.unpark_all()  # its sender, if waiting, learns it is gone
        self.drained.unpark_all()

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
            self.done(stream)
        self.windows.unpark_all()
        self.drained.unpark_all()

    def done(self, stream: H2Stream) -> None:
        """The stream's answer is out, or will never be: release what it holds."""
        if self.streams.pop(stream.id, None) is None:
            return
        stream.settled = True
        if stream.receiver is not None:
            stream.receiver.close()  # an answer still to come gets BrokenResourceError
        pipe = stream.pipe
        if pipe is not None and not pipe.closed:
            pipe.break_("the client went away")
        stream.wake()
        conn = self.conn
        for _, flow in stream.chunks:
            conn.acknowledge(stream.id, flow)  # never read: the connection's window comes back
        stream.chunks.clear()
        conn.stream_done(stream.id, self.now())
        self.wake_writer()
        if conn.finished:
            self.scope.cancel()  # the reader need not wait for the client any more
