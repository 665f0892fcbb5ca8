"""MemoryBroker: the in-process broker, the default; nothing to set up, one process.

Topics fan out to this process's subscribers, presence lists this
process's entries, and every lease is granted at once to its first
asker: a named actor is an ordinary local actor. Messages still go through
the codec, so what works here works across Redis too.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import trio

from ._base import DEFAULT_SUBSCRIBER_SIZE, Broker, CallHandler, Lease, NoOwnerError
from ._codec import Codec

__all__ = ["MemoryBroker"]


class MemoryBroker(Broker):
    """Topics, presence and named actors within this one process (``memory://``)."""

    url = "memory://"

    def __init__(
        self, *, codec: Codec | None = None, subscriber_size: int = DEFAULT_SUBSCRIBER_SIZE
    ) -> None:
        super().__init__(codec=codec, subscriber_size=subscriber_size)
        self._present: dict[str, dict[str, bytes]] = {}
        self._holders: dict[str, tuple[Lease, CallHandler]] = {}
        self._waiting: dict[str, list[tuple[Lease, CallHandler]]] = {}

    async def _lifetime(self) -> AsyncIterator[None]:
        await trio.lowlevel.checkpoint()
        yield

    @property
    def lease_time(self) -> float:
        """No other process can take a lease over: infinite."""
        return math.inf

    async def _publish(self, topic: str, frame: bytes) -> bool:
        await trio.lowlevel.checkpoint()
        self._deliver(topic, frame)
        return True

    async def _join(self, topic: str, ref: str, encoded: bytes) -> None:
        self._present.setdefault(topic, {})[ref] = encoded
        await self._publish(topic, b"j" + encoded)

    async def _leave(self, topic: str, ref: str, encoded: bytes) -> None:
        entries = self._present.get(topic, {})
        if entries.pop(ref, None) is not None:
            if not entries:
                del self._present[topic]
            await self._publish(topic, b"l" + encoded)

    async def _entries(self, topic: str) -> list[bytes]:
        await trio.lowlevel.checkpoint()
        return list(self._present.get(topic, {}).values())

    def lease(self, name: str, serve: CallHandler) -> AbstractAsyncContextManager[Lease]:
        """Granted at once if nobody here holds ``name``; else when the holder lets go."""
        return self._lease(name, serve)

    @asynccontextmanager
    async def _lease(self, name: str, serve: CallHandler) -> AsyncIterator[Lease]:
        lease = Lease(name)
        if name in self._holders:
            self._waiting.setdefault(name, []).append((lease, serve))
        else:
            self._holders[name] = (lease, serve)
            lease._set(True)
        try:
            yield lease
        finally:
            waiting = self._waiting.get(name, [])
            if (lease, serve) in waiting:
                waiting.remove((lease, serve))
            elif self._holders.get(name, (None,))[0] is lease:
                del self._holders[name]
                lease._set(False)
                if waiting:  # the next in line takes it over
                    self._holders[name] = waiting.pop(0)
                    self._holders[name][0]._set(True)
            if not waiting:
                self._waiting.pop(name, None)

    async def call(self, name: str, frame: bytes, *, limit: float | None = None) -> bytes:
        """Hand ``frame`` to the local holder of ``name``; ``NoOwnerError`` when none."""
        holder = self._holders.get(name)
        if holder is None:
            raise NoOwnerError(f"no actor named {name!r} is running", retry_after=1.0)
        return await holder[1](frame)
