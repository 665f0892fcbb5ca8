"""WSLink: one WebSocket's two bounded channels between its handler and its connection task.

``WebSocketResponse.prepare()`` makes the link and hands the response over
on the request's reply; the transport that takes it writes the handshake's
answer and calls :meth:`WSLink.accept` (or :meth:`WSLink.refuse`), which
``prepare()`` waits for. From then on:

* **inbound** (connection → handler), :data:`INBOUND_SIZE` messages: TEXT,
  BINARY, PING, PONG, CLOSE and ERROR :class:`WSMessage` items as they
  arrive whole. When it is full the connection task stops reading the
  socket, so TCP holds the client back: a handler that does not receive
  slows its client, never the server's memory (at most this many
  messages of at most ``max_msg_size`` each are held). Its end
  (``EndOfChannel``) means the connection is gone.
* **outbound** (handler → connection), :data:`OUTBOUND_SIZE` messages:
  TEXT, BINARY, PING, PONG and CLOSE items for the connection to send.
  When it is full ``send_str`` and the others wait, so a client that
  reads slowly slows the handler's sends. The handler closes it when it
  is done with the socket; the connection task then closes the socket.

Ownership: the transport closes ``inbound_send`` and ``outbound_receive``
when the connection ends (a handler's later send raises
``ConnectionResetError``); the response closes ``outbound_send`` and
``inbound_receive`` when it is closed (a transport blocked on a full
inbound channel is woken). No I/O here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import trio

from .._pipe import ClientDisconnectedError
from ._wsmodels import WSCloseCode, WSMessage

if TYPE_CHECKING:
    from wsproto.extensions import PerMessageDeflate

__all__ = ["INBOUND_SIZE", "OUTBOUND_SIZE", "WSLink"]

INBOUND_SIZE: Final = 16
"""Whole messages received and not yet taken by the handler, at most."""
OUTBOUND_SIZE: Final = 16
"""Messages the handler has sent and the connection has not yet written, at most."""


class WSLink:
    """The channels and the facts both sides of one WebSocket need; see the module docstring."""

    __slots__ = (
        "_accepted",
        "abort_code",
        "can_ping",
        "compress",
        "extension",
        "failure",
        "heartbeat",
        "inbound_receive",
        "inbound_send",
        "max_msg_size",
        "outbound_receive",
        "outbound_send",
        "protocol",
        "refused",
    )

    def __init__(
        self,
        *,
        protocol: str | None,
        extension: PerMessageDeflate | None,
        heartbeat: float | None,
        max_msg_size: int,
    ) -> None:
        self.inbound_send, self.inbound_receive = trio.open_memory_channel[WSMessage](INBOUND_SIZE)
        self.outbound_send, self.outbound_receive = trio.open_memory_channel[WSMessage](
            OUTBOUND_SIZE
        )
        self.protocol = protocol  # the subprotocol chosen, or None
        self.extension = extension  # permessage-deflate as negotiated, or None
        self.heartbeat = heartbeat  # seconds between pings, or None
        self.max_msg_size = max_msg_size  # 0: no limit
        self._accepted = trio.Event()
        self.refused: str | None = None
        self.can_ping = True  # False where the transport cannot send ping/pong frames
        self.compress = 0  # permessage-deflate's window bits as really used, 0 when off
        self.failure: BaseException | None = None  # why the connection was dropped (heartbeat)
        self.abort_code: int = WSCloseCode.OK  # what to close with if the handler just stops

    # -- the transport's side --------------------------------------------------

    def accept(self, *, can_ping: bool, compress: int) -> None:
        """The handshake's answer is out: ``prepare()`` returns."""
        self.can_ping = can_ping
        self.compress = compress
        self._accepted.set()

    def refuse(self, reason: str) -> None:
        """The answer could not be sent: ``prepare()`` raises ``ConnectionResetError(reason)``."""
        if not self._accepted.is_set():
            self.refused = reason
            self._accepted.set()
        self.finish()

    def fail(self, exc: BaseException) -> None:
        """The connection is dropped for ``exc`` (a missed pong): the handler gets ERROR."""
        if self.failure is None:
            self.failure = exc
        self.finish()

    def finish(self) -> None:
        """The connection is over: the handler's receive ends, its sends fail."""
        self.inbound_send.close()
        self.outbound_receive.close()

    # -- the handler's side ----------------------------------------------------

    async def wait_accepted(self) -> None:
        """Wait for the transport's answer; ``ConnectionResetError`` if it could not send it."""
        await self._accepted.wait()
        if self.refused is not None:
            raise ClientDisconnectedError(self.refused)

    def abort(self, code: int) -> None:
        """The handler is gone without closing: the connection closes with ``code``."""
        self.abort_code = code
        self.outbound_send.close()
        self.inbound_receive.close()
