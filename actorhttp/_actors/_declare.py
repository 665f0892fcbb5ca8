"""Actors that belong to an application: declared with ``app.add_actor``, run while it is served.

Each declaration holds the actor and its mailbox. While the app is served
(``serve``, ``run_app``, the CLI, or an ASGI server's lifespan) an
:class:`ActorGroup` runs every declared actor of the app and its
sub-applications under :func:`~actorhttp.supervise`, in one nursery owned
by the serving code: started after the broker connects and the app's
startup ran, before the server listens. A stop closes every mailbox first
(so an actor ends once it has handled what was queued), waits for the
actors until the stop's grace runs out, then cancels what is left.

An actor that dies more often than its budget allows is logged, and its
mailbox stays closed (its routes answer 503): the worker goes on serving
everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import trio

from .._broker import Broker
from .._supervise import RestartBudget, SupervisionError, supervise

__all__ = ["ActorGroup", "Declared", "LocalActor", "check_size"]

logger = logging.getLogger("actorhttp")
T = TypeVar("T")
Actor = Callable[[trio.abc.ReceiveChannel[T]], Awaitable[Any]]


def check_size(mailbox_size: object) -> int:
    """A mailbox size: an int >= 0 (0: every send waits for the actor)."""
    if isinstance(mailbox_size, bool) or not isinstance(mailbox_size, int) or mailbox_size < 0:
        raise ValueError(f"mailbox_size must be an int >= 0, not {mailbox_size!r}")
    return mailbox_size


class Declared(Protocol):
    """What ``app.add_actor`` records: something an ActorGroup can run and close."""

    label: str

    async def run(
        self, broker: Broker, app: Any, *, task_status: trio.TaskStatus[None]
    ) -> None: ...

    def close(self) -> None: ...


class LocalActor(Generic[T]):
    """An actor with a mailbox in this process: one incarnation per worker."""

    def __init__(
        self, actor: Actor[T], mailbox_size: int, budget: RestartBudget, name: str | None
    ) -> None:
        if not callable(actor):
            raise TypeError(f"an actor is an async callable taking its inbox, not {actor!r}")
        if not isinstance(budget, RestartBudget):
            raise TypeError(f"budget must be a RestartBudget, not {budget!r}")
        self.actor = actor
        self.budget = budget
        self.label = f"actor {name or getattr(actor, '__qualname__', repr(actor))}"
        self.mailbox, self._inbox = trio.open_memory_channel[T](check_size(mailbox_size))

    async def run(self, broker: Broker, app: Any, *, task_status: trio.TaskStatus[None]) -> None:
        """Supervise the actor on its inbox until its mailbox closes (or it gives up)."""
        try:
            await supervise(
                self.actor,
                self._inbox,
                budget=self.budget,
                name=self.label,
                task_status=task_status,
            )
        except SupervisionError as exc:
            logger.error("%s; its mailbox is closed (its routes answer 503)", exc)

    def close(self) -> None:
        """Close the mailbox: the actor ends once it has taken what was queued."""
        self.mailbox.close()

    def __repr__(self) -> str:
        return f"<{self.label}>"


class ActorGroup:
    """The declared actors of one served app, in a nursery of their own."""

    def __init__(self, declared: Sequence[Declared], broker: Broker, app: Any) -> None:
        self.declared = tuple(declared)
        self.broker = broker
        self.app = app
        self._scope = trio.CancelScope()
        self._done = trio.Event()
        self._deadline = float("inf")

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every actor (returning through ``task_status`` once all have), run them all."""
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    for each in self.declared:
                        await nursery.start(_run_one, each, self.broker, self.app)
                    task_status.started()
        finally:
            self._done.set()

    def close(self, grace: float) -> None:
        """Close every mailbox; the actors get until ``grace`` seconds from now to end."""
        self._deadline = min(self._deadline, trio.current_time() + grace)
        for each in self.declared:
            each.close()

    async def stop(self, grace: float) -> None:
        """Close the mailboxes (if not yet), wait for the actors until the grace, then cancel."""
        self.close(grace)
        with trio.move_on_at(self._deadline):
            await self._done.wait()
        if not self._done.is_set():
            logger.warning("actors still running past the grace: cancelling them")
            self._scope.cancel()
            await self._done.wait()


class _Status:
    """Passes ``started()`` on, and remembers whether it was called."""

    def __init__(self, task_status: trio.TaskStatus[None]) -> None:
        self.task_status = task_status
        self.called = False

    def started(self, value: None = None) -> None:
        self.called = True
        self.task_status.started()


async def _run_one(
    declared: Declared, broker: Broker, app: Any, *, task_status: trio.TaskStatus[None]
) -> None:
    status = _Status(task_status)
    try:
        await declared.run(broker, app, task_status=status)
    except Exception:
        # A bug of ours around the actor: the worker goes on, the actor's routes answer 503.
        logger.exception("%s stopped", declared.label)
        declared.close()
    if not status.called:
        task_status.started()
