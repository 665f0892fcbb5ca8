"""WebSocket routes served by an actor: the socket as a pair of channels in a message.

``app.router.add_websocket(path, mailbox)`` adds a GET route whose handler
(:func:`websocket_route`) prepares a ``WebSocketResponse`` (a plain GET gets
its 400), and sends a :class:`~actorhttp.messages.WebSocketConnection` to
the actor's ``mailbox``; middlewares wrap it as any other. The connection's
``inbox`` and ``outbox`` are the socket's own channels
(:mod:`actorhttp._web._wschannels`): the connection puts the client's
messages straight into the inbox, and what the actor sends goes to the
socket in the actor's own task. So once the actor has the connection the
handler returns: nothing of the socket waits in a task of its own but the
connection's, which reads it.

Endings, either side (the transport does them: ``_transports._wssession``):
the client's close frame or a lost connection ends the inbox (the actor's
next send raises ``trio.BrokenResourceError``); the actor closing its outbox
closes the socket with 1000 after what it queued and the close handshake
(or with the code of a CLOSE message it sent), and the inbox ends then;
closing the inbox does the same, at once (the channel tells the
connection). An actor whose mailbox is closed gets the client a close 1013
(try again later) right after the handshake.
"""

from __future__ import annotations

from typing import Any

import trio

from ._web._request import Request
from ._web._response import StreamResponse
from ._web._ws import WebSocketResponse
from ._web._wsmodels import WSCloseCode
from .messages import Handler, WebSocketConnection, WebSocketMailbox

__all__ = ["DEFAULT_INBOX_SIZE", "DEFAULT_OUTBOX_SIZE", "websocket_route"]

DEFAULT_INBOX_SIZE = 16
"""Messages from the client that the actor has not taken yet, at most."""
DEFAULT_OUTBOX_SIZE = 16
"""Messages from the actor that are not on their way to the socket yet, at most."""


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
        ws._for_actor = True  # the link's channels are the actor's (see _wslink)
        ws._inbound_size = inbox_size
        ws._outbound_size = outbox_size
        await ws.prepare(request)
        link = ws._link
        assert link is not None, "prepared"
        connection = WebSocketConnection(request, link.inbound, link.outbound, ws.ws_protocol)
        try:
            try:
                mailbox.send_nowait(connection)  # the common case: no scheduler round trip
            except trio.WouldBlock:
                await mailbox.send(connection)  # the actor is behind: wait for room
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message="the actor has stopped")
            return ws
        ws._detach()  # the actor's now: returning leaves the socket open
        return ws

    return websocket
