"""WSLink: what both sides of one WebSocket share, its handler (or actor) and its connection.

``WebSocketResponse.prepare()`` makes the link and hands the response over
on the request's reply; the transport that takes it writes the handshake's
answer and calls :meth:`WSLink.accept` (or :meth:`WSLink.refuse`), which
``prepare()`` waits for. From then on messages flow through its two
bounded channels (``_wschannels``, where the bounds and what a full channel
does are described):

* **inbound** (:class:`~._wschannels.WebSocketInbox`, :data:`INBOUND_SIZE`
  messages): TEXT, BINARY, PING, PONG, CLOSE and ERROR :class:`WSMessage`
  items as they arrive whole. Its end (``EndOfChannel``) means the
  connection is gone.
* **outbound** (:class:`~._wsoutbox.WebSocketOutbox`, :data:`OUTBOUND_SIZE`
  messages): ``str`` (TEXT), ``bytes`` (BINARY), and PING, PONG and CLOSE
  ``WSMessage`` items. The handler closes it when it is done with the
  socket; the connection then closes the socket.

For an actor (``add_websocket``) the link's channels are the actor's
``inbox`` and ``outbox`` themselves, and :attr:`WSLink.actor` tells the
transport to do what a handler's ``receive()`` would: answer pings and the
client's close frame, and put only TEXT, BINARY and ERROR in the inbox.

Ownership: the transport ends the inbound channel and breaks the outbound
one when the connection ends (a handler's later send raises
``ConnectionResetError``); the response closes both when it is done.
No I/O here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import outcome
import trio

from .._pipe import ClientDisconnectedError
from ._wschannels import WebSocketInbox
from ._wsmodels import WSCloseCode
from ._wsoutbox import WebSocketOutbox

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
        "_waiter",
        "abort_code",
        "actor",
        "autoping",
        "can_ping",
        "close_timeout",
        "compress",
        "extension",
        "failure",
        "heartbeat",
        "inbound",
        "max_msg_size",
        "outbound",
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
        inbound_size: int = INBOUND_SIZE,
        outbound_size: int = OUTBOUND_SIZE,
        autoping: bool = True,
        actor: bool = False,
        close_timeout: float = 10.0,
    ) -> None:
        self.inbound = WebSocketInbox(inbound_size)
        self.outbound = WebSocketOutbox(outbound_size)
        self.protocol = protocol  # the subprotocol chosen, or None
        self.extension = extension  # permessage-deflate as negotiated, or None
        self.heartbeat = heartbeat  # seconds between pings, or None
        self.max_msg_size = max_msg_size  # 0: no limit
        self.autoping = autoping  # the connection answers pings; PING and PONG are not queued
        self.actor = actor  # an actor's channels: see the module docstring
        self.close_timeout = close_timeout  # an actor's close: how long the reply may take
        self._accepted = False
        self._waiter: trio.lowlevel.Task | None = None  # prepare(), waiting for the answer
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
        self._settle()

    def refuse(self, reason: str) -> None:
        """The answer could not be sent: ``prepare()`` raises ``ConnectionResetError(reason)``."""
        if not self._accepted:
            self.refused = reason
            self._settle()
        self.finish()

    def _settle(self) -> None:
        self._accepted = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            trio.lowlevel.reschedule(waiter, outcome.Value(None))

    def fail(self, exc: BaseException) -> None:
        """The connection is dropped for ``exc`` (a missed pong): the handler gets ERROR."""
        if self.failure is None:
            self.failure = exc
        self.finish()

    def finish(self) -> None:
        """The connection is over: the handler's receive ends, its sends fail."""
        self.inbound.end()
        self.outbound.break_("the WebSocket connection is closed")

    # -- the handler's side ----------------------------------------------------

    async def wait_accepted(self) -> None:
        """Wait for the transport's answer; ``ConnectionResetError`` if it could not send it.

        Answered already (the transport wrote the 101 at the hand-over, in this
        very task), it returns at once: no scheduler round trip.
        """
        if not self._accepted:
            self._waiter = trio.lowlevel.current_task()

            def abort(_: Any) -> trio.lowlevel.Abort:
                self._waiter = None
                return trio.lowlevel.Abort.SUCCEEDED

            await trio.lowlevel.wait_task_rescheduled(abort)
        if self.refused is not None:
            raise ClientDisconnectedError(self.refused)

    def abort(self, code: int) -> None:
        """The handler is gone without closing: the connection closes with ``code``."""
        self.abort_code = code
        self.outbound.close()
        self.inbound.close()
