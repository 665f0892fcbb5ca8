"""WebSockets on the httptools transport: wsproto on the connection's own trio stream.

Once a handler's ``WebSocketResponse`` comes back on the reply, the
connection task writes the 101 and runs :func:`serve_websocket`: in a
nursery of its own, one task reads the socket into wsproto and sends whole
messages to the handler's inbound channel, one takes the handler's
outbound channel and writes its frames, and with a ``heartbeat`` a third
pings. The channels are the response's :class:`~actorhttp._web._wslink.WSLink`
(bounds and backpressure are described there): the reader stops reading
the socket while the inbound channel is full.

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
* the handler done without a close frame (it failed): close 1011.
"""

from __future__ import annotations

import logging

import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.extensions import Extension
from wsproto.utilities import LocalProtocolError

from .._web._wslink import WSLink
from .._web._wsmodels import WebSocketError, WSCloseCode, WSMessage, WSMsgType

__all__ = ["serve_websocket"]

logger = logging.getLogger("actorhttp")
READ_SIZE = 64 * 1024
WRITE_BATCH = 64  # outbound messages joined into one send_all when they are queued already
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024

_TEXT, _BINARY = WSMsgType.TEXT, WSMsgType.BINARY
_OPEN, _CLOSED = ConnectionState.OPEN, ConnectionState.CLOSED
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING


async def serve_websocket(
    stream: trio.abc.Stream,
    head: bytes,
    trailing: bytes,
    link: WSLink,
    going_away: trio.Event | None = None,
) -> None:
    """Send the 101 ``head``, then carry ``link``'s messages until the WebSocket ends.

    ``trailing`` is what the client sent after its request's head. Returns
    once the connection is over (the caller closes ``stream``); the link is
    finished by then, so the handler's receive ends and its sends fail.
    When ``going_away`` is set (the server is stopping) the client gets a
    close 1001, and the handler the client's answer to it.
    """
    try:
        await stream.send_all(head)
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        link.refuse(f"the client went away before the handshake's answer: {exc}")
        return
    extension = link.extension
    link.accept(can_ping=True, compress=extension.server_max_window_bits if extension else 0)
    try:
        await _Session(stream, link, trailing).run(going_away)
    finally:
        link.finish()


