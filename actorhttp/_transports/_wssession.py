"""WebSockets on the httptools transport: one task per socket, writes in the sender's task.

Once a handler's ``WebSocketResponse`` is handed over on the reply, its
101 is written (in the handler's task, at the hand-over, when the kernel
takes it whole; else by the connection's) and the session opens
(:meth:`WSSession.open`: ``prepare()`` returns). The connection task then
runs :meth:`WSSession.run`, and is the socket's only task from then on.
It reads the socket, makes messages of the bytes
(:class:`~._wsframes.FrameCodec`: the common frame by hand, wsproto for
the rest) and puts them in the link's inbound channel, waiting
while it is full (TCP then holds the client back). Nothing else of the
socket has a task:

* **writing**: a message sent while nothing is queued is framed and given
  to the kernel in the sender's own task (the outbox's writer, as aiohttp
  writes), or held a moment to leave with the next ones in one write (a
  handler's to its own socket, until it waits; anyone's while the inbox
  still holds messages, until it is empty or the round ends:
  :meth:`WSSession.write`). What the kernel does not take waits, with
  whatever is sent after it, for a flusher task that exists only while
  there is such a backlog (:class:`~._wshub.WSHub` starts it). Frames leave
  in the order they were made (permessage-deflate's context depends on it).
* **timers** (heartbeat, an actor's close) and **a stop** (close 1001 to
  every open socket) are the server's hub's, not the socket's.

What this side decides, as aiohttp does:

* a message over ``max_msg_size`` is answered with close 1009, text that
  is not UTF-8 with 1007 and any other protocol error with 1002; the
  handler gets ERROR with a ``WebSocketError`` of that code (after what it
  had not read yet, unless its inbound channel is full), and the
  connection ends;
* a close frame from the client goes to the handler as CLOSE, whose reply
  the handler sends; the reply to our own close frame ends the connection
  (the server closes the TCP connection first, as RFC 6455 asks);
* ``heartbeat``: a ping after ``heartbeat`` seconds with nothing received,
  and the connection is dropped (no close frame; 1006 and a
  ``TimeoutError`` for the handler) if nothing comes in ``heartbeat / 2``;
* the handler done without a close frame (it failed): close 1011;
* pings are answered here (PING and PONG reach the handler only with
  ``autoping=False``).

For an actor's socket (``WSLink.actor``) this side also does what the
handler's ``receive()`` would: it answers the client's close frame (1000)
and puts only TEXT, BINARY and ERROR in the inbox; the actor closing its
inbox or outbox closes the socket with 1000 once what it queued has gone,
and the inbox ends when the client answers (or ``close_timeout`` passes).
"""

from __future__ import annotations

import logging
import os

import trio

from .._pipe import before_handler_waits
from .._web._wschannels import OutboxItem
from .._web._wslink import WSLink
from .._web._wsmodels import WSCloseCode, WSMessage, WSMsgType
from ._base import READ_SIZE
from ._sockio import StreamIO
from ._tlsio import TLSStream
from ._wsframes import CLOSED, OPEN, REMOTE_CLOSING, FrameCodec
from ._wshub import WSHub

__all__ = ["WSSession"]

logger = logging.getLogger("actorhttp")
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024
CORK_FRAMES = 16
"""Frames of a handler's held for its next wait, at most: the next one writes them all."""
CORK_BYTES = 16 * 1024
"""A frame this big is written at once (held, it would save nothing worth its copy)."""
_TEXT, _BINARY = WSMsgType.TEXT, WSMsgType.BINARY
_PING, _PONG, _CLOSE = WSMsgType.PING, WSMsgType.PONG, WSMsgType.CLOSE


