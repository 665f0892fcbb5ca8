"""The router actor's mailbox and its balancing pool of long-lived workers.

The router actor has one bounded mailbox and a pool of workers behind it,
so a slow handler never blocks the next request and no task is spawned
per request. How a message reaches a worker, as measured to be cheapest:

* it goes straight to the most recently parked worker (LIFO: the one whose
  memory is warmest), else into a bounded queue;
* a sender wakes a worker only when none is woken and not yet running; a
  woken worker takes what is queued without a scheduler round trip per
  message;
* a worker whose handler yields to the scheduler (it waits for something)
  first gets a worker going for each message still queued that no woken
  worker is due to take (parked ones first, else new ones), so a handler
  that blocks never strands the queue, and a burst of handlers that all
  wait (WebSockets: each holds its worker for as long as its socket lives)
  starts in one scheduler round, not one per round; a handler that runs
  through without waiting leaves them to its own worker, which takes the
  next at once;
* workers above a floor retire on the reaper's tick, not on a deadline set
  at every park;
* every message runs in its own copy of the worker's context, so a
  contextvar set while handling one request is invisible to the next;
* with ``max_running``, at most that many counted messages (requests) are
  handled at once; the rest wait in the queue, and past ``limit`` queued
  ``send_nowait`` refuses with ``trio.WouldBlock`` (the server actor answers
  503). Messages that are not counted (commands) have a queue of their own
  that no cap holds back, so a stop's CancelRequests is never stuck behind
  the requests it is meant to cancel.

Not a trio memory channel shared by the workers: a channel gives each
message to the receiver that has waited longest, so workers take turns and
handle about two messages per wake, losing the batching a single receiving
task has. The mailbox behaves as a channel for its senders: ``send``,
``send_nowait`` (``trio.WouldBlock`` when full), ``clone``, and closing by
each sender (``async with``); when the last sender closes, the workers
finish what they are doing and what is queued, then the pool ends.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, Final, Generic, TypeVar

import outcome
import trio

from ._closing import SyncClose
from ._pipe import RUNNING, HandlerTurn

__all__ = ["Mailbox", "MailboxSender", "open_mailbox"]

logger = logging.getLogger("actorhttp")
M = TypeVar("M")

RETIRE_TICK = 1.0
"""Seconds between looks for idle workers above the floor."""
MIN_WORKERS = 4
"""Workers kept parked however idle the pool is."""
_END: Final = object()  # woken with this: the mailbox is closed and empty, end
_RETIRE: Final = object()  # woken with this: one of too many idle workers, end
_TAKE: Final = object()  # woken with this: take what is queued
_WORKER: Final = "actorhttp._pool.Mailbox._worker"  # a worker task's name, spelt once


class _InContext(HandlerTurn):
    """Await ``coro`` with every step of it run in ``context``; call ``on_yield`` when it waits.

    What keeps a pooled worker's requests apart: each gets a fresh copy of
    the worker's context, and tasks it starts inherit that copy. Every time
    the coroutine yields to the scheduler, ``on_yield`` runs first: the pool
    uses it to hand what is queued to another worker. What the handler
    deferred to its next wait (``_pipe.before_handler_waits``) runs before
    that, and when it ends.
    """

    __slots__ = ("context", "coro", "on_yield")

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any],
        context: contextvars.Context,
        on_yield: Callable[[], None],
    ) -> None:
        self.callbacks = None
        self.coro = coro
        self.context = context
        self.on_yield = on_yield

    def __await__(self) -> Generator[Any, Any, Any]:
        # Nothing bound is kept in this frame while the coroutine waits (a WebSocket's
        # handler may wait for hours, one of 10,000): coro.send is looked up per step.
        value: Any = None
        throw = False
        running = RUNNING
        try:
            while True:
                outer = running.turn
                running.turn = self
                try:
                    if throw:
                        yielded = self.context.run(self.coro.throw, value)
                    else:
                        yielded = self.context.run(self.coro.send, value)
                except StopIteration as stop:
                    return stop.value
                finally:
                    running.turn = outer
                value = None
                if self.callbacks is not None:
                    self.run_due()
                self.on_yield()
                try:
                    value = yield yielded
                    throw = False
                except BaseException as exc:
                    value = exc
                    throw = True
        finally:
            self.run_due()  # what a handler deferred never outlives it


class Mailbox(Generic[M]):
    """The receiving side: the queue, the workers, and what they do with each message."""

    def __init__(
        self,
        limit: int,
        *,
        max_running: int | None = None,
        counted: Callable[[M], bool] = lambda message: True,
    ) -> None:
        if limit < 1:
            raise ValueError(f"a mailbox holds at least one message, not {limit}")
        if max_running is not None and max_running < 1:
            raise ValueError(f"max_running must be at least 1 or None, not {max_running}")
        self.limit = limit
        self.max_running = max_running
        self.counted = counted
        self.running = 0  # counted messages being handled (kept only under a max_running)
        self.queue: deque[M] = deque()
        self.urgent: deque[M] = deque()  # messages not counted: never held back by the cap
        # Parked workers, oldest first; a dict, so that taking the newest, retiring the
        # oldest and dropping a cancelled one all stay cheap with 10,000 of them (a
        # WebSocket's handler holds its worker, and all end together at a stop).
        self.idle: dict[trio.lowlevel.Task, None] = {}
        self.waking = 0  # workers woken (or started) to take what is queued, not run yet
        self.senders = 0
        self.closed = False
        self.workers: set[trio.CancelScope] = set()
        self.space = trio.lowlevel.ParkingLot()  # senders waiting for room
        self._nursery: trio.Nursery | None = None
        self._handle: Callable[[M], Coroutine[Any, Any, None]] | None = None
        self._floor = MIN_WORKERS
        self._retiring = trio.CancelScope()
        self.orphans: list[M] = []  # messages whose handling raised out of a worker
        self._yield_hook = self._yielding  # bound once, not once per message

    # -- the senders' side -----------------------------------------------------

    def _counts(self, message: M) -> bool:
        return self.max_running is not None and self.counted(message)

    def _takeable(self) -> int:
        """How many queued messages workers may start now (the cap allowing)."""
        cap = self.max_running
        queued = len(self.queue)
        if cap is not None:
            queued = min(queued, max(cap - self.running, 0))
        return len(self.urgent) + queued

    def _put(self, message: M) -> None:
        if self.closed:
            raise trio.ClosedResourceError("the router actor's mailbox is closed")
        counts = self._counts(message)
        if counts and self.running >= self.max_running:  # type: ignore[operator]
            if len(self.queue) >= self.limit:
                raise trio.WouldBlock
            self.queue.append(message)  # a finishing handler's worker takes it
            return
        idle = self.idle
        if idle and not self.waking and not self.queue and not self.urgent:
            self.waking += 1
            self.running += counts
            trio.lowlevel.reschedule(idle.popitem()[0], outcome.Value(message))
            return
        cap = self.max_running
        if cap is not None and not counts:
            self.urgent.append(message)
        # Under the cap, the queue also holds what will start as soon as a worker gets
        # to it (a burst delivered in one scheduler round): that is not waiting.
        elif len(self.queue) >= self.limit + (cap - self.running if cap is not None else 0):
            raise trio.WouldBlock
        else:
            self.queue.append(message)
        if not self.waking:
            self._wake_one()

    def _wake_one(self) -> None:
        """Get one more worker going: a parked one, else a new one."""
        if self.idle:
            self.waking += 1
            trio.lowlevel.reschedule(self.idle.popitem()[0], outcome.Value(_TAKE))
        elif self._nursery is not None:
            try:
                self._nursery.start_soon(self._worker, True, name=_WORKER)
            except RuntimeError:
                # The pool is ending (cancelled from outside) and its nursery takes no
                # new task: the message stays queued, for no worker. Nothing waits on it
                # but a reply, and the ending pool's owner closes those.
                return
            self.waking += 1
        # else: not running yet: run() starts the workers

    def _sender_closed(self) -> None:
        self.senders -= 1
        if self.senders == 0:
            self.closed = True
            self.space.unpark_all()
            while self.idle:  # nothing queued, or they would not be parked
                trio.lowlevel.reschedule(self.idle.popitem()[0], outcome.Value(_END))
            self._keep_going()

    def _keep_going(self) -> None:
        """After a worker ended, or the mailbox closed: what is queued still gets a worker;
        once the mailbox is closed and empty and no worker is left, the pool may end."""
        if self.queue or self.urgent:
            if not self.waking and self._takeable():
                self._wake_one()
        elif self.closed and not self.workers:
            self._retiring.cancel()

    # -- the workers -------------------------------------------------------------

    async def run(
        self,
        handle: Callable[[M], Coroutine[Any, Any, None]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run the pool until the mailbox is closed and everything queued is handled.

        ``handle`` must not raise: a message's failures are its own business.
        """
        self._handle = handle
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for _ in range(self._floor):
                    nursery.start_soon(self._worker, False, name=_WORKER)
                if self.queue and not self.waking:
                    self._wake_one()
                task_status.started()
                nursery.start_soon(self._retire_idle)
        finally:
            self._nursery = None

    async def _retire_idle(self) -> None:
        with self._retiring:  # cancelled by the last worker once the mailbox is closed
            while True:
                await trio.sleep(RETIRE_TICK)
                excess = len(self.idle) - self._floor
                if excess > 0:  # the oldest go, all at once
                    for task in list(itertools.islice(self.idle, excess)):
                        del self.idle[task]
                        trio.lowlevel.reschedule(task, outcome.Value(_RETIRE))

    def _yielding(self) -> None:
        """A handler is about to wait: what is queued must not wait for it, nor for each
        other (see the module docstring)."""
        if self.queue or self.urgent:
            for _ in range(self._takeable() - self.waking):
                self._wake_one()

    def recover(self) -> list[M]:
        """After :meth:`run` raised: forget its workers; the messages they held come back.

        What is queued stays queued for the next ``run``; the returned messages
        were being handled when the pool died, and will not be handled again.
        """
        orphans, self.orphans = self.orphans, []
        self.workers.clear()
        self.idle.clear()
        self.waking = 0
        self.running = 0
        self._retiring = trio.CancelScope()  # the dead reaper's scope cannot be entered again
        return orphans

    def cancel_all(self) -> list[M]:
        """Cancel every message being handled (each worker's scope; their workers end),
        and take back the counted messages still queued: they are returned, never handled."""
        for scope in list(self.workers):
            scope.cancel()
        counted = self.counted
        dropped = [message for message in self.queue if counted(message)]
        if dropped:
            kept = [message for message in self.queue if not counted(message)]
            self.queue.clear()
            self.queue.extend(kept)
            self.space.unpark_all()
        return dropped

    async def _park(self) -> object:
        task = trio.lowlevel.current_task()
        self.idle[task] = None

        def abort(_: Any) -> trio.lowlevel.Abort:
            self.idle.pop(task, None)
            return trio.lowlevel.Abort.SUCCEEDED

        return await trio.lowlevel.wait_task_rescheduled(abort)

    async def _worker(self, woken: bool) -> None:
        """Take and handle messages until told to end; ``woken``: started by
        :meth:`_wake_one`, so counted in :attr:`waking` until it runs."""
        if woken:
            self.waking -= 1
        handle = self._handle
        assert handle is not None
        queue = self.queue
        with trio.CancelScope() as scope:
            self.workers.add(scope)
            counts = False
            try:
                message: Any = _TAKE
                while True:
                    if message is _TAKE:
                        if self.urgent:
                            message = self.urgent.popleft()
                        elif queue and self._takeable():
                            full = len(queue) >= self.limit
                            message = queue.popleft()
                            if full:
                                self.space.unpark()
                            self.running += self._counts(message)
                        else:
                            if self.closed and not queue:
                                return
                            message = await self._park()
                            if message is not _END and message is not _RETIRE:
                                self.waking -= 1  # woken to take one (_wake_one, _put)
                            continue
                    elif message is _END or message is _RETIRE:
                        return
                    counts = self._counts(message)
                    try:
                        await _InContext(
                            handle(message), contextvars.copy_context(), self._yield_hook
                        )
                    except Exception:
                        # ``handle`` must not raise: this is a bug, and it ends the pool
                        # (run() raises). The message's sender may wait on it: recover().
                        self.orphans.append(message)
                        raise
                    message = _TAKE
                    if counts:
                        counts = False
                        self.running -= 1
            finally:
                if counts:  # cancelled mid-message
                    self.running -= 1
                self.workers.discard(scope)
                self._keep_going()


