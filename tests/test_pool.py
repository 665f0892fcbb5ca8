"""The router actor's pool: bursts of handlers that wait, the cap (max_running), the bounded queue,
commands that bypass it."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from actorhttp._pool import open_mailbox


def is_request(message: object) -> bool:
    return isinstance(message, int)  # ints play requests here, strings commands


async def test_the_cap_bounds_running_messages_and_the_queue_refuses_past_its_limit() -> None:
    gate = trio.Event()
    running: list[object] = []
    done: list[object] = []
    most = 0

    async def handle(message: object) -> None:
        nonlocal most
        running.append(message)
        most = max(most, sum(isinstance(m, int) for m in running))
        if isinstance(message, int):
            await gate.wait()
        running.remove(message)
        done.append(message)

    sender, mailbox = open_mailbox(2, max_running=2, counted=is_request)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(mailbox.run, handle)
            for n in range(4):
                sender.send_nowait(n)  # two run, two wait
            with pytest.raises(trio.WouldBlock):
                sender.send_nowait(4)
            await trio.testing.wait_all_tasks_blocked()
            assert sorted(m for m in running if isinstance(m, int)) == [0, 1]
            sender.send_nowait("command")  # not counted: runs beside the capped ones
            await trio.testing.wait_all_tasks_blocked()
            assert done == ["command"]
            gate.set()
            sender.close()
    assert sorted(m for m in done if isinstance(m, int)) == [0, 1, 2, 3]
    assert most == 2


async def test_cancel_all_takes_back_queued_requests_but_not_commands() -> None:
    handled: list[object] = []

    async def handle(message: object) -> None:
        handled.append(message)
        if message == 0:
            await trio.sleep_forever()

    sender, mailbox = open_mailbox(8, max_running=1, counted=is_request)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(mailbox.run, handle)
            for n in range(3):
                sender.send_nowait(n)
            await trio.testing.wait_all_tasks_blocked()
            assert handled == [0]
            assert mailbox.cancel_all() == [1, 2]  # never started
            sender.send_nowait("after")
            sender.close()
    assert handled == [0, "after"]


class Rounds(trio.abc.Instrument):
    """Counts the scheduler's rounds: one wait for I/O each."""

    def __init__(self) -> None:
        self.rounds = 0

    def after_io_wait(self, timeout: float) -> None:
        self.rounds += 1


async def test_a_burst_of_handlers_that_wait_all_start_in_the_next_round() -> None:
    """Each handler holds its worker while it waits (a WebSocket's, for the socket's life):
    what is queued behind it gets workers at once, not one per scheduler round."""
    burst = 40
    started: list[int] = []
    gate = trio.Event()

    async def handle(message: int) -> None:
        started.append(message)
        await gate.wait()

    sender, mailbox = open_mailbox(burst)
    rounds = Rounds()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(mailbox.run, handle)
            await trio.testing.wait_all_tasks_blocked()
            trio.lowlevel.add_instrument(rounds)
            for n in range(burst):
                sender.send_nowait(n)
            await trio.testing.wait_all_tasks_blocked()
            trio.lowlevel.remove_instrument(rounds)
            assert sorted(started) == list(range(burst))
            assert rounds.rounds <= 3, rounds.rounds  # one per message, before
            assert mailbox.waking == 0
            gate.set()
            sender.close()


async def test_workers_woken_for_messages_another_took_park_again() -> None:
    """Handlers that wait briefly: some woken workers find the queue already taken by
    a worker whose handler came back first; everything is handled once, and the
    pool's count of woken workers comes back to zero."""
    handled: list[int] = []

    async def handle(message: int) -> None:
        await trio.lowlevel.checkpoint()  # waits once, briefly
        handled.append(message)

    sender, mailbox = open_mailbox(64)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(mailbox.run, handle)
            for wave in range(5):
                for n in range(20):
                    sender.send_nowait(wave * 20 + n)
                await trio.testing.wait_all_tasks_blocked()
                assert mailbox.waking == 0
                assert not mailbox.queue
            sender.close()
    assert sorted(handled) == list(range(100))


async def test_the_cap_still_bounds_a_burst_of_waiting_handlers() -> None:
    gate = trio.Event()
    running = 0
    most = 0

    async def handle(message: object) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gate.wait()
        running -= 1

    sender, mailbox = open_mailbox(16, max_running=3, counted=is_request)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(mailbox.run, handle)
            for n in range(10):
                sender.send_nowait(n)
            await trio.testing.wait_all_tasks_blocked()
            assert running == 3
            gate.set()
            sender.close()
    assert most == 3
