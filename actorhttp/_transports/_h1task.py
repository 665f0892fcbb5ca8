"""One connection's task on the fast transport: HTTP/1.1, or the HTTP/2 or WebSocket it becomes.

One task per connection. It only reads, writes and delivers: bytes go into
the connection state machine, requests go to the router as ``Request``
messages with a one-shot reply, and what comes back is framed by
``_framing`` and serialised by the state machine. Bytes are read only when
the machine asks for them, which is the backpressure: a handler that does
not read its body leaves the socket alone. A request body is read by the
handler's own task, through :meth:`ConnectionTask.receive_body`.

A plain answer (a ``Response`` with a whole body, see
``H1Connection.plain_response_bytes``) goes on the wire at its hand-over,
in the task that answers (``ReplyReceiver.on_answer``): a synchronous write
of the frozen response, nothing the handler's code can see. The client has
its answer one scheduler round sooner, and by the time this connection's
task wakes, the next request has often arrived to be read at once. The
task then sends whatever the kernel did not take.

A WebSocket handshake that the handler accepts (its ``WebSocketResponse``
comes back on the reply) switches the connection at the hand-over, in the
handler's task as a plain answer is written: the 101 goes out and the
``_wssession.WSSession`` opens, so ``prepare()`` returns without waiting
for this task. This task then carries the frames until the socket closes
(``WSSession.run``), and leaves the set the reaper looks at (a WebSocket
has no HTTP deadline: the server's ``WSHub`` keeps its timers).
Any other answer to an upgrade request is sent as usual, and the
connection goes on as HTTP/1.1 (see ``_h1conn``).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

import trio

from .._pipe import BodyPipe, ClientDisconnectedError, PipeAborted
from .._reply import open_reply
from .._web._decoding import body_stream
from .._web._exceptions import RequestPayloadError
from .._web._helpers import http_version
from .._web._newrequest import new_request
from .._web._request import Request
from .._web._response import StreamResponse
from .._web._streams import EMPTY_PAYLOAD
from .._web._transport import ConnectionTransport
from .._web._ws import WebSocketResponse
from ..messages import StartServer
from ._base import (
    READ_SIZE,
    Deliver,
    Live,
    Peer,
    client_gone,
    exchange,
)
from ._framing import Wire, frame
from ._h1 import END, H1Limits, Head, Refusal
from ._h1conn import NEED_DATA, H1Connection, H1Timeouts
from ._h2 import H2Session, first_bytes
from ._h2conn import H2Settings
from ._rate import RateMeter, SlowClientError, receive_within
from ._sockio import StreamIO
from ._tlsio import TLSStream
from ._wshub import WSHub
from ._wssession import WSSession

__all__ = ["ConnectionTask", "h1_limits", "h1_timeouts"]

logger = logging.getLogger("actorhttp")
LINGER_BYTES = 4 * 1024 * 1024  # at most this much drained from a client we are done with


class ConnectionTask:
    """One client connection: the state machine, the stream, and the cancel scope of its task."""

    __slots__ = (
        "body_meter",
        "client",
        "client_max_size",
        "clock",
        "conn",
        "deliver",
        "early",
        "h2",
        "h2_first",
        "hub",
        "io",
        "scheme",
        "scope",
        "send_meter",
        "settings",
        "stream",
        "transport",
        "upgrade",
        "watched",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        peer: Peer,
        settings: StartServer,
        limits: H1Limits,
        timeouts: H1Timeouts,
        deliver: Deliver,
        hub: WSHub,
        scheme: str = "http",
        *,
        meter_sends: bool = True,
        h2: H2Settings | None = None,
    ) -> None:
        """``meter_sends=False``: the stream meters its own sends (TLS over a metered socket).

        ``hub`` is the server's, for the WebSocket this connection may become.
        ``h2``: serve HTTP/2 too, to a client that asks for it by ALPN (TLS) or
        by starting with the h2c preface (cleartext), with these settings.
        """
        self.stream = stream
        self.scheme = scheme
        # A TLSStream reads and writes its socket itself, as StreamIO does a plain one.
        self.io = stream if isinstance(stream, TLSStream) else StreamIO(stream)
        self.hub = hub
        # The WebSocket this connection became: its session, what is left to send of the
        # 101 (b"" once it is out) and the bytes the client sent after its handshake.
        self.upgrade: tuple[WSSession, bytes, bytes] | None = None
        self.watched: Request | None = None  # the request in flight, if its client is watched
        # What _answered left to do: the bytes the kernel did not take, or its error.
        self.early: bytes | Exception | None = None
        self.client = peer
        self.transport = _transport_of(stream, peer)
        self.settings = settings
        self.client_max_size = settings.client_max_size
        self.deliver = deliver
        # trio.current_time() looks the clock up on every call; a connection asks twice a
        # request, so it keeps the clock (the same clock, autojump's in tests).
        self.clock = trio.lowlevel.current_clock()
        self.conn = H1Connection(limits, timeouts, now=self.clock.current_time())
        self.scope = trio.CancelScope()
        minimum = settings.min_request_body_rate
        self.body_meter = RateMeter(minimum) if minimum is not None else None
        minimum = settings.min_response_rate if meter_sends else None
        self.send_meter = RateMeter(minimum) if minimum is not None else None
        self.h2 = h2
        self.h2_first: bytes | None = None  # what an HTTP/2 client sent first, once known

    @property
    def deadline(self) -> float:
        """When the client must have made progress by (the state machine's): the reaper's."""
        return self.conn.deadline

    def stop(self) -> bool:
        """The server is stopping: True if the connection is idle and may close now."""
        return self.conn.stop()

    async def run(self, live: set[Live]) -> None:
        """Serve this connection until it ends, then close it; ``live`` tracks it meanwhile."""
        live.add(self)
        try:
            try:
                # Entered by hand, not by a with (nor async with) statement, which keeps the
                # bound __exit__ on this frame's stack: one more object the collector walks
                # in every full pass for as long as a WebSocket lives.
                scope = self.scope
                scope.__enter__()
                try:
                    await self._serve()
                    if self.upgrade is not None:
                        live.discard(self)  # no HTTP deadline: the hub keeps its timers
                        await self._websocket()  # the socket's whole life
                except BaseException as exc:
                    if not scope.__exit__(type(exc), exc, exc.__traceback__):
                        raise
                else:
                    scope.__exit__(None, None, None)
                if self.h2_first is not None:
                    await self._serve_h2(self.h2_first, live)
                elif self.scope.cancelled_caught:
                    # The reaper or a stop: the state machine says what that means now.
                    refusal = self.conn.timed_out()
                    if refusal is not None:
                        await self.io.send_all(self.conn.refusal_bytes(refusal), self.send_meter)
                        await self._linger()
            finally:
                await self.stream.aclose()
        except SlowClientError as exc:
            logger.info("connection from %s cut: %s", self.client, exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            # The client went away (reset, closed, stopped reading): its business, not an error.
            logger.debug("connection from %s ended by the client: %s", self.client, exc)
        except Exception:
            # A bug of ours in one connection must not end serve(); say so loudly.
            logger.exception("connection from %s failed", self.client)
        finally:
            live.discard(self)
            if self.upgrade is not None:  # switched, and ended before the session ran
                self.upgrade[0].abandon("the connection ended before the WebSocket began")
                self.upgrade = None
            self.conn.release()
            self.transport.connection_lost()
            if self.watched is not None:
                client_gone(self.watched)  # the connection is over: so is any handler for it

    async def _read(self) -> int:
        """Feed the state machine one read (``b""`` at EOF or a broken connection); its size."""
        try:
            data = await self.io.receive_some(READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        self.conn.receive_data(data, self.clock.current_time())
        return len(data)

    async def _serve(self) -> None:
        conn = self.conn
        if self.h2 is not None and await self._speaks_h2():
            return
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                await self._read()
            elif isinstance(event, Head):
                if not await self._handle(event):
                    if conn.in_message:
                        await self._linger()
                    return
            elif isinstance(event, Refusal):
                await self.io.send_all(conn.refusal_bytes(event), self.send_meter)
                await self._linger()
                return
            else:
                return  # None: the connection is over

    async def _speaks_h2(self) -> bool:
        """Read the client's first bytes: True if it speaks HTTP/2 (``h2_first`` holds them);
        otherwise they go to the HTTP/1.1 state machine, as any read's do."""
        data, h2 = await first_bytes(self.io)
        if h2:
            self.h2_first = data
        else:
            self.conn.receive_data(data, self.clock.current_time())
        return h2

    async def _serve_h2(self, first: bytes, live: set[Live]) -> None:
        """Serve the rest of the connection as HTTP/2 (``first``: the bytes already read)."""
        assert self.h2 is not None
        session = H2Session(
            self.io,
            self.client,
            self.settings,
            h1_limits(self.settings),
            self.h2,
            self.deliver,
            self.scheme,
            self.send_meter,
            self.transport,
        )
        live.discard(self)
        live.add(session)
        try:
            await session.run(first)
        finally:
            live.discard(session)

    async def _linger(self) -> None:
        """Half-close, then drain what the client still sends, for a bounded time.

        Closing with unread input makes the kernel reset the connection, which
        can destroy the answer just sent before the client reads it.
        """
        if not isinstance(self.stream, trio.abc.HalfCloseableStream):
            return  # nothing to half-close (a TLS stream): the answer is out, close now
        try:
            await self.stream.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        drained = 0
        with trio.move_on_after(self.settings.lingering_time):
            while drained < LINGER_BYTES:
                data = await self.stream.receive_some(READ_SIZE)
                if not data:
                    return
                drained += len(data)

    async def _watch(self, request: Request) -> None:
        """While a handler runs, notice the client leaving (``handler_cancellation``).

        Only once its body has been read whole: until then the handler reads the
        socket itself, and learns of the end there. Bytes that arrive instead (a
        pipelined request) go to the state machine, and the watch ends.
        """
        if not self.conn.body_done:
            return
        try:
            data = await self.io.receive_some(READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        self.conn.receive_data(data, self.clock.current_time())
        if not data:
            client_gone(request)

    async def receive_body(self) -> bytes:
        """The next piece of the current request's body (``b""`` at its end).

        Runs in the handler's task. Raises ``RequestPayloadError`` (400) for a
        body cut short or malformed, ``HTTPRequestTimeout`` (408) when it
        arrives slower than ``min_request_body_rate``, ``ConnectionResetError``
        if the client has gone.
        """
        conn = self.conn
        while True:
            event = conn.next_event()
            if isinstance(event, bytes):
                return event
            if event is END:
                return b""
            if isinstance(event, Refusal):
                raise RequestPayloadError(event.reason)
            if event is not NEED_DATA:
                raise RequestPayloadError("connection closed in the middle of the body")
            continue_bytes = conn.continue_bytes()
            if continue_bytes:
                # Sent only now that a handler reads: a 413 could still have refused first.
                try:
                    await self.io.send_all(continue_bytes, self.send_meter)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise ClientDisconnectedError("the client went away before its body") from exc
            if self.body_meter is None:
                await self._read()
            else:
                # Body reads happen in the handler's task: they need a deadline of their own.
                await receive_within(self.body_meter, self._read, _moved)

    async def _handle(self, head: Head) -> bool:
        """Deliver one request and answer it; True when the connection may carry another."""
        conn = self.conn
        if self.send_meter is not None:
            self.send_meter.reset()  # each response proves the client's pace afresh
        if conn.body_done:
            content = EMPTY_PAYLOAD
        else:
            if self.body_meter is not None:
                self.body_meter.reset()
            settings = self.settings
            content = body_stream(
                self.receive_body,
                head.headers,
                declared_length=head.content_length,
                auto_decompress=settings.auto_decompress,
                read_bufsize=settings.read_bufsize,
            )
        target_path, _, query = head.target.partition(b"?")
        reply, receiver = open_reply()
        request = new_request(
            head.method,
            target_path.decode("latin-1"),
            query.decode("latin-1"),
            head.headers,
            content,
            reply,
            http_version(head.http_version),
            self.scheme,
            self.client,
            head.keep_alive,
            self.client_max_size,
            disconnected=trio.Event() if self.settings.handler_cancellation else None,
            transport=self.transport,
        )
        if request.disconnected is None:
            receiver.on_answer(self._answered)
            response = await exchange(self.deliver, request, receiver)
        else:
            self.watched = request
            async with trio.open_nursery() as watching:
                watching.start_soon(self._watch, request)
                response = await exchange(self.deliver, request, receiver)
                watching.cancel_scope.cancel()
        early = self.early
        if early is not None:
            # A plain answer went out at its hand-over (_answered): finish what it left.
            self.early = None
            if isinstance(early, Exception):
                raise early
            if early:
                await self.io.send_rest(early, self.send_meter)
            return conn.cycle(self.clock.current_time())
        if self.upgrade is not None:
            return False  # a WebSocket, switched to at the hand-over: run() serves it
        plain = conn.plain_response_bytes(response)
        if plain is not None:
            await self.io.send_all(plain, self.send_meter)
            return conn.cycle(self.clock.current_time())
        if isinstance(response, WebSocketResponse):
            self._switch(response)  # (handler_cancellation: nothing ran at the hand-over)
            return False
        accept_encoding = _header(head, b"accept-encoding") if response._compression else None
        wire = frame(
            response,
            head.method,
            http10=head.http_version == "1.0",
            accept_encoding=accept_encoding,
        )
        data = conn.response_bytes(wire)
        if wire.pipe is None:
            await self.io.send_all(data, self.send_meter)
            return conn.cycle(self.clock.current_time())
        complete = await self._stream(wire, wire.pipe, data)
        return complete and conn.cycle(self.clock.current_time())

    def _answered(self, response: StreamResponse) -> None:
        """At the hand-over, in the answering task: a plain answer goes on the wire now,
        and so does a WebSocket's 101.

        One scheduler round less between the answer and the client: this
        connection's task, once woken, only sends what the kernel did not take.
        A WebSocket whose 101 the kernel took whole is open before its
        handler's ``prepare()`` even waits: the handler goes on at once, and
        this connection's task, once woken, starts reading.
        """
        try:
            if isinstance(response, WebSocketResponse):
                session, head, trailing = self._switch(response)
                rest = self.io.write_some(head)
                self.upgrade = (session, rest, trailing)
                if not rest:
                    session.open()
                return
            plain = self.conn.plain_response_bytes(response)
            if plain is not None:
                self.early = self.io.write_some(plain)
        except Exception as exc:
            # Raised again in this connection's task (_handle), where it belongs: a
            # vanished client ends the connection quietly, a bug of ours is logged.
            self.early = exc

    def _switch(self, response: WebSocketResponse) -> tuple[WSSession, bytes, bytes]:
        """Switch to the WebSocket ``response`` accepted: its session, its 101, what followed.

        Sets :attr:`upgrade`, which :meth:`run` serves once the HTTP exchange is over.
        """
        link = response._link
        assert link is not None, "a WebSocketResponse is handed over by its prepare()"
        # prepare() accepted the handshake, which asks for exactly what llhttp calls
        # an upgrade (Connection: upgrade and an Upgrade field), so the parser saw one.
        assert self.conn.upgrade_requested
        trailing = self.conn.upgrade_data
        head = self.conn.switch_protocols(frame(response, "GET"))
        self.body_meter = self.send_meter = None  # HTTP's, not the WebSocket's
        session = WSSession(self.io, self.stream, link, self.hub, self.scope)
        self.upgrade = upgrade = (session, head, trailing)
        return upgrade

    def _websocket(self) -> Coroutine[Any, Any, None]:
        """Serve the WebSocket this connection became (:attr:`upgrade`) until it ends.

        Awaited by :meth:`run` itself, after the HTTP exchange's frames have
        returned (and not async itself): a WebSocket lives long, and its task
        keeps only the frames it needs.
        """
        assert self.upgrade is not None
        session, head, trailing = self.upgrade
        self.upgrade = None
        return session.run(head, trailing)

    async def _stream(self, wire: Wire, pipe: BodyPipe, head: bytes) -> bool:
        """Send a streamed body as the handler writes it; False if it could not be completed."""
        send, meter = self.io.send_all, self.send_meter
        try:
            await send(head, meter)
            while data := await pipe.read():
                await send(self.conn.data_bytes(wire, data), meter)
            await send(self.conn.end_bytes(wire), meter)
        except PipeAborted:
            # The handler failed part-way (the router logged why): cut the connection,
            # so the client sees the body was not complete.
            return False
        except ValueError as exc:
            logger.error("streamed response cut: %s", exc)
            pipe.break_(str(exc))
            return False
        except SlowClientError as exc:
            pipe.break_(str(exc))
            raise
        except BaseException:
            # The client went away, or a stop cut us: the writer learns on its next write.
            pipe.break_("the client went away")
            raise
        return True


def _moved(count: int) -> int:
    return count  # what _read returns is already the number of bytes it fed


def _transport_of(stream: trio.abc.Stream, peer: Peer) -> ConnectionTransport:
    """What ``request.transport`` shows of a connection: its socket, addresses and TLS."""
    if isinstance(stream, TLSStream):
        return ConnectionTransport(
            stream.transport.socket,
            peer,
            ssl_context=stream.ssl_object.context,
            ssl_object=stream.ssl_object,
        )
    socket = stream.socket if isinstance(stream, trio.SocketStream) else None
    return ConnectionTransport(socket, peer)


def _header(head: Head, name: bytes) -> str | None:
    for field, value in head.headers:
        if field.lower() == name:
            return value.decode("latin-1")
    return None


def h1_timeouts(settings: StartServer) -> H1Timeouts:
    """The state machine's timeouts from the server's settings."""
    return H1Timeouts(keep_alive=settings.keep_alive_timeout, header=settings.header_timeout)


def h1_limits(settings: StartServer) -> H1Limits:
    """The parser's limits from the server's settings."""
    return H1Limits(
        max_request_line=settings.max_request_line,
        max_header_line=settings.max_header_line,
        max_headers=settings.max_headers,
        max_header_size=settings.max_header_size,
    )
