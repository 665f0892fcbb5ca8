"""WSHub: what the WebSockets of one server share, so that no socket needs a task of its own.

A socket's connection task reads it; everything else a WebSocket needs over
time is done here, once for the whole server (as aiohttp keeps one timer
handle per socket in its event loop, not a task):

* **timers**: heartbeat pings, the pong deadline after each ping, and how
  long an actor's close may wait for the client's reply. Each socket has at
  most one entry in one heap, moved only when it comes due (a message
  received just records the time), served by one task: an idle socket
  costs nothing, and 10,000 idle sockets cost no CPU. Deadlines that come
  in the order they are set (a close's: now plus the same timeout) queue in
  a FIFO instead, which makes no object per entry: a room closing its
  10,000 sockets at a stop leaves no garbage to collect.
* **a stop**: when ``going_away`` is set, every open WebSocket is sent a close
  1001 (going away) at once.
* **flushers**: a task that writes what the kernel did not take, started in
  the hub's nursery only while a socket has such a backlog (a client
  reading slower than it is sent to). It ends when the backlog is written,
  or when its socket closes.
* **the end of a round**: frames a socket holds back to write them together
  (an actor answering a batch of messages, ``WSSession.write``) leave at the
  latest when every task that could run when they were held has taken its
  step: one task, woken then (:meth:`WSHub.at_round_end`), writes them.

The hub's tasks run in the transport's nursery (:meth:`WSHub.run`), beside
its connections.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

__all__ = ["Corked", "Timed", "WSHub"]


class Timed(Protocol):
    """A WebSocket as the hub sees it."""

    def on_timer(self, now: float) -> None:
        """Its entry in the heap came due (the entry may be stale: the socket checks)."""

    def go_away(self) -> None:
        """The server is stopping: close 1001."""


class Corked(Protocol):
    """A WebSocket holding frames back until the scheduler's round ends."""

    def uncork(self) -> None:
        """Write what it holds, if anything (it may have gone already)."""


class WSHub:
    """One server's WebSockets: timers, the stop, flushers; see the module docstring."""

    __slots__ = (
        "_corked",
        "_fifo",
        "_fifo_due",
        "_heap",
        "_nursery",
        "_sequence",
        "_sleeper",
        "_uncorker",
        "going_away",
        "sessions",
    )

    def __init__(self, nursery: trio.Nursery, going_away: trio.Event | None = None) -> None:
        self._nursery = nursery
        self.going_away = going_away
        self.sessions: set[Timed] = set()
        self._heap: list[tuple[float, int, Timed]] = []
        self._sequence = itertools.count()  # ties in the heap never compare the sockets
        self._fifo: deque[Timed] = deque()  # entries due in the order they were set
        self._fifo_due: deque[float] = deque()  # when each is due (a float: no tuple made)
        self._sleeper: trio.lowlevel.Task | None = None
        self._corked: list[Corked] = []
        self._uncorker: trio.lowlevel.Task | None = None  # parked until something is corked

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

    def in_order_at(self, when: float, session: Timed) -> None:
        """:meth:`at`, for a deadline that most often comes after every one set before it
        (now plus a fixed timeout): queued without making an object for it."""
        due = self._fifo_due
        if due and when < due[-1]:
            self.at(when, session)  # out of order (a shorter timeout than the last one's)
            return
        due.append(when)
        self._fifo.append(session)
        sleeper = self._sleeper
        if sleeper is not None and len(due) == 1:  # maybe earlier than it sleeps for
            self._sleeper = None
            trio.lowlevel.reschedule(sleeper)

    def at_round_end(self, session: Corked) -> None:
        """Call ``session.uncork()`` once every task runnable now has taken its step.

        trio runs the tasks that are runnable as one batch, and a task woken
        during it runs in the next one: so the uncorking task, woken here, runs
        after the sender's task has given the scheduler back, at its next wait,
        never on a timer.
        """
        self._corked.append(session)
        uncorker = self._uncorker
        if uncorker is not None:
            self._uncorker = None
            trio.lowlevel.reschedule(uncorker)

    def spawn(self, flush: Callable[[], Awaitable[Any]]) -> None:
        """Run ``flush()`` in the hub's nursery (a socket's backlog writer)."""
        self._nursery.start_soon(flush)

    async def run(self) -> None:
        """Serve the timers, and the stop's 1001s, until cancelled."""
        async with trio.open_nursery() as nursery:
            if self.going_away is not None:
                nursery.start_soon(self._close_all, self.going_away)
            nursery.start_soon(self._uncorking)
            await self._timers()

    async def _close_all(self, going_away: trio.Event) -> None:
        await going_away.wait()
        for session in list(self.sessions):
            session.go_away()

    async def _uncorking(self) -> None:
        while True:
            if not self._corked:
                self._uncorker = trio.lowlevel.current_task()
                await trio.lowlevel.wait_task_rescheduled(self._abort_uncorker)
            corked, self._corked = self._corked, []
            for session in corked:
                session.uncork()

    def _abort_uncorker(self, _: Any) -> trio.lowlevel.Abort:
        self._uncorker = None
        return trio.lowlevel.Abort.SUCCEEDED

    async def _timers(self) -> None:
        heap, fifo, fifo_due, sessions = self._heap, self._fifo, self._fifo_due, self.sessions
        clock = trio.lowlevel.current_clock()
        while True:
            now = clock.current_time()
            while heap and heap[0][0] <= now:
                _, _, session = heapq.heappop(heap)
                if session in sessions:
                    session.on_timer(now)
            while fifo_due and fifo_due[0] <= now:
                fifo_due.popleft()
                session = fifo.popleft()
                if session in sessions:
                    session.on_timer(now)
            if heap or fifo_due:
                if not fifo_due:
                    first = heap[0][0]
                elif not heap:
                    first = fifo_due[0]
                else:
                    first = min(heap[0][0], fifo_due[0])
                with trio.move_on_at(first):
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
