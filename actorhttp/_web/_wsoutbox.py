"""The outbound half of a WebSocket's channels: :class:`WebSocketOutbox`.

Messages for the client, bounded, written in the sender's task when nothing
is queued; what it promises is said with the inbound half, in
:mod:`._wschannels`. Also what an outbox accepts from a program
(:func:`check_close` for close codes). No I/O here.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import trio

from .._closing import SyncClose
from ._wschannels import OutboxItem, WSPeer
from ._wsmodels import WSCloseCode, WSMessage, WSMsgType

__all__ = ["WebSocketOutbox", "check_close"]

_SENDABLE = frozenset({WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CLOSE})


class WebSocketOutbox(SyncClose, trio.abc.SendChannel[OutboxItem]):
    """Messages for the client, bounded; see the module docstring.

    ``send``/``send_nowait`` take ``str`` (TEXT), bytes-like (BINARY) or a
    ``WSMessage`` of type TEXT, BINARY or CLOSE (``TypeError`` for anything
    else, ``ValueError`` for a close code that may not be sent). They raise
    ``trio.BrokenResourceError`` once the socket is closed or closing,
    ``trio.ClosedResourceError`` after this side closed it. Closing it tells
    the connection, which sends what is queued and then closes the socket.
    """

    __slots__ = (
        "_broken",
        "_closed",
        "_consumer",
        "_items",
        "_limit",
        "_peer",
        "_sealed",
        "_senders",
    )

    def __init__(self, limit: int) -> None:
        self._items: list[OutboxItem] = []
        self._limit = limit
        self._closed = False  # the sending side closed it
        self._broken: str | None = None  # why the connection takes nothing more
        self._sealed = False  # nothing more comes, but what is queued still goes
        self._senders: list[trio.lowlevel.Task] | None = None  # waiting for room, oldest first
        self._consumer: trio.lowlevel.Task | None = None  # the connection, waiting for items
        self._peer: WSPeer | None = None

    # -- the sender's side --------------------------------------------------------

    def send_nowait(self, value: OutboxItem) -> None:
        """Send ``value`` now: written at once, or queued; ``trio.WouldBlock`` when full."""
        self.put_nowait(_checked(value))

    def send(self, value: OutboxItem) -> Coroutine[Any, Any, None]:
        """Send ``value``, waiting while ``limit`` messages are queued (``TypeError`` or
        ``ValueError`` for a value it does not take, at the call)."""
        # Not async itself: put()'s coroutine is the one awaited, not one more per message.
        return self.put(_checked(value))

    def put_nowait(self, item: OutboxItem, cork: bool = False) -> None:
        """:meth:`send_nowait` for an item already checked (``WebSocketResponse``'s own;
        ``cork``: see :meth:`WSPeer.write`)."""
        if self._closed:
            raise trio.ClosedResourceError("this outbox was closed")
        if self._broken is not None:
            raise trio.BrokenResourceError(self._broken)
        items = self._items
        if not items:
            peer = self._peer
            if peer is not None and peer.write(item, cork):
                return  # on its way: written, or in the connection's own backlog
            items.append(item)
            consumer = self._consumer
            if consumer is not None:
                self._consumer = None
                trio.lowlevel.reschedule(consumer)
            return
        if len(items) >= self._limit:
            raise trio.WouldBlock
        items.append(item)

    async def put(self, item: OutboxItem) -> None:
        """:meth:`send` for an item already checked."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                self.put_nowait(item)
                return
            except trio.WouldBlock:
                pass
            await self._wait_room()

    async def _wait_room(self) -> None:
        task = trio.lowlevel.current_task()
        if self._senders is None:
            self._senders = []
        senders = self._senders
        senders.append(task)

        def abort(_: Any) -> trio.lowlevel.Abort:
            senders.remove(task)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def close(self) -> None:
        """Done sending: the connection sends what is queued, then closes the socket."""
        if self._closed:
            return
        self._closed = True
        self._wake_senders()
        consumer = self._consumer
        if consumer is not None:
            self._consumer = None
            trio.lowlevel.reschedule(consumer)
        peer, self._peer = self._peer, None
        if peer is not None:
            peer.sender_closed()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "broken" if self._broken else "open"
        return f"<WebSocketOutbox {state}, {len(self._items)}/{self._limit} queued>"

    # -- the connection's side ------------------------------------------------------

    @property
    def queued(self) -> int:
        """Messages waiting for the connection."""
        return len(self._items)

    @property
    def closed(self) -> bool:
        """True once the sending side closed it."""
        return self._closed

    @property
    def broken(self) -> bool:
        """True once the connection takes nothing more."""
        return self._broken is not None

    def attach(self, peer: WSPeer | None) -> None:
        """Have ``peer.write(item)`` try each item sent while nothing is queued, in the
        sender's task (False leaves it queued: the peer's own backlog is not empty), and
        ``peer.sender_closed()`` called (once, in the closing task) when the sender closes."""
        self._peer = peer

    def take_nowait(self) -> OutboxItem | None:
        """The oldest queued item, or None; ``trio.EndOfChannel`` once closed and empty."""
        items = self._items
        if items:
            item = items.pop(0)
            if self._senders:
                self._wake_senders()
            return item
        if self._closed or self._sealed:
            raise trio.EndOfChannel
        return None

    async def take(self) -> OutboxItem:
        """The oldest item, waiting for one; ``trio.EndOfChannel`` once closed and empty,
        ``trio.ClosedResourceError`` once broken."""
        while True:
            if self._broken is not None and not self._sealed:
                raise trio.ClosedResourceError(self._broken)
            item = self.take_nowait()
            if item is not None:
                await trio.lowlevel.checkpoint_if_cancelled()
                return item
            self._consumer = trio.lowlevel.current_task()

            def abort(_: Any) -> trio.lowlevel.Abort:
                self._consumer = None
                return trio.lowlevel.Abort.SUCCEEDED

            await trio.lowlevel.wait_task_rescheduled(abort)

    def seal(self, reason: str) -> None:
        """The socket is closing: what is queued still goes (then ``EndOfChannel`` for the
        connection), new sends raise ``trio.BrokenResourceError(reason)``."""
        if self._broken is None:
            self._broken = reason
        self._sealed = True
        self._wake_senders()
        consumer = self._consumer
        if consumer is not None:
            self._consumer = None
            trio.lowlevel.reschedule(consumer)

    def break_(self, reason: str) -> None:
        """The connection takes nothing more: queued items are dropped, sends raise
        ``trio.BrokenResourceError(reason)``."""
        if self._broken is None:
            self._broken = reason
        self._sealed = False
        self._items.clear()  # (and put_nowait refuses before asking the peer to write)
        self._wake_senders()
        consumer = self._consumer
        if consumer is not None:
            self._consumer = None
            trio.lowlevel.reschedule(consumer)

    def _wake_senders(self) -> None:
        """Room (or an ending): every waiting sender tries again, oldest first."""
        senders, self._senders = self._senders, None
        for task in senders or ():
            trio.lowlevel.reschedule(task)


