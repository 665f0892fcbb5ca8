"""A supervised actor's inbox: what is queued is taken at once, fairly, and not remembered forever.

``supervise`` (and so every actor declared with ``app.add_actor``) hands the
actor a view of its inbox. A message already queued is handed out without a
scheduler round (trio's own ``receive()`` yields even then, so a busy actor
would take one per round), cancellation is still checked at every receive,
and after ``FAIR_EVERY`` in a row the actor lets other tasks run. What the
view remembers for a restart (requests, WebSockets) forgets the settled ones
at an amortised cost: a room holds thousands of open sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import trio
import trio.lowlevel
import trio.testing

from actorhttp import _supervise, supervise
from actorhttp._supervise import FAIR_EVERY, PRUNE_AT, _TrackedInbox
from actorhttp._web._wsoutbox import WebSocketOutbox


class Rounds(trio.abc.Instrument):
    """Counts the scheduler's rounds (one wait for I/O each) and one task's steps."""

    def __init__(self) -> None:
        self.rounds = 0
        self.steps = 0
        self.task: trio.lowlevel.Task | None = None

    def after_io_wait(self, timeout: float) -> None:
        self.rounds += 1

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1


def collecting(
    taken: list[int], rounds: Rounds
) -> Callable[[trio.abc.ReceiveChannel[int]], Awaitable[None]]:
    """An actor that keeps what it takes in ``taken``; ``rounds`` counts its task's steps."""

    async def actor(inbox: trio.abc.ReceiveChannel[int]) -> None:
        rounds.task = trio.lowlevel.current_task()
        async for message in inbox:
            taken.append(message)

    return actor


async def test_queued_messages_are_taken_in_one_step_of_the_actor() -> None:
    taken: list[int] = []
    rounds = Rounds()
    actor = collecting(taken, rounds)

    send, receive = trio.open_memory_channel[int](FAIR_EVERY)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervise, actor, receive)
            await trio.testing.wait_all_tasks_blocked()  # the actor waits on an empty inbox
            trio.lowlevel.add_instrument(rounds)
            for n in range(FAIR_EVERY):
                send.send_nowait(n)
            await trio.testing.wait_all_tasks_blocked()
            trio.lowlevel.remove_instrument(rounds)
            await send.aclose()
    assert taken == list(range(FAIR_EVERY))
    # Woken once: one step takes them all, and parks on the empty inbox (trio's receive
    # would take a step, and a round, for each).
    assert rounds.steps == 1, rounds.steps


async def test_a_long_queue_lets_other_tasks_run_every_fair_every_messages() -> None:
    count = 3 * FAIR_EVERY
    taken: list[int] = []
    rounds = Rounds()
    actor = collecting(taken, rounds)

    send, receive = trio.open_memory_channel[int](count)
    for n in range(count):
        send.send_nowait(n)
    send.close()
    trio.lowlevel.add_instrument(rounds)
    with trio.fail_after(5):
        await supervise(actor, receive)
    trio.lowlevel.remove_instrument(rounds)
    assert taken == list(range(count))
    assert rounds.steps >= 3, rounds.steps  # it yielded after each FAIR_EVERY


async def test_a_receive_with_messages_queued_still_honours_cancellation() -> None:
    send, receive = trio.open_memory_channel[int](4)
    send.send_nowait(1)
    inbox = _TrackedInbox(receive)
    with trio.CancelScope() as scope:
        scope.cancel()
        await inbox.receive()
        pytest.fail("a cancelled receive returned")  # pragma: no cover
    assert scope.cancelled_caught
    assert receive.receive_nowait() == 1  # nothing was taken


@dataclass
class Joined:
    """A message holding a WebSocket, as WebSocketConnection does (its outbox)."""

    outbox: WebSocketOutbox


async def test_closed_websockets_are_forgotten_and_open_ones_cost_amortised_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = 0
    settled = _supervise._settled

    def counting(message: object) -> bool:
        nonlocal checks
        checks += 1
        return settled(message)

    monkeypatch.setattr(_supervise, "_settled", counting)
    _, receive = trio.open_memory_channel[Joined](0)
    inbox = _TrackedInbox(receive)
    count = 2000
    opened = [Joined(WebSocketOutbox(16)) for _ in range(count)]
    for message in opened:  # a room that keeps every member: none is settled
        inbox._track(message)
    assert len(inbox.taken) == count
    assert checks <= 2 * count, checks  # was one pass over all of them per message
    for message in opened:
        message.outbox.close()  # they all left
    for _ in range(count):  # and others come and go
        member = Joined(WebSocketOutbox(16))
        inbox._track(member)
        member.outbox.close()
    assert len(inbox.taken) <= 2 * PRUNE_AT, len(inbox.taken)
