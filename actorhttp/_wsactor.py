"""WebSocket routes served by an actor: the socket as a pair of channels in a message.

``app.router.add_websocket(path, mailbox)`` adds a GET route whose handler
(:func:`websocket_route`) prepares a ``WebSocketResponse`` (a plain GET gets
its 400), sends a :class:`~actorhttp.messages.WebSocketConnection` to the
actor's ``mailbox``, and then pumps, in the handler's task, which
middlewares wrap as any other:

* the socket's messages into the connection's ``inbox`` (waiting while it
  is full: the socket's own inbound channel then fills, then TCP);
* the connection's ``outbox`` onto the socket.

Endings, either side: the client's close frame or a lost connection ends
the inbox and closes the outbox's receiving side (the actor's next send
raises ``trio.BrokenResourceError``); the actor closing its outbox closes the
socket with 1000 after the close handshake (or with the code of a CLOSE
message it sent), and the inbox ends then; the actor closing its inbox
closes the socket the same way: at the client's next message, or within
:data:`INBOX_CHECK_INTERVAL` if the client is silent (trio tells a
channel's sender that its receiver closed only when it sends, so a
connection task looks once a second). An actor whose mailbox is closed
gets the client a close 1013 (try again later) right after the handshake.
"""

from __future__ import annotations

from typing import Any

import trio

from ._pipe import ClientDisconnectedError
from ._web._request import Request
from ._web._response import StreamResponse
from ._web._ws import WebSocketResponse
from ._web._wsmodels import WSCloseCode, WSMessage, WSMsgType
from .messages import Handler, WebSocketConnection, WebSocketMailbox

__all__ = ["DEFAULT_INBOX_SIZE", "DEFAULT_OUTBOX_SIZE", "websocket_route"]

DEFAULT_INBOX_SIZE = 16
"""Messages from the client that the actor has not taken yet, at most."""
DEFAULT_OUTBOX_SIZE = 16
"""Messages from the actor that are not on their way to the socket yet, at most."""
INBOX_CHECK_INTERVAL = 1.0
"""Seconds between looks at whether the actor closed an inbox while its client is silent."""


def _size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, not {value!r}")
    return value


def websocket_route(
    mailbox: WebSocketMailbox,
    *,
    inbox_size: int = DEFAULT_INBOX_SIZE,
    outbox_size: int = DEFAULT_OUTBOX_SIZE,
    **ws_options: Any,
) -> Handler:
    """A handler that serves each WebSocket by sending it to ``mailbox`` as a connection message.

    ``ws_options`` are ``WebSocketResponse``'s (``heartbeat``, ``protocols``,
    ``max_msg_size``...); they are checked now, so a bad one fails here.
    """
    if not isinstance(mailbox, trio.MemorySendChannel):
        raise TypeError(f"a WebSocket route's target is an actor's mailbox, not {mailbox!r}")
    inbox_size = _size("inbox_size", inbox_size)
    outbox_size = _size("outbox_size", outbox_size)
    WebSocketResponse(**ws_options)  # TypeError or ValueError now, not per connection

    async def websocket(request: Request) -> StreamResponse:
        ws = WebSocketResponse(**ws_options)
        await ws.prepare(request)
        inbox_send, inbox = trio.open_memory_channel[WSMessage](inbox_size)
        outbox, outbox_receive = trio.open_memory_channel[str | bytes | WSMessage](outbox_size)
        connection = WebSocketConnection(request, inbox, outbox, ws.ws_protocol)
        try:
            await mailbox.send(connection)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message="the actor has stopped")
            return ws
        await _Pump(ws, inbox_send, outbox_receive).run()
        return ws

    return websocket


class _Pump:
    """Carries one socket's messages to and from its actor; see the module docstring.

    Only the outgoing side (the handler's own task) closes the socket, so what
    the actor queued before it closed either side still goes out first.
    """

    def __init__(
        self,
        ws: WebSocketResponse,
        inbox: trio.MemorySendChannel[WSMessage],
        outbox: trio.MemoryReceiveChannel[str | bytes | WSMessage],
    ) -> None:
        self.ws = ws
        self.inbox = inbox
        self.outbox = outbox
        self.finishing = False  # the socket ended, or the actor stopped listening
        self.waiting: trio.CancelScope | None = None  # the outgoing side's wait for the outbox

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._incoming)
                nursery.start_soon(self._watch_inbox)
                await self._outgoing()
                nursery.cancel_scope.cancel()
        finally:
            self.outbox.close()
            self.inbox.close()  # last: once the actor sees its inbox end, its sends fail

    def _finish(self) -> None:
        """Tell the outgoing side to send what is queued, then close (if the socket is open)."""
        self.finishing = True
        if self.waiting is not None:
            self.waiting.cancel()

    async def _incoming(self) -> None:
        """Socket to inbox until the socket ends, or the actor stops listening."""
        async for message in self.ws:
            try:
                await self.inbox.send(message)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                break  # the actor closed its inbox
        self._finish()

    async def _watch_inbox(self) -> None:
        """Notice an inbox closed while the client is silent (trio tells a sender only on send)."""
        while self.inbox.statistics().open_receive_channels:  # noqa: ASYNC110 - no event for it
            await trio.sleep(INBOX_CHECK_INTERVAL)
        self._finish()

    async def _outgoing(self) -> None:
        """Outbox to socket until the actor closes it, sends CLOSE, or the socket is finished."""
        while not self.finishing:
            item: str | bytes | WSMessage | None = None
            with trio.CancelScope() as self.waiting:
                try:
                    item = await self.outbox.receive()
                except trio.EndOfChannel:
                    break  # the actor closed its outbox
            self.waiting = None
            if item is None:
                break  # told to finish while waiting (an item taken already is still sent)
            if not await self._send(item):
                return
        while True:  # what the actor queued before it finished still goes out
            try:
                item = self.outbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if not await self._send(item):
                return
        await self.ws.close()

    async def _send(self, item: str | bytes | WSMessage) -> bool:
        """Send one outbox item; False once the socket is closed (by a CLOSE item, or gone)."""
        ws = self.ws
        try:
            if isinstance(item, str):
                await ws.send_str(item)
            elif isinstance(item, bytes | bytearray | memoryview):
                await ws.send_bytes(item)
            elif isinstance(item, WSMessage) and item.type is WSMsgType.TEXT:
                await ws.send_str(item.data)
            elif isinstance(item, WSMessage) and item.type is WSMsgType.BINARY:
                await ws.send_bytes(item.data)
            elif isinstance(item, WSMessage) and item.type is WSMsgType.CLOSE:
                await ws.close(code=item.data, message=item.extra or "")
                return False
            else:
                raise TypeError(
                    "a WebSocket outbox takes str, bytes or a TEXT, BINARY or CLOSE "
                    f"WSMessage, not {item!r}"
                )
        except ClientDisconnectedError:
            return False  # the socket is closed or gone: the incoming side ends too
        return True
