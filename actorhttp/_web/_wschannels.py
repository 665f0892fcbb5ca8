"""The two bounded channels of one WebSocket: the client's messages in, ours out.

A :class:`WebSocketInbox` carries whole messages from the connection to whoever
receives them (a ``WebSocketResponse``'s ``receive()``, or the actor of an
``add_websocket`` route, whose ``inbox`` it is). A :class:`WebSocketOutbox` carries
messages the other way (``send_str`` and the others, or the actor's
``outbox``). Both are trio channels (``trio.abc.ReceiveChannel`` and
``trio.abc.SendChannel``), each one small object with a list inside (a
``deque`` costs 760 bytes empty; at most 16 items make ``pop(0)`` cheap), so
that a socket costs a few objects, not a pair of memory channels with their
shared states (the difference counts at 10,000 sockets).

What they promise, beyond trio's channel contract:

* **bounded**: an inbox holds at most ``limit`` messages; while it is full
  the connection stops reading the socket, so TCP holds the client back. An
  outbox holds at most ``limit`` messages the connection has not taken;
  ``send`` waits while it is full, ``send_nowait`` raises ``trio.WouldBlock``.
* **written at the sender's call**: a transport that can write without
  waiting attaches itself (:meth:`WebSocketOutbox.attach`, a :class:`WSPeer`); a
  message sent while nothing is queued goes to it at once, in the sender's
  task (as aiohttp writes), framed and given to the kernel, or held by it
  for a moment to leave with the next ones in one write (see
  ``WSSession.write``). Only what the kernel does not take waits in the
  outbox, in order.
* **endings**: the connection ends an inbox (:meth:`WebSocketInbox.end`: the
  receiver gets ``trio.EndOfChannel`` after what is queued) and breaks an
  outbox (:meth:`WebSocketOutbox.break_`: sends raise ``trio.BrokenResourceError``).
  The receiver closing the inbox, or the sender closing the outbox, tells
  the attached peer (:meth:`WSPeer.receiver_closed`,
  :meth:`WSPeer.sender_closed`), so the connection learns it at once,
  without looking.
* ``receive()`` and ``send()`` are checkpoints for cancellation, and yield to
  the scheduler only when they wait: a message already waiting is taken (and
  one with room is handed over) without a scheduler round trip.

One task receives from an inbox at a time (``trio.BusyResourceError``
otherwise); any number may send on an outbox. No I/O here. The outbox is
:mod:`._wsoutbox`'s.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Final, Protocol, TypeAlias

import outcome
import trio

from .._closing import SyncClose
from ._wsmodels import WSMessage

__all__ = [
    "ENDED",
    "INTERRUPTED",
    "OutboxItem",
    "WebSocketInbox",
    "WSPeer",
]

OutboxItem: TypeAlias = str | bytes | WSMessage
"""What goes out: TEXT as ``str``, BINARY as ``bytes``, control frames as a ``WSMessage``."""


class WSPeer(Protocol):
    """The connection at the other end of a socket's channels (``attach`` on either)."""

    def write(self, item: OutboxItem, cork: bool) -> bool:
        """Frame ``item`` and write it now, in the sender's task; False to leave it queued.

        ``cork``: the sender is the socket's own handler, so the bytes may wait
        until it next waits (``_pipe.before_handler_waits``), to leave with others.
        The peer may also hold them while this socket's inbox still holds
        messages, until the scheduler's round ends at the latest.
        """

    def sender_closed(self) -> None:
        """The outbox was closed by its sender."""

    def receiver_closed(self) -> None:
        """The inbox was closed by its receiver."""


INTERRUPTED: Final[Any] = object()
"""What :meth:`WebSocketInbox.park` returns when :meth:`WebSocketInbox.interrupt` woke it."""
ENDED: Final[Any] = object()
"""What :meth:`WebSocketInbox.park` returns when the channel ended meanwhile."""


