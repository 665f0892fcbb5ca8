"""BodyPipe: a streamed response's bytes between the handler and the connection, bounded."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel
import trio.testing

from actorhttp._pipe import DEFAULT_PIPE_LIMIT, BodyPipe, ClientDisconnectedError, PipeAborted


async def read_all(pipe: BodyPipe) -> bytes:
    out = bytearray()
    while data := await pipe.read():
        out += data
    return bytes(out)


def test_client_disconnected_is_a_connection_reset() -> None:
    assert issubclass(ClientDisconnectedError, ConnectionResetError)
    assert DEFAULT_PIPE_LIMIT == 64 * 1024


async def test_writes_up_to_the_limit_do_not_wait() -> None:
    pipe = BodyPipe(limit=10)
    with trio.fail_after(1):  # the clock is real here: nothing may park
        await pipe.write(b"12345")
        await pipe.write(b"67890")
    assert pipe.bytes_written == 10
    assert await pipe.read() == b"1234567890"


async def test_a_writer_past_the_limit_parks_until_the_reader_takes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pipe = BodyPipe(limit=10)
    done_at: list[float] = []

    async def writer() -> None:
        await pipe.write(b"a" * 8)
        await pipe.write(b"b" * 8)  # 16 > 10 waiting: parks
        done_at.append(trio.current_time())
        await pipe.write(b"c" * 4)
        done_at.append(trio.current_time())
        pipe.close()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert done_at == []
        await trio.sleep(30)
        assert done_at == []  # still parked: nobody read
        assert await pipe.read() == b"a" * 8 + b"b" * 8
        await trio.testing.wait_all_tasks_blocked()
        assert done_at == [30.0, 30.0]
        assert await pipe.read() == b"cccc"
        assert await pipe.read() == b""


async def test_one_write_bigger_than_the_limit_waits_for_the_reader() -> None:
    pipe = BodyPipe(limit=4)
    returned = trio.Event()

    async def writer() -> None:
        await pipe.write(b"0123456789")
        returned.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert not returned.is_set()
        assert await pipe.read() == b"0123456789"  # never split, never lost
        await returned.wait()


async def test_order_is_kept_and_memory_stays_bounded() -> None:
    pipe = BodyPipe(limit=1000)
    pieces = [bytes([i % 256]) * (i % 97 + 1) for i in range(2000)]
    high_water = 0

    async def writer() -> None:
        for piece in pieces:
            await pipe.write(piece)
        pipe.close()

    async def reader() -> bytes:
        nonlocal high_water
        out = bytearray()
        while True:
            high_water = max(high_water, pipe._size)
            data = await pipe.read()
            if not data:
                return bytes(out)
            out += data
            await trio.lowlevel.checkpoint()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            received = await reader()
    assert received == b"".join(pieces)
    assert high_water <= 1000 + 97  # the limit plus at most the write that crossed it


async def test_close_ends_after_the_last_byte() -> None:
    pipe = BodyPipe()
    await pipe.write(b"last")
    pipe.close()
    assert pipe.closed
    assert await pipe.read() == b"last"
    assert await pipe.read() == b""
    assert await pipe.read() == b""  # stays ended
    with pytest.raises(RuntimeError, match="after write_eof"):
        await pipe.write(b"more")


async def test_close_wakes_a_parked_reader() -> None:
    pipe = BodyPipe()
    got: list[bytes] = []

    async def reader() -> None:
        got.append(await pipe.read())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        pipe.close()
    assert got == [b""]


async def test_abort_reaches_the_reader_with_its_cause() -> None:
    pipe = BodyPipe()
    await pipe.write(b"partial")
    cause = OSError("disk gone")
    pipe.abort(cause)
    pipe.close()  # too late: an aborted body stays aborted
    assert pipe.closed
    assert await pipe.read() == b"partial"  # what was written before still goes out
    with pytest.raises(PipeAborted) as caught:
        await pipe.read()
    assert caught.value.__cause__ is cause
    with pytest.raises(RuntimeError):
        await pipe.write(b"x")


async def test_break_fails_pending_and_later_writes_as_connection_reset() -> None:
    pipe = BodyPipe(limit=2)
    failures: list[BaseException] = []

    async def writer() -> None:
        try:
            await pipe.write(b"too much")
        except ConnectionResetError as exc:
            failures.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        pipe.break_("client reset")
    assert len(failures) == 1
    assert isinstance(failures[0], ClientDisconnectedError)
    assert str(failures[0]) == "client reset"
    assert pipe.broken
    assert pipe._size == 0  # what was waiting is dropped, not kept for nobody
    with pytest.raises(ClientDisconnectedError, match="client reset"):
        await pipe.write(b"later")
    with pytest.raises(ClientDisconnectedError):
        await pipe.drain()
    pipe.break_("a second reason")  # the first reason stays
    with pytest.raises(ClientDisconnectedError, match="client reset"):
        await pipe.write(b"x")


async def test_break_wakes_a_parked_reader() -> None:
    pipe = BodyPipe()

    async def reader() -> None:
        with pytest.raises(PipeAborted, match="client reset"):
            await pipe.read()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        pipe.break_("client reset")
    with pytest.raises(PipeAborted):
        await pipe.read()


async def test_wait_finished_on_close_abort_and_break() -> None:
    for end in ("close", "abort", "break"):
        pipe = BodyPipe()
        finished = trio.Event()

        async def waiter(pipe: BodyPipe = pipe, finished: trio.Event = finished) -> None:
            await pipe.wait_finished()
            finished.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            await pipe.write(b"x")
            await trio.testing.wait_all_tasks_blocked()
            assert not finished.is_set(), end
            if end == "close":
                pipe.close()
            elif end == "abort":
                pipe.abort(ValueError())
            else:
                pipe.break_()
        assert finished.is_set()
        with trio.fail_after(1):
            await pipe.wait_finished()  # already finished: returns at once


async def test_drain_waits_for_the_reader_to_take_everything(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pipe = BodyPipe(limit=100)
    await pipe.write(b"12345")
    drained_at: list[float] = []

    async def drainer() -> None:
        await pipe.drain()
        drained_at.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drainer)
        await trio.sleep(7)
        assert drained_at == []
        assert await pipe.read() == b"12345"
    assert drained_at == [7.0]
    with trio.fail_after(1):
        await pipe.drain()  # nothing waiting: returns at once


async def test_drain_is_woken_by_a_break() -> None:
    pipe = BodyPipe()
    await pipe.write(b"never read")
    async with trio.open_nursery() as nursery:

        async def drainer() -> None:
            with pytest.raises(ClientDisconnectedError):
                await pipe.drain()

        nursery.start_soon(drainer)
        await trio.testing.wait_all_tasks_blocked()
        pipe.break_()


async def test_discard_counts_bytes_and_sends_none() -> None:
    pipe = BodyPipe(limit=4, discard=True)
    with trio.fail_after(1):  # dropped bytes never fill the pipe: no write parks
        for _ in range(100):
            await pipe.write(b"0123456789")
    assert pipe.bytes_written == 1000
    pipe.close()
    assert await read_all(pipe) == b""


async def test_a_cancelled_parked_writer_keeps_the_pipe_usable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pipe = BodyPipe(limit=2)
    with trio.move_on_after(5) as scope:
        await pipe.write(b"abc")  # parks, then is cancelled
    assert scope.cancelled_caught
    assert await pipe.read() == b"abc"  # the bytes were queued before it parked
    await pipe.write(b"d")
    pipe.close()
    assert await read_all(pipe) == b"d"
