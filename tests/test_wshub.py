"""The WebSocket hub's timers and its end-of-round uncorking, driven with fake sockets."""

from __future__ import annotations

import trio
import trio.testing

from actorhttp._transports._wshub import WSHub


class Fake:
    """A socket as the hub sees it: records when its timer fired, and its uncorks."""

    def __init__(self, name: str, log: list[tuple[str, float]]) -> None:
        self.name = name
        self.log = log

    def on_timer(self, now: float) -> None:
        self.log.append((self.name, now))

    def go_away(self) -> None:
        self.log.append((f"{self.name} 1001", trio.current_time()))

    def uncork(self) -> None:
        self.log.append((f"{self.name} uncorked", trio.current_time()))


async def test_deadlines_fire_in_time_order_whichever_way_they_were_set(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[str, float]] = []
    async with trio.open_nursery() as nursery:
        hub = WSHub(nursery)
        nursery.start_soon(hub.run)
        start = trio.current_time()
        sockets = {name: Fake(name, log) for name in "abcdefg"}
        for each in sockets.values():
            hub.add(each)
        hub.in_order_at(start + 10, sockets["a"])
        hub.in_order_at(start + 10, sockets["b"])  # a tie: in the order set
        hub.in_order_at(start + 20, sockets["c"])
        hub.in_order_at(start + 5, sockets["d"])  # out of order: still on time
        hub.at(start + 1, sockets["e"])
        hub.in_order_at(start + 30, sockets["f"])
        hub.discard(sockets["f"])  # gone: its entry is dropped when due
        await trio.sleep(40)
        # Nothing left: the hub sleeps with no deadline, and a new entry wakes it.
        hub.in_order_at(trio.current_time() + 1, sockets["g"])
        await trio.sleep(10)
        nursery.cancel_scope.cancel()
    assert [(name, when - start) for name, when in log] == [
        ("e", 1),
        ("d", 5),
        ("a", 10),
        ("b", 10),
        ("c", 20),
        ("g", 41),
    ]


async def test_what_is_corked_is_uncorked_once_the_running_task_waits() -> None:
    log: list[tuple[str, float]] = []
    async with trio.open_nursery() as nursery:
        hub = WSHub(nursery)
        nursery.start_soon(hub.run)
        await trio.testing.wait_all_tasks_blocked()
        a, b = Fake("a", log), Fake("b", log)
        hub.at_round_end(a)
        hub.at_round_end(b)
        log.append(("still running", 0))  # nothing uncorked while this task runs
        await trio.testing.wait_all_tasks_blocked()  # this task waited: the uncorker ran
        log.append(("after", 0))
        hub.at_round_end(a)  # again, the uncorker parked since
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert [name for name, _ in log] == [
        "still running",
        "a uncorked",
        "b uncorked",
        "after",
        "a uncorked",
    ]


async def test_the_stop_closes_every_open_socket_once() -> None:
    log: list[tuple[str, float]] = []
    going_away = trio.Event()
    async with trio.open_nursery() as nursery:
        hub = WSHub(nursery, going_away)
        nursery.start_soon(hub.run)
        hub.add(Fake("a", log))
        hub.add(Fake("b", log))
        going_away.set()
        await trio.testing.wait_all_tasks_blocked()
        hub.add(Fake("c", log))  # opened during the stop: closed at once
        nursery.cancel_scope.cancel()
    assert sorted(name for name, _ in log) == ["a 1001", "b 1001", "c 1001"]