def _checked(value: object) -> OutboxItem:
    """What an outbox takes from a program: ``TypeError``/``ValueError`` for anything else."""
    kind = type(value)
    if kind is str or kind is bytes:
        return value  # type: ignore[return-value]
    if isinstance(value, bytearray | memoryview):
        return bytes(value)  # a copy: the caller may change its buffer afterwards
    if isinstance(value, WSMessage) and value.type in _SENDABLE:
        if value.type is WSMsgType.TEXT and isinstance(value.data, str):
            return value.data
        binary = isinstance(value.data, bytes | bytearray | memoryview)
        if value.type is WSMsgType.BINARY and binary:
            return bytes(value.data)
        if value.type is WSMsgType.CLOSE:
            code = value.data
            reason = value.extra or ""
            check_close(code, reason)
            exact = type(value) is WSMessage and type(value.extra) is str
            if exact and (type(code) is int or type(code) is WSCloseCode):
                return value  # as it is: no copy for each socket a room closes with it
            return WSMessage(WSMsgType.CLOSE, int(code), reason)
    if isinstance(value, str | bytes):
        return value  # a subclass of str or bytes
    raise TypeError(
        f"a WebSocket outbox takes str, bytes or a TEXT, BINARY or CLOSE WSMessage, not {value!r}"
    )


def check_close(code: object, reason: str) -> None:
    """``ValueError`` for a close code that may not be sent, or a reason over 123 bytes."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"a close code is an int, not {code!r}")
    if not (1000 <= code < 5000) or code in (1004, 1005, 1006, 1015):
        raise ValueError(f"{code} is not a close code that may be sent")
    if len(reason.encode("utf-8")) > 123:
        raise ValueError("a close message carries at most 123 bytes")