class MailboxSender(SyncClose, Generic[M]):
    """A sending handle on the router actor's mailbox, used as a trio send channel is."""

    __slots__ = ("_closed", "_mailbox")

    def __init__(self, mailbox: Mailbox[M]) -> None:
        self._mailbox = mailbox
        self._closed = False
        mailbox.senders += 1

    def send_nowait(self, message: M) -> None:
        """Hand ``message`` over now; ``trio.WouldBlock`` when the mailbox is full."""
        if self._closed:
            raise trio.ClosedResourceError("this mailbox sender is closed")
        self._mailbox._put(message)

    async def send(self, message: M) -> None:
        """Hand ``message`` over, waiting while the mailbox is full."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                self.send_nowait(message)
            except trio.WouldBlock:
                await self._mailbox.space.park()
                continue
            await trio.lowlevel.cancel_shielded_checkpoint()
            return

    def clone(self) -> MailboxSender[M]:
        if self._closed:
            raise trio.ClosedResourceError("this mailbox sender is closed")
        return MailboxSender(self._mailbox)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._mailbox._sender_closed()

    async def __aenter__(self) -> MailboxSender[M]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_mailbox(
    limit: int,
    *,
    max_running: int | None = None,
    counted: Callable[[Any], bool] = lambda message: True,
) -> tuple[MailboxSender[Any], Mailbox[Any]]:
    """A mailbox holding up to ``limit`` queued messages, and its first sender.

    ``max_running`` caps the ``counted`` messages handled at once (see the module).
    """
    mailbox: Mailbox[Any] = Mailbox(limit, max_running=max_running, counted=counted)
    return MailboxSender(mailbox), mailbox