class WebSocketInbox(SyncClose, trio.abc.ReceiveChannel[WSMessage]):
    """The client's messages, bounded; see the module docstring.

    ``receive()`` raises ``trio.EndOfChannel`` once the client has gone and
    everything queued was taken, ``trio.ClosedResourceError`` after this
    side closed it. Closing it tells the connection (its :class:`WSPeer`).
    """

    __slots__ = ("_closed", "_ended", "_items", "_limit", "_peer", "_producer", "_receiver")

    def __init__(self, limit: int) -> None:
        self._items: list[WSMessage] = []
        self._limit = limit
        self._closed = False  # the receiver closed it
        self._ended = False  # the connection will put nothing more
        self._receiver: trio.lowlevel.Task | None = None
        self._producer: trio.lowlevel.Task | None = None  # the connection, waiting for room
        self._peer: WSPeer | None = None

    # -- the connection's side -------------------------------------------------

    @property
    def queued(self) -> int:
        """Messages waiting to be received."""
        return len(self._items)

    @property
    def closed(self) -> bool:
        """True once the receiving side closed it (the connection drops what comes)."""
        return self._closed

    def attach(self, peer: WSPeer | None) -> None:
        """Have ``peer.receiver_closed()`` called (once, in the closing task) when the
        receiver closes."""
        self._peer = peer

    def take_nowait(self) -> WSMessage | None:
        """:meth:`receive_nowait`, with None for "nothing yet" (no exception to keep)."""
        if self._items:
            return self.receive_nowait()
        if self._closed:
            raise trio.ClosedResourceError("this inbox was closed")
        if self._ended:
            raise trio.EndOfChannel
        return None

    def put_nowait(self, message: WSMessage) -> None:
        """Queue ``message``; ``trio.WouldBlock`` when full, ``BrokenResourceError`` if closed."""
        if self._closed:
            raise trio.BrokenResourceError("the receiver closed this WebSocket's inbox")
        receiver = self._receiver
        if receiver is not None:  # it waits: the queue is empty
            self._receiver = None
            trio.lowlevel.reschedule(receiver, outcome.Value(message))
            return
        items = self._items
        if len(items) >= self._limit:
            raise trio.WouldBlock
        items.append(message)

    async def put(self, message: WSMessage) -> None:
        """Queue ``message``, waiting while the inbox is full (the connection's one task)."""
        while True:
            try:
                self.put_nowait(message)
                return
            except trio.WouldBlock:
                pass
            await self._wait_room()

    async def _wait_room(self) -> None:
        self._producer = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._producer = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def end(self) -> None:
        """Nothing more comes: the receiver gets ``EndOfChannel`` after what is queued."""
        self._ended = True
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            trio.lowlevel.reschedule(receiver, outcome.Value(ENDED))

    def _wake_producer(self) -> None:
        producer = self._producer
        if producer is not None:
            self._producer = None
            trio.lowlevel.reschedule(producer)

    # -- the receiver's side ----------------------------------------------------

    def receive_nowait(self) -> WSMessage:
        """The next message now; ``trio.WouldBlock`` if none is waiting."""
        if self._closed:
            raise trio.ClosedResourceError("this inbox was closed")
        items = self._items
        if items:
            message = items.pop(0)
            if self._producer is not None:
                self._wake_producer()
            return message
        if self._ended:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> WSMessage:
        """The next message, waiting for it; ``trio.EndOfChannel`` once the client has gone."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            items = self._items
            if items and not self._closed:  # the common case, inline: one call less
                first = items.pop(0)
                if self._producer is not None:
                    self._wake_producer()
                return first
            message = self.take_nowait()
            if message is None:
                message = await self.park()
                if message is ENDED:
                    raise trio.EndOfChannel
            if message is not INTERRUPTED:
                return message

    async def __anext__(self) -> WSMessage:
        # receive() itself, not awaiting it: one coroutine frame less while an actor
        # waits on each of its sockets' inboxes.
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            items = self._items
            if items and not self._closed:
                first = items.pop(0)
                if self._producer is not None:
                    self._wake_producer()
                return first
            try:
                message = self.take_nowait()
            except trio.EndOfChannel:
                raise StopAsyncIteration from None
            if message is None:
                message = await self.park()
                if message is ENDED:
                    raise StopAsyncIteration
            if message is not INTERRUPTED:
                return message

    def park(self) -> Coroutine[Any, Any, WSMessage]:
        """Wait until a message comes (the connection hands it over directly); it can also
        be :data:`ENDED`, or :data:`INTERRUPTED` (:meth:`interrupt`). For a receiver that
        found :meth:`take_nowait` empty; not async itself, so it adds no frame."""
        if self._receiver is not None:
            raise trio.BusyResourceError("another task is already receiving from this inbox")
        self._receiver = trio.lowlevel.current_task()
        return trio.lowlevel.wait_task_rescheduled(self._abort)  # noqa: ASYNC105 - awaited by the caller

    def _abort(self, _: Any) -> trio.lowlevel.Abort:
        self._receiver = None
        return trio.lowlevel.Abort.SUCCEEDED

    def interrupt(self) -> None:
        """Wake a receiver waiting in :meth:`park` with :data:`INTERRUPTED`."""
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            trio.lowlevel.reschedule(receiver, outcome.Value(INTERRUPTED))

    def close(self) -> None:
        """Stop receiving: what is queued is dropped, and the connection is told."""
        if self._closed:
            return
        self._closed = True
        self._items.clear()
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            error = trio.ClosedResourceError("this inbox was closed while receiving")
            trio.lowlevel.reschedule(receiver, outcome.Error(error))
        self._wake_producer()
        peer, self._peer = self._peer, None
        if peer is not None:
            peer.receiver_closed()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ended" if self._ended else "open"
        return f"<WebSocketInbox {state}, {len(self._items)}/{self._limit} queued>"