class WSSession:
    """One WebSocket on one connection: its codec, its backlog, its endings.

    Its methods run in the connection task (:meth:`run`), in the task of
    whoever sends (the outbox's writer), and in the hub's (timers, the stop).
    """

    __slots__ = (
        "_backlog",
        "_clock",
        "_close_after",
        "_close_deadline",
        "_control",
        "_corked",
        "_due",
        "_end_after_flush",
        "_fd",
        "_flusher",
        "_ping_sent",
        "codec",
        "hub",
        "io",
        "last_received",
        "link",
        "opened",
        "over",
        "scope",
        "stream",
    )

    def __init__(
        self,
        io: StreamIO | TLSStream,
        stream: trio.abc.Stream,
        link: WSLink,
        hub: WSHub,
        scope: trio.CancelScope,
    ) -> None:
        self.io = io
        self.stream = stream
        self.link = link
        self.hub = hub
        self.scope = scope
        self.codec = FrameCodec(link.extension, link.max_msg_size)
        # A plain socket's descriptor (-1 for TLS and other streams): read and written
        # directly. It stays this socket's while the session lives: the socket is closed
        # only once run() has returned, and every writer is refused by then.
        self._fd = io.fileno()
        self.over = False
        self.opened = False  # the 101 is out and the link accepted (open())
        # Bytes the kernel did not take (a flusher is at work) or None; while set, frames
        # queue in the outbox, and our own control frames in _control.
        self._backlog: bytes | None = None
        self._control: list[bytes] | None = None
        self._corked: list[bytes] | None = None  # the handler's frames until it waits
        self._close_after: int | None = None  # close with this once the queue has gone
        self._end_after_flush = False
        self._flusher: trio.CancelScope | None = None
        self._due = 0.0  # when the hub's entry for this socket is due (0: none)
        self._close_deadline = 0.0
        self._ping_sent = 0.0
        self._clock = trio.lowlevel.current_clock()
        self.last_received = 0.0

    # -- the connection task ---------------------------------------------------------

    def open(self) -> None:
        """The 101 is out: the handler's ``prepare()`` returns, and the socket joins the hub.

        Called in whichever task wrote the 101's last byte: the handler's own at
        its hand-over (the common case, see ``ConnectionTask._answered``), or the
        connection's (:meth:`run`).
        """
        link = self.link
        link.outbound.attach(self)
        link.inbound.attach(self)
        extension = link.extension
        link.accept(can_ping=True, compress=extension.server_max_window_bits if extension else 0)
        self.opened = True
        self.hub.add(self)
        heartbeat = link.heartbeat
        if heartbeat is not None:
            self.last_received = self._clock.current_time()
            self._wake_at(self.last_received + heartbeat)

    async def run(self, head: bytes, trailing: bytes) -> None:
        """Send what is left of the 101 ``head`` (b"" once :meth:`open`), then read and
        deliver until the WebSocket ends.

        ``trailing`` is what the client sent after its request's head. This
        returns once the connection is over (the caller closes the stream,
        and cancelling the session's ``scope`` ends it); the link is finished
        by then, so the handler's receive ends and its sends fail.
        """
        link, codec, io = self.link, self.codec, self.io
        try:
            if not self.opened:
                try:
                    await io.send_all(head, None)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    link.refuse(f"the client went away before the handshake's answer: {exc}")
                    return
                self.open()
            heartbeat = link.heartbeat
            codec.receive_data(trailing)
            fd = self._fd
            read_first = False  # a client speaks once it has the 101: nothing is there yet
            while not self.over:
                messages = codec.next_messages()
                if messages:
                    if not await self._deliver(messages):
                        return
                    continue
                if fd < 0:
                    try:
                        data = await io.receive_some(READ_SIZE)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        data = b""
                else:
                    # The socket's own descriptor, read here rather than through StreamIO:
                    # one coroutine frame less for the socket's whole life. A client
                    # talks in turns, so wait first, unless the last read filled the buffer.
                    try:
                        if not read_first:
                            await trio.lowlevel.wait_readable(fd)
                        data = os.read(fd, READ_SIZE)
                    except BlockingIOError:
                        read_first = False
                        continue
                    except (OSError, trio.ClosedResourceError):
                        data = b""  # reset, or closed by the stop's cut
                    read_first = len(data) == READ_SIZE
                if not data:
                    return  # the client went away (or closed after its close frame)
                if heartbeat is not None:
                    self.last_received = self._clock.current_time()
                codec.receive_data(data)
        finally:
            self.finish()

    def abandon(self, reason: str) -> None:
        """The connection ended before :meth:`run` began: a ``prepare()`` still waiting
        raises ``ConnectionResetError(reason)``, and the link ends."""
        self.link.refuse(reason)
        self.finish()

    def finish(self) -> None:
        """The connection is over: the link ends, the hub lets go."""
        self.over = True
        if self.opened:
            self.hub.discard(self)
        self.link.finish()
        if self._flusher is not None:
            self._flusher.cancel()

    async def _deliver(self, messages: list[WSMessage]) -> bool:
        """Hand ``messages`` on (or answer them); False once the WebSocket is over."""
        link = self.link
        inbound = link.inbound
        for message in messages:
            kind = message.type
            if kind is _TEXT or kind is _BINARY:
                try:
                    try:
                        inbound.put_nowait(message)
                    except trio.WouldBlock:
                        await inbound.put(message)
                except trio.BrokenResourceError:
                    pass  # nobody receives any more: the socket is closing
            elif kind is _PING or kind is _PONG:
                if not link.autoping:
                    await self._queue(message)
                elif kind is _PING:
                    self._send_control(self.codec.control(0x8A, message.data))
            elif kind is _CLOSE:
                if self.codec.state is CLOSED:  # the reply to our close frame
                    if not link.actor:
                        await self._queue(message)
                    return False
                if link.actor:  # the client's: answered as a handler's receive() would
                    self._close(WSCloseCode.OK)
                else:
                    await self._queue(message)  # the handler answers it
            else:  # ERROR: the client broke the protocol
                await self._fail(message)
                return False
        return True

    async def _queue(self, message: WSMessage) -> None:
        try:
            await self.link.inbound.put(message)
        except trio.BrokenResourceError:
            pass

    async def _fail(self, error: WSMessage) -> None:
        """Fail the WebSocket (RFC 6455 7.1.7): close frame, tell the handler, linger, end."""
        exc = error.data
        if self.codec.state is OPEN:
            self._send_control(self.codec.close_frame(exc.code, str(exc)[:100]))
        link = self.link
        try:
            link.inbound.put_nowait(error)
        except trio.WouldBlock:
            link.fail(exc)  # a full channel: the handler learns at its next receive
        except trio.BrokenResourceError:
            pass
        link.finish()
        if self._backlog is None:
            await self._linger()

    async def _linger(self) -> None:
        """Half-close and drain for a moment, so the close frame is read, not reset away."""
        stream = self.stream
        if not isinstance(stream, trio.abc.HalfCloseableStream):
            return  # nothing to half-close (a TLS stream): the close frame is out, close now
        try:
            await stream.send_eof()
            drained = 0
            with trio.move_on_after(LINGER_SECONDS):
                while drained < LINGER_BYTES:
                    data = await self.io.receive_some(READ_SIZE)
                    if not data:
                        return
                    drained += len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    # -- writing (any task) -------------------------------------------------------------

    def write(self, item: OutboxItem, cork: bool = False) -> bool:
        """The outbox's peer: frame ``item`` and write it now; False while a backlog waits.

        A frame may be held back, to leave with the next ones in one write
        (an echo answers a batch of messages with one system call, not one each):

        * ``cork`` (the socket's own handler sends it): until that handler next
          waits (``_pipe.before_handler_waits``);
        * sent while the socket's receiver (an actor, most often) still has
          messages in its inbox to take, so is working through a batch: until
          the sender gives the scheduler back, at the end of the scheduler's
          round (``WSHub.at_round_end``), or until something is sent while the
          inbox is empty (its answer to the batch's last message), whichever
          comes first. A message sent while the inbox is empty (a lone
          message, a broadcast) is never held: it leaves at once, with what
          was held before it.

        At most :data:`CORK_FRAMES` frames are held, each under
        :data:`CORK_BYTES`; control frames (a close) are never held, and take
        what is held with them, in order.
        """
        if self._backlog is not None:
            return False
        data = self.codec.frame(item)
        if data and type(item) is not WSMessage and len(data) < CORK_BYTES:
            corked = self._corked
            if corked is not None:
                if len(corked) < CORK_FRAMES and (cork or self.link.inbound.queued):
                    corked.append(data)
                    return True
                # Full (a sender that sends on and on without waiting: written as it
                # goes), or the batch's last answer: out now, with what is held.
            elif cork:
                if before_handler_waits(self.uncork):
                    self._corked = [data]
                    return True
            elif self.link.inbound.queued:
                self._corked = [data]
                self.hub.at_round_end(self)
                return True
        if data:
            self._write_now(data)
        if type(item) is WSMessage and item.type is _CLOSE:
            self._closed_by_us()
        return True

    def uncork(self) -> None:
        """The sender has waited (its turn, or the scheduler's round, ended): what it
        held goes now."""
        if self._corked is not None:
            self._write_now(b"")

    def _write_now(self, data: bytes) -> None:
        if self.over:
            return  # the socket is closed or closing: its descriptor may be another's soon
        corked = self._corked
        if corked is not None:  # frames held back go first
            self._corked = None
            corked.append(data)
            data = b"".join(corked)
        fd = self._fd
        try:
            if fd < 0:
                rest = self.io.write_some(data)
            else:
                try:
                    written = os.write(fd, data)
                except BlockingIOError:
                    written = 0
                rest = data[written:] if written < len(data) else b""
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("websocket: the client went away while we wrote: %s", exc)
            self._stop()
            return
        if rest:
            self._backlog = rest
            self.hub.spawn(self._flush)

    def _send_control(self, data: bytes) -> None:
        """One of our own frames (pong, ping, close): now, or right after the backlog."""
        if not data or self.over:
            return
        if self._backlog is None:
            self._write_now(data)
        elif self._control is None:
            self._control = [data]
        else:
            self._control.append(data)

    async def _flush(self) -> None:
        """Write the backlog, then what queued behind it, until nothing is left."""
        outbound = self.link.outbound
        with trio.CancelScope() as self._flusher:
            try:
                rest = self._backlog
                assert rest is not None
                await self.io.send_rest(rest, None)  # what the kernel left of a write
                while True:
                    frames = self._control or []
                    self._control = None
                    closing = False
                    while True:
                        try:
                            item = outbound.take_nowait()
                        except trio.EndOfChannel:
                            break
                        if item is None:
                            break
                        frames.append(self.codec.frame(item))
                        if type(item) is WSMessage and item.type is _CLOSE:
                            closing = True
                    if self._close_after is not None and not closing:
                        frames.append(self.codec.close_frame(self._close_after))
                        self._close_after = None
                        closing = True
                    data = b"".join(frames)
                    if not data:
                        break
                    self._backlog = data
                    if closing:
                        self._closed_by_us()
                    await self.io.send_all(data, None)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                logger.debug("websocket: the client went away while we wrote: %s", exc)
                self._stop()
            finally:
                self._backlog = None
                self._flusher = None
        if self._end_after_flush:
            self._stop()

    # -- endings (any task) ---------------------------------------------------------------

    def _stop(self) -> None:
        """End the WebSocket now: the connection task is cancelled, and closes the socket."""
        self.over = True
        self.scope.cancel()

    def _closed_by_us(self) -> None:
        """Our close frame is out (or on its way): nothing more may be sent after it."""
        link = self.link
        link.outbound.break_("the WebSocket is closing")
        if self.codec.state is CLOSED:
            self._end()  # it answered the client's: the close handshake is complete
        elif link.actor and not self.over:
            # The inbox ends with the client's answer; no answer in time: dropped.
            self._close_deadline = self._due = self._clock.current_time() + link.close_timeout
            self.hub.in_order_at(self._close_deadline, self)

    def _end(self) -> None:
        """End once what is being written has gone."""
        if self._backlog is None:
            self._stop()
        else:
            self._end_after_flush = True

    def _close(self, code: int) -> None:
        """Close with ``code`` after what is queued (at once if nothing is)."""
        if self.codec.state is not OPEN and self.codec.state is not REMOTE_CLOSING:
            return  # ours went already
        if self._backlog is None:
            self._send_control(self.codec.close_frame(code))
            self._closed_by_us()
        else:
            self._close_after = code

    def sender_closed(self) -> None:
        """The handler (or actor) is done sending: close once its queue has gone."""
        link = self.link
        if self.over:
            return
        if link.actor:
            self._close(WSCloseCode.OK)
            return
        # A handler: done with the socket (after its close(), or failing: abort_code).
        self._close(link.abort_code)
        self._end()

    def receiver_closed(self) -> None:
        """The actor closed its inbox: what it queued goes, then the socket closes (1000)."""
        if self.link.actor and not self.over:
            self.link.outbound.seal("the actor closed the WebSocket's inbox")
            self._close(WSCloseCode.OK)

    # -- the hub's -------------------------------------------------------------------------

    def _wake_at(self, when: float) -> None:
        self._due = when
        self.hub.at(when, self)

    def go_away(self) -> None:
        """The server is stopping: close 1001 now (the client's answer ends the socket)."""
        if self.codec.state is OPEN and not self.over:
            self._send_control(self.codec.close_frame(WSCloseCode.GOING_AWAY, "server shutdown"))
            self._closed_by_us()

    def on_timer(self, now: float) -> None:
        """A due time came: a ping, a missed pong, or an actor's close not answered."""
        if self.over or now < self._due:
            return  # stale: a later entry is in the heap
        if self._close_deadline and now >= self._close_deadline:
            self._stop()
            return
        interval = self.link.heartbeat
        if interval is None:
            return
        if self._ping_sent:
            if self.last_received < self._ping_sent:
                error = TimeoutError(f"No PONG received after {interval / 2} seconds")
                if self.link.actor:  # the actor's inbox says why, as a handler's receive() does
                    try:
                        self.link.inbound.put_nowait(WSMessage(WSMsgType.ERROR, error, None))
                    except (trio.WouldBlock, trio.BrokenResourceError):
                        pass
                self.link.fail(error)
                self._stop()
                return
            self._ping_sent = 0.0
        due = self.last_received + interval
        if now < due:
            self._wake_at(due)  # something came meanwhile
            return
        if self.codec.state is not OPEN:
            return  # closing: no more pings
        self._send_control(self.codec.control(0x89, b""))
        self._ping_sent = now
        self._wake_at(now + interval / 2)
