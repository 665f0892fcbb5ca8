"""WSHub: what the WebSockets of one server share, so that no socket needs a task of its own.

A socket's connection task reads it; everything else a WebSocket needs over
time is done here, once for the whole server (as aiohttp keeps one timer
handle per socket in its event loop, not a task):

* **timers**: heartbeat pings, the pong deadline after each ping, and how
  long an actor's close may wait for the client's reply. Each socket has at
  most one entry in one heap, moved only when it comes due (a message
  received just records the time), served by one task: an idle socket
  costs nothing, and 10,000 idle sockets cost no CPU.
* **a stop**: when ``going_away`` is set, every open WebSocket is sent a close
  1001 (going away) at once.
* **flushers**: a task that writes what the kernel did not take, started in
  the hub's nursery only while a socket has such a backlog (a client
  reading slower than it is sent to). It ends when the backlog is written,
  or when its socket closes.

The hub's tasks run in the transport's nursery (:meth:`WSHub.run`), beside
its connections.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

__all__ = ["Timed", "WSHub"]


class Timed(Protocol):
    """A WebSocket as the hub sees it."""

    def on_timer(self, now: float) -> None:
        """Its entry in the heap came due (the entry may be stale: the socket checks)."""

    def go_away(self) -> None:
        """The server is stopping: close 1001."""


class WSHub:
    """One server's WebSockets: timers, the stop, flushers; see the module docstring."""

    __slots__ = ("_heap", "_nursery", "_sequence", "_sleeper", "going_away", "sessions")

    def __init__(self, nursery: trio.Nursery, going_away: trio.Event | None = None) -> None:
        self._nursery = nursery
        self.going_away = going_away
        self.sessions: set[Timed] = set()
        self._heap: list[tuple[float, int, Timed]] = []
        self._sequence = itertools.count()  # ties in the heap never compare the sockets
        self._sleeper: trio.lowlevel.Task | None = None

    def add(self, session: Timed) -> None:
        """A WebSocket is open: it is closed with 1001 when the stop begins (now, if it has)."""
        self.sessions.add(session)
        if self.going_away is not None and self.going_away.is_set():
            session.go_away()

    def discard(self, session: Timed) -> None:
        """A WebSocket is over (its stale timer entries are dropped when they come due)."""
        self.sessions.discard(session)

    def at(self, when: float, session: Timed) -> None:
        """Call ``session.on_timer(now)`` once ``when`` has come."""
        heap = self._heap
        heapq.heappush(heap, (when, next(self._sequence), session))
        sleeper = self._sleeper
        if sleeper is not None and heap[0][2] is session:  # earlier than it sleeps for
            self._sleeper = None
            trio.lowlevel.reschedule(sleeper)

    def spawn(self, flush: Callable[[], Awaitable[Any]]) -> None:
        """Run ``flush()`` in the hub's nursery (a socket's backlog writer)."""
        self._nursery.start_soon(flush)

    async def run(self) -> None:
        """Serve the timers, and the stop's 1001s, until cancelled."""
        async with trio.open_nursery() as nursery:
            if self.going_away is not None:
                nursery.start_soon(self._close_all, self.going_away)
            await self._timers()

    async def _close_all(self, going_away: trio.Event) -> None:
        await going_away.wait()
        for session in list(self.sessions):
            session.go_away()

    async def _timers(self) -> None:
        heap = self._heap
        clock = trio.lowlevel.current_clock()
        while True:
            now = clock.current_time()
            while heap and heap[0][0] <= now:
                _, _, session = heapq.heappop(heap)
                if session in self.sessions:
                    session.on_timer(now)
            if heap:
                with trio.move_on_at(heap[0][0]):
                    await self._sleep()
            else:
                await self._sleep()

    async def _sleep(self) -> None:
        """Until :meth:`at` has an earlier entry (or the deadline around this passes)."""
        self._sleeper = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._sleeper = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
