"""Supervision: restart an actor that died of a bug, with the same mailbox, within a budget.

The router actor is supervised this way (``Router.run``), and a program's
own actors may be, with :func:`supervise`. A restart keeps the mailbox and
what waits in it; what the dead incarnation held is not lost silently:
each request it had taken and not answered has its reply closed (the
client gets a 500), each WebSocket it held is closed. Past the budget
(``RestartBudget``: N restarts within T seconds) supervision gives up with
:class:`SupervisionError`, which names the actor and its last failure.

Only ``Exception`` counts as dying. Cancellation and ``KeyboardInterrupt``
go through: stopping an actor is not a crash.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import trio

from ._web._wsoutbox import WebSocketOutbox
from .messages import _count, _positive

__all__ = [
    "DEFAULT_RESTART_BUDGET",
    "RestartBudget",
    "Restarts",
    "SupervisionError",
    "orphan",
    "supervise",
]

logger = logging.getLogger("actorhttp")
T = TypeVar("T")
PRUNE_AT = 64
"""A supervised inbox forgets settled messages (answered requests, closed WebSockets) once it
tracks this many, and then each time what it tracks has doubled since."""
FAIR_EVERY = 64
"""A supervised inbox hands out at most this many queued messages in a row without letting
the scheduler run another task."""


@dataclass(frozen=True, slots=True)
class RestartBudget:
    """At most ``max_restarts`` restarts within any ``within`` seconds; one more gives up."""

    max_restarts: int = 5
    within: float = 60.0

    def __post_init__(self) -> None:
        _count("max_restarts", self.max_restarts)
        _positive("within", self.within)


DEFAULT_RESTART_BUDGET = RestartBudget()


class SupervisionError(Exception):
    """An actor died more often than its restart budget allows; ``__cause__`` is the last."""


class Restarts:
    """Counts an actor's deaths against its budget (trio's clock)."""

    def __init__(self, name: str, budget: RestartBudget) -> None:
        self.name = name
        self.budget = budget
        self._deaths: deque[float] = deque()

    def died(self, exc: Exception, *, log: bool = True) -> None:
        """Record a death; ``SupervisionError`` (from ``exc``) if the budget is spent.

        Logs the death with ``exc``'s traceback unless ``log`` is false (the
        caller says it better: a worker process has no traceback of ours).
        """
        now = trio.current_time()
        deaths = self._deaths
        deaths.append(now)
        while deaths and deaths[0] <= now - self.budget.within:
            deaths.popleft()
        if len(deaths) > self.budget.max_restarts:
            cause = _innermost(exc)
            raise SupervisionError(
                f"{self.name} died {len(deaths)} times within {self.budget.within:g} s "
                f"(restart budget: {self.budget.max_restarts}); "
                f"last failure: {type(cause).__name__}: {cause}"
            ) from exc
        if log:
            logger.error("%s died; restarting it with the same mailbox", self.name, exc_info=exc)


def _innermost(exc: BaseException) -> BaseException:
    """The one exception a nursery wrapped (groups of one, as trio makes them), else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def orphan(message: object) -> None:
    """What a dead actor held is let go: a request's reply closes (500), a WebSocket closes."""
    reply = getattr(message, "reply", None)
    if reply is not None:
        reply.close()
        return
    outbox = getattr(message, "outbox", None)
    if isinstance(outbox, trio.MemorySendChannel | WebSocketOutbox):
        outbox.close()


def _settled(message: object) -> bool:
    """Nothing of ``message`` is left for :func:`orphan` to let go: its reply is settled,
    or its WebSocket is closing or closed."""
    reply = getattr(message, "reply", None)
    if reply is not None:
        return bool(reply.settled)
    outbox = getattr(message, "outbox", None)
    return isinstance(outbox, WebSocketOutbox) and (outbox.closed or outbox.broken)


class _TrackedInbox(trio.abc.ReceiveChannel[T], Generic[T]):
    """One incarnation's view of a supervised inbox: it remembers what it handed out.

    A message already queued is handed out without a scheduler round trip
    (cancellation is still checked), as an asyncio queue's ``get()`` does:
    trio's ``receive()`` yields even then, so an actor that a burst keeps busy
    (a room that clients join faster than one per scheduler round) would take
    one message per round and fall behind, its senders parked on a full
    mailbox. Measured: a room actor at 3,000 WebSocket handshakes found its
    mailbox full for 2,838 of them, and the server spent 665 us of CPU per
    handshake; taking what is queued, 453 us. Every :data:`FAIR_EVERY`
    messages in a row, a receive yields anyway, so other tasks run.

    Closing it ends only this incarnation's view; the inbox itself stays
    open for the next one (the supervisor owns it).
    """

    def __init__(self, inbox: trio.MemoryReceiveChannel[T]) -> None:
        self._inbox = inbox
        self._closed = False
        self._in_a_row = 0
        self._prune_at = PRUNE_AT
        self.taken: list[T] = []

    def _track(self, message: T) -> T:
        taken = self.taken
        if len(taken) >= self._prune_at:
            # Amortised: a room holds thousands of open WebSockets, none of them settled.
            taken[:] = [each for each in taken if not _settled(each)]
            self._prune_at = max(PRUNE_AT, 2 * len(taken))
        taken.append(message)
        return message

    def receive_nowait(self) -> T:
        if self._closed:
            raise trio.ClosedResourceError("this inbox was closed by its actor")
        return self._track(self._inbox.receive_nowait())

    async def receive(self) -> T:
        if self._closed:
            raise trio.ClosedResourceError("this inbox was closed by its actor")
        if self._in_a_row < FAIR_EVERY:
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                message = self._inbox.receive_nowait()
            except trio.WouldBlock:
                pass
            else:
                self._in_a_row += 1
                return self._track(message)
        self._in_a_row = 0
        return self._track(await self._inbox.receive())

    async def aclose(self) -> None:
        self._closed = True
        await trio.lowlevel.checkpoint()


async def supervise(
    actor: Callable[[trio.abc.ReceiveChannel[T]], Awaitable[Any]],
    inbox: trio.MemoryReceiveChannel[T],
    *,
    budget: RestartBudget = DEFAULT_RESTART_BUDGET,
    name: str | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``actor(inbox)``, restarting it with the same inbox when it raises.

    For an actor that is a route's target (``add_route(..., send_channel)``):
    ``nursery.start_soon(supervise, counter, receive_channel)``. The actor
    gets a view of ``inbox`` (iterate it, ``receive()`` from it); when it
    dies, each request it took and did not answer gets a 500 (its reply is
    closed), each WebSocket it held is closed, and it starts again on the
    same inbox, where nothing queued was lost. It returning ends supervision.

    ``inbox`` is this function's from then on: it is closed on the way out,
    so routes to a stopped actor answer 503. Raises ``SupervisionError``
    once the actor dies more than ``budget`` allows.
    """
    label = name or f"actor {getattr(actor, '__qualname__', repr(actor))}"
    restarts = Restarts(label, budget)
    async with inbox:
        task_status.started()
        while True:
            view = _TrackedInbox(inbox)
            try:
                await actor(view)
            except Exception as exc:
                for message in view.taken:
                    orphan(message)
                restarts.died(exc)
            else:
                return
