"""Rooms: a topic's WebSocket members on this worker, for a room actor to keep.

The common case of a chat, a game lobby or a live document: the room
actor on each worker holds that worker's sockets; what a member says is
published to the room's topic; what the topic carries reaches every
member on every worker. With the in-process broker the same code is a
room in one process.

::

    async def lobby(inbox: trio.abc.ReceiveChannel[WebSocketConnection]) -> None:
        async with open_room(app.broker, "lobby") as room, trio.open_nursery() as nursery:
            async for connection in inbox:
                nursery.start_soon(member, room, connection)

    async def member(room: Room, connection: WebSocketConnection) -> None:
        async with room.join(connection, connection.request.query["name"]) as me:
            async for message in connection.inbox:
                await room.publish(message.data, sender=me)

Delivery never waits for a slow member: each message goes into a member's
outbox with ``send_nowait``, and a member whose outbox is full is dropped
(its outbox closed, so its socket closes once what was queued has gone
out). A member is also listed in the topic's presence
(``broker.presence(topic)``, :meth:`Room.members`) while it is joined; the
``on_join``/``on_leave`` callbacks turn presence events from the whole
cluster into lines for the other members.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from .._broker import Broker, Join, Leave
from .._web._wsmodels import WSMessage
from ..messages import WebSocketConnection

__all__ = ["Room", "open_room"]

logger = logging.getLogger("actorhttp")
Render = Callable[[str], str | None]


class Room:
    """One topic's members on this worker; made by :func:`open_room`."""

    def __init__(
        self, broker: Broker, topic: str, on_join: Render | None, on_leave: Render | None
    ) -> None:
        self.broker = broker
        self.topic = topic
        self.on_join = on_join
        self.on_leave = on_leave
        self.local: dict[str, WebSocketConnection] = {}
        """This worker's members: member id -> connection."""
        self.dropped = 0
        """Members dropped here because their outbox was full."""
        self._ids = (f"{secrets.token_hex(4)}.{n}" for n in itertools.count(1))

    @asynccontextmanager
    async def join(
        self, connection: WebSocketConnection, key: str, meta: Any = None
    ) -> AsyncIterator[str]:
        """Make ``connection`` a member, listed as ``key`` in presence, while the block runs.

        Yields the member's id (``sender=`` for :meth:`publish`). ``meta`` is
        kept beside the id in the presence entry: ``{"id": ..., "meta": meta}``.
        """
        member = next(self._ids)
        self.local[member] = connection
        try:
            async with self.broker.track(self.topic, key, {"id": member, "meta": meta}):
                yield member
        finally:
            self.local.pop(member, None)

    async def publish(self, message: Any, *, sender: str | None = None) -> bool:
        """Send ``message`` to every member on every worker, except ``sender``.

        A ``str`` reaches the sockets as TEXT; anything else JSON-able as its
        JSON text. ``False`` if the broker dropped it (unreachable).
        """
        return await self.broker.publish(self.topic, [sender, message])

    async def members(self) -> list[str]:
        """The keys present in the room across the cluster, sorted (``BrokerUnavailable``)."""
        return sorted(await self.broker.presence(self.topic))

    def deliver(self, text: str, *, besides: str | None = None) -> None:
        """Put ``text`` into each local member's outbox now (but ``besides``'s)."""
        for member, connection in list(self.local.items()):
            if member == besides:
                continue
            try:
                connection.outbox.send_nowait(text)
            except trio.WouldBlock:
                self.dropped += 1
                self.local.pop(member, None)
                connection.outbox.close()  # too far behind: dropped
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.local.pop(member, None)  # gone already

    def close_all(self, goodbye: str | WSMessage | None = None) -> None:
        """Send each local member ``goodbye`` (a CLOSE message, say) if its outbox has room."""
        for connection in list(self.local.values()):
            with contextlib.suppress(trio.WouldBlock, trio.BrokenResourceError):
                if goodbye is not None:
                    connection.outbox.send_nowait(goodbye)

    async def _run(self, *, task_status: trio.TaskStatus[None]) -> None:
        async with self.broker.subscribe(self.topic, presence=True) as subscription:
            task_status.started()
            async for event in subscription:
                if isinstance(event, Join | Leave):
                    render = self.on_join if isinstance(event, Join) else self.on_leave
                    text = render(event.key) if render is not None else None
                    if text is not None:
                        member = event.meta.get("id") if isinstance(event.meta, dict) else None
                        self.deliver(text, besides=member)
                    continue
                if not (isinstance(event, list) and len(event) == 2):
                    # Published to the topic by something other than a Room: not ours.
                    logger.warning("room %r: a message not sent by a room dropped", self.topic)
                    continue
                sender, message = event
                text = message if isinstance(message, str) else json.dumps(message)
                self.deliver(text, besides=sender)


@asynccontextmanager
async def open_room(
    broker: Broker,
    topic: str,
    *,
    on_join: Render | None = None,
    on_leave: Render | None = None,
) -> AsyncIterator[Room]:
    """A :class:`Room` on ``topic``: subscribed and delivering while the block runs.

    ``on_join(key)`` and ``on_leave(key)`` may return a line for the other
    members when someone joins or leaves anywhere in the cluster (``None``:
    nothing is said).
    """
    room = Room(broker, topic, on_join, on_leave)
    async with trio.open_nursery() as nursery:
        await nursery.start(room._run)
        yield room
        nursery.cancel_scope.cancel()