class _Session:
    """The reader, writer and heartbeat tasks of one WebSocket, around one wsproto Connection."""

    def __init__(self, stream: trio.abc.Stream, link: WSLink, trailing: bytes) -> None:
        self.stream = stream
        self.link = link
        extensions: list[Extension] | None = [link.extension] if link.extension else None
        self.ws = Connection(ConnectionType.SERVER, extensions, trailing)
        # Frames are made and written under one lock: they leave in the order
        # wsproto made them (permessage-deflate's context depends on it).
        self.lock = trio.Lock()
        self.last_received = trio.current_time()

    async def run(self, going_away: trio.Event | None = None) -> None:
        async with trio.open_nursery() as nursery:
            scope = nursery.cancel_scope
            nursery.start_soon(self._write, scope)
            if going_away is not None:
                nursery.start_soon(self._go_away, going_away)
            if self.link.heartbeat is not None:
                nursery.start_soon(self._heartbeat, self.link.heartbeat, scope)
            if await self._read():
                scope.cancel()
            # else the handler is gone: the writer ends once its close frame is out

    async def _send(self, event: Event) -> bool:
        """Make ``event``'s frame and write it; False if the state forbids it."""
        async with self.lock:
            try:
                data = self.ws.send(event)
            except LocalProtocolError as exc:
                logger.debug("websocket: %r not sent: %s", event, exc)
                return False
            await self.stream.send_all(data)
        return True

    # -- reading ---------------------------------------------------------------

    async def _deliver(self, message: WSMessage) -> bool:
        """Hand ``message`` to the handler, waiting while its inbound channel is full.

        False once the handler has stopped receiving for good.
        """
        send = self.link.inbound_send
        try:
            try:
                send.send_nowait(message)
            except trio.WouldBlock:
                await send.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    async def _read(self) -> bool:
        """Read until the WebSocket ends; True if the session must end now.

        False means the handler stopped receiving: the writer ends the
        session once the handler's close frame (or 1011) is out.
        """
        ws, stream = self.ws, self.stream
        limit = self.link.max_msg_size
        texts: list[str] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            for event in ws.events():
                if isinstance(event, Message):
                    data = event.data
                    if isinstance(data, str):
                        size += len(data) if data.isascii() else len(data.encode("utf-8"))
                        texts.append(data)
                    else:
                        size += len(data)
                        chunks.append(data)
                    if limit and size > limit:
                        reason = f"Message size {size} exceeds limit {limit}"
                        await self._fail(WSCloseCode.MESSAGE_TOO_BIG, reason)
                        return True
                    if not event.message_finished:
                        continue
                    if isinstance(event, TextMessage):
                        message = WSMessage(_TEXT, "".join(texts), None)
                    else:
                        message = WSMessage(_BINARY, b"".join(chunks), None)
                    texts, chunks, size = [], [], 0
                elif isinstance(event, Ping | Pong):
                    kind = WSMsgType.PING if isinstance(event, Ping) else WSMsgType.PONG
                    message = WSMessage(kind, bytes(event.payload), None)
                elif isinstance(event, CloseConnection):
                    state = ws.state
                    if state is not _REMOTE_CLOSING and state is not _CLOSED:
                        # wsproto reports a protocol error as a close event, its state unchanged.
                        await self._fail(event.code, event.reason or "protocol error")
                        return True
                    message = WSMessage(WSMsgType.CLOSE, int(event.code), event.reason or "")
                    if not await self._deliver(message):
                        return False
                    if state is _CLOSED:
                        return True  # the reply to our close frame: the handshake is complete
                    continue  # the client's close frame: the handler answers it
                else:  # pragma: no cover - wsproto has no other events after the handshake
                    continue
                if not await self._deliver(message):
                    return False
            try:
                data = bytes(await stream.receive_some(READ_SIZE))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                return True  # the client went away (or closed after the handshake)
            self.last_received = trio.current_time()
            state = ws.state
            if state is _CLOSED:
                return True  # both close frames are out: what a client sends after is dropped
            if state is not _REMOTE_CLOSING:  # after its close frame a client sends nothing
                ws.receive_data(data)

    async def _fail(self, code: int, reason: str) -> None:
        """Fail the WebSocket (RFC 6455 7.1.7): close frame, tell the handler, linger, end."""
        error = WebSocketError(code, reason)
        if self.ws.state is _OPEN:
            try:
                await self._send(CloseConnection(code, reason[:100]))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        try:
            self.link.inbound_send.send_nowait(WSMessage(WSMsgType.ERROR, error, None))
        except trio.WouldBlock:
            self.link.fail(error)  # a full channel: the handler learns at its next receive
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        self.link.finish()
        await self._linger()

    async def _linger(self) -> None:
        """Half-close and drain for a moment, so the close frame is read, not reset away."""
        stream = self.stream
        if not isinstance(stream, trio.abc.HalfCloseableStream):
            return  # nothing to half-close (a TLS stream): the close frame is out, close now
        try:
            async with self.lock:
                await stream.send_eof()
            drained = 0
            with trio.move_on_after(LINGER_SECONDS):
                while drained < LINGER_BYTES:
                    data = await self.stream.receive_some(READ_SIZE)
                    if not data:
                        return
                    drained += len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    # -- writing ---------------------------------------------------------------

    def _frame(self, message: WSMessage) -> bytes:
        kind = message.type
        event: Event
        if kind is _TEXT:
            event = TextMessage(message.data)
        elif kind is _BINARY:
            event = BytesMessage(message.data)
        elif kind is WSMsgType.PING:
            event = Ping(message.data)
        elif kind is WSMsgType.PONG:
            event = Pong(message.data)
        else:
            event = CloseConnection(message.data, message.extra or None)
        try:
            return self.ws.send(event)
        except LocalProtocolError as exc:
            # A message after the client's close frame: the handler's send came too late.
            logger.debug("websocket: %s not sent: %s", kind.name, exc)
            return b""

    async def _write(self, session: trio.CancelScope) -> None:
        receive = self.link.outbound_receive
        ws = self.ws
        try:
            while True:
                try:
                    message = await receive.receive()
                except trio.EndOfChannel:
                    break  # the handler is done with the socket
                except trio.ClosedResourceError:
                    return  # the session is ending
                async with self.lock:
                    chunks = [self._frame(message)]
                    while len(chunks) < WRITE_BATCH:
                        try:
                            chunks.append(self._frame(receive.receive_nowait()))
                        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                            break
                    data = b"".join(chunks)
                    if data:
                        await self.stream.send_all(data)
                if ws.state is _CLOSED:
                    session.cancel()  # our reply to the client's close frame is out: done
                    return
            if ws.state is _OPEN or ws.state is _REMOTE_CLOSING:
                await self._send(CloseConnection(self.link.abort_code))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("websocket: the client went away while we wrote: %s", exc)
        session.cancel()

    async def _go_away(self, going_away: trio.Event) -> None:
        """A stop has begun: close 1001 (the client's answer ends the session)."""
        await going_away.wait()
        if self.ws.state is _OPEN:
            try:
                await self._send(CloseConnection(WSCloseCode.GOING_AWAY, "server shutdown"))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the reader sees the end too

    # -- heartbeat -------------------------------------------------------------

    async def _heartbeat(self, interval: float, session: trio.CancelScope) -> None:
        wait_pong = interval / 2
        while True:
            await trio.sleep_until(self.last_received + interval)
            if trio.current_time() < self.last_received + interval:
                continue  # something came meanwhile
            sent_at = trio.current_time()
            try:
                if not await self._send(Ping()):
                    return  # closing: no more pings
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the reader sees the end too
            await trio.sleep(wait_pong)
            if self.last_received < sent_at:
                self.link.fail(TimeoutError(f"No PONG received after {wait_pong} seconds"))
                session.cancel()
                return
