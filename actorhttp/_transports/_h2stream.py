"""One HTTP/2 stream's trio side: its request body as the handler reads it, its answer as the
client's windows allow.

:class:`H2Stream` belongs to its connection's :class:`~._h2.H2Session`,
which opens it for a request and releases it (``H2Session.done``) once
its answer is out or never will be.

* **The body in.** Bytes arrive from the session's reader
  (:attr:`H2Stream.chunks`) and are acknowledged to the client only when the
  handler takes them (:meth:`H2Stream.receive_body`), so flow control is the
  backpressure; ``Expect: 100-continue`` is answered when the handler first
  reads.
* **The answer out**, taken at its hand-over on the reply
  (:meth:`H2Stream.respond`, in the answering task): framed by ``_framing``
  (the one response path) and handed to h2 there and then. A body that must
  wait (a stream, or more than the windows allow now) goes on in a sender
  task, which reads its pipe and sends as the client's windows allow: a
  window left shut costs the stream at the minimum response rate.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio
from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError

from .._pipe import BodyPipe, ClientDisconnectedError, PipeAborted
from .._reply import ReplyReceiver
from .._web._exceptions import HTTPInternalServerError
from .._web._request import Request
from .._web._response import StreamResponse
from ._framing import Wire, frame
from ._h1conn import _clock
from ._rate import RateMeter, SlowClientError, receive_within

if TYPE_CHECKING:
    from ._h2 import H2Session

__all__ = ["HIGH_WATER", "H2Stream"]

logger = logging.getLogger("actorhttp")
HIGH_WATER = 256 * 1024
"""Body bytes queued for the writer past which senders wait for it (a client that opens its
windows wide but does not read must not make us buffer without bound)."""


class _StreamGone(Exception):
    """The stream can take nothing more: the client reset it, or the connection ended."""


class H2Stream:
    """One request's stream, as the trio side tracks it; see the module docstring."""

    __slots__ = (
        "body_meter",
        "chunks",
        "ended",
        "expect_continue",
        "gone",
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
        self.receiver: ReplyReceiver | None = None
        self.chunks: list[tuple[bytes, int]] = []  # body pieces not yet taken, with their flow
        self.ended = False  # the client's END_STREAM arrived
        self.gone = False  # reset by the client, or the connection is over
        self.settled = False  # answered (or refused): nothing else goes out as its head
        self.expect_continue = False
        self.lot: trio.lowlevel.ParkingLot | None = None  # the handler waiting for body bytes
        self.pipe: BodyPipe | None = None
        self.body_meter: RateMeter | None = None
        self.send_meter: RateMeter | None = None

    # -- the request's body ------------------------------------------------------

    def received(self, data: bytes, flow: int) -> None:
        """Body bytes from the client (``flow``: what they count against the windows)."""
        self.chunks.append((data, flow))
        self.wake()

    def wake(self) -> None:
        """The body's state changed (bytes, its end, the stream gone): its reader looks."""
        if self.lot is not None:
            self.lot.unpark_all()

    async def receive_body(self) -> bytes:
        """The next piece of the request's body (``b""`` at its end), in the handler's task.

        Raises ``HTTPRequestTimeout`` (408) when it comes slower than
        ``min_request_body_rate``, ``ClientDisconnectedError`` when the client
        reset the stream or the connection ended.
        """
        session = self.session
        conn = session.conn
        while True:
            if self.chunks:
                data, flow = self.chunks.pop(0)
                conn.acknowledge(self.id, flow)  # the client may send this much more
                session.wake_writer()
                return data
            if self.ended:
                return b""
            if self.gone:
                raise ClientDisconnectedError("the client reset the stream before its body")
            if self.expect_continue:
                # Only now that a handler reads: a 413 could still have refused first.
                self.expect_continue = False
                if not self.settled and conn.closing is None:
                    conn.send_informational(self.id, 100)
                    session.wake_writer()
            lot = self.lot
            if lot is None:
                lot = self.lot = trio.lowlevel.ParkingLot()
            if self.body_meter is None:
                await lot.park()
            else:
                await receive_within(self.body_meter, lot.park, self._pending)

    def _pending(self, _: object) -> int:
        return sum(len(data) for data, _ in self.chunks)

    # -- the answer ----------------------------------------------------------------

    def answered(self, response: StreamResponse) -> None:
        """The reply's hand-over: the answer goes out."""
        self.respond(response)

    def unanswered(self) -> None:
        """The reply closed with no answer: a 500."""
        request = self.request
        if request is not None:
            logger.error("%s %s: reply closed without a response", request.method, request.path)
        self.respond(HTTPInternalServerError())

    def respond(self, response: StreamResponse) -> None:
        """The answer, at its hand-over: its head and whatever body the windows allow now.

        Runs in the answering task. A body that must wait (a stream, or more
        than the windows allow) goes on in a sender task. Only the first
        answer counts.
        """
        if self.settled:
            return
        self.settled = True
        session = self.session
        conn = session.conn
        try:
            accept = self._accept_encoding() if response._compression else None
            wire = frame(response, self.method, framed_below=True, accept_encoding=accept)
            if self.gone or conn.closing is not None:
                raise _StreamGone
            if wire.status < 200:
                # An interim status cannot be a final answer: the client gets it, then a reset.
                logger.error("a %d response is interim, not a final answer", wire.status)
                conn.send_informational(self.id, wire.status)
                conn.reset(self.id, ErrorCodes.INTERNAL_ERROR)
                session.done(self)
                return
            pipe = wire.pipe
            body = wire.body
            date = None if wire.has_date else _clock.date()
            end = not wire.send_body or (pipe is None and not body)
            conn.send_head(self.id, wire.status, wire.headers, date, end)
            if end:
                session.done(self)
                if pipe is not None:  # HEAD's stream: read to its end and dropped
                    session.start_soon(self._send_body, wire)
            elif pipe is None and conn.queued < HIGH_WATER and conn.send_whole(self.id, body):
                session.done(self)
            else:
                # A body to wait for: the handler's writes, or the client's windows.
                self.pipe = pipe
                session.start_soon(self._send_body, wire)
        except (_StreamGone, ProtocolError):
            # The client reset the stream or left meanwhile: the answer goes nowhere.
            self._abandon(response)
        except Exception:
            logger.exception("HTTP/2 response on stream %d failed", self.id)
            conn.reset(self.id, ErrorCodes.INTERNAL_ERROR)
            self._abandon(response)
        session.wake_writer()

    def _accept_encoding(self) -> str | None:
        request = self.request
        if request is None:
            return None
        for name, value in request.raw_headers:
            if name == b"accept-encoding":
                return value.decode("latin-1")
        return None

    def _abandon(self, response: StreamResponse) -> None:
        pipe = response._pipe
        if pipe is not None:
            pipe.break_("the client went away")
        self.session.done(self)

    async def _send_body(self, wire: Wire) -> None:
        """Send a body as the handler writes it and the windows allow; then end the stream."""
        session = self.session
        conn = session.conn
        pipe = wire.pipe
        minimum = session.settings.min_response_rate
        self.send_meter = RateMeter(minimum) if minimum is not None else None
        try:
            if pipe is None:
                await self._send_bytes(wire.body, True)
                return
            if not wire.send_body:  # the head ended the stream: drop what the handler writes
                while await pipe.read():
                    pass
                return
            while data := await pipe.read():
                data = wire.encode(data)
                if data:
                    await self._send_bytes(data, False)
            await self._send_bytes(wire.finish(), True)
        except PipeAborted:
            # The handler failed part-way (the router logged why): the client sees a reset.
            conn.reset(self.id, ErrorCodes.INTERNAL_ERROR)
        except ValueError as exc:
            logger.error("streamed response cut: %s", exc)
            if pipe is not None:
                pipe.break_(str(exc))
            conn.reset(self.id, ErrorCodes.INTERNAL_ERROR)
        except SlowClientError as exc:
            logger.info("HTTP/2 stream %d from %s cut: %s", self.id, session.peer, exc)
            if pipe is not None:
                pipe.break_(str(exc))
            conn.reset(self.id, ErrorCodes.CANCEL)
        except (_StreamGone, ProtocolError):
            if pipe is not None:
                pipe.break_("the client went away")
        finally:
            session.done(self)

    async def _send_bytes(self, data: bytes, end: bool) -> None:
        """Hand ``data`` to h2 as the stream's and the connection's windows allow.

        Waits on the client no longer than the minimum response rate allows
        (``SlowClientError``), and while the writer is behind by
        :data:`HIGH_WATER`. ``_StreamGone`` once the stream cannot take more.
        """
        session = self.session
        conn = session.conn
        meter = self.send_meter
        while True:
            if self.gone or conn.closing is not None:
                raise _StreamGone
            if conn.queued >= HIGH_WATER:
                await session.drained.park()
                continue
            window = conn.window(self.id)
            if window <= 0 and data:
                await self._wait_window(meter)
                continue
            piece = data[:window]
            data = data[window:]
            conn.send_data(self.id, piece, end and not data)
            if meter is not None:
                meter.record(0.0, len(piece))
            session.wake_writer()
            if not data:
                return
            await trio.lowlevel.checkpoint()

    async def _wait_window(self, meter: RateMeter | None) -> None:
        """Wait for the client to open a window, no longer than ``meter`` allows."""
        windows = self.session.windows
        if meter is None:
            await windows.park()
            return
        now = self.session.now
        start = now()
        with trio.move_on_at(start + meter.budget()) as scope:
            await windows.park()
        meter.record(now() - start, 0)
        if scope.cancelled_caught and meter.budget() <= 0:
            raise SlowClientError(meter.describe("the client read the response"))
