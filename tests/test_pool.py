"""The router actor's pool under a cap: max_running, the bounded queue, commands that bypass."""

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
