"""When an actor's sends leave (httptools transport): held while it works through a batch.

A message an actor sends while its socket's inbox still holds messages it
has not taken waits, with the ones it sends next, until its inbox is empty
(its answer to the batch's last message) or its task gives the scheduler
back; then they leave in one write. A lone message leaves at once. Limits
and backpressure stay as they were; a close takes what is held first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from actorhttp import Application
from actorhttp.messages import WebSocketConnection
from actorhttp.testing import serve_app

from .wsclient import WSClient, frame

TIMEOUT = 10
Actor = Callable[[WebSocketConnection], Awaitable[None]]


@asynccontextmanager
async def served(actor: Actor, **options: Any) -> AsyncIterator[WSClient]:
    """``actor`` serving each connection to ``/ws`` in a task of its own; one client on it."""
    mailbox, connections = trio.open_memory_channel[WebSocketConnection](4)
    app = Application()
    app.router.add_websocket("/ws", mailbox, **options)

    async def actors() -> None:
        async with trio.open_nursery() as nursery, connections:
            async for connection in connections:
                nursery.start_soon(actor, connection)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(actors)
        async with (
            serve_app(app, transport="httptools") as http,
            await WSClient.connect(http.server.port) as client,
        ):
            yield client
        nursery.cancel_scope.cancel()


def texts(count: int, prefix: str = "m") -> bytes:
    """``count`` TEXT frames from a client, as one write (one read for the server)."""
    return b"".join(frame(0x1, f"{prefix}{i}".encode()) for i in range(count))


async def test_an_actors_answers_to_one_read_leave_in_one_write(
    session_writes: list[bytes],
) -> None:
    async def echo(connection: WebSocketConnection) -> None:
        async with connection.outbox:
            async for message in connection.inbox:
                await connection.outbox.send(message.data)

    with trio.fail_after(TIMEOUT):
        async with served(echo) as client:
            before = len(session_writes)  # the handshake's answer is not the session's
            await client.send_raw(texts(5))
            echoed = [await client.receive() for _ in range(5)]
            answers = session_writes[before:]
            await client.close()
            await client.receive_close(reply=False)
    assert echoed == [f"m{i}" for i in range(5)]
    assert answers[0] == b"".join(bytes((0x81, 2)) + f"m{i}".encode() for i in range(5))


async def test_a_lone_send_leaves_at_once(session_writes: list[bytes]) -> None:
    """Nothing waits in the inbox: written in the sender's task, before its next line."""
    seen: list[int] = []
    answered = trio.Event()

    async def once(connection: WebSocketConnection) -> None:
        message = await connection.inbox.receive()
        before = len(session_writes)
        connection.outbox.send_nowait(f"re {message.data}")
        seen.append(len(session_writes) - before)  # no checkpoint in between: written by now
        await answered.wait()  # and then it waits on something else entirely

    with trio.fail_after(TIMEOUT):
        async with served(once) as client:
            await client.send_text("one")
            assert await client.receive() == "re one"
            answered.set()
    assert seen == [1]


async def test_what_is_held_leaves_when_the_actor_waits_on_something_else() -> None:
    """Messages still queued when it sends: held, but only until its task waits (at the
    end of the scheduler's round), never until it comes back to its inbox."""
    answered = trio.Event()

    async def slow(connection: WebSocketConnection) -> None:
        message = await connection.inbox.receive()  # two more wait behind it
        assert connection.inbox.queued == 2
        await connection.outbox.send(f"re {message.data}")
        await answered.wait()  # the client must have the answer meanwhile
        async for message in connection.inbox:
            await connection.outbox.send(f"re {message.data}")

    with trio.fail_after(TIMEOUT):
        async with served(slow) as client:
            await client.send_raw(texts(3))
            assert await client.receive() == "re m0"
            answered.set()
            assert [await client.receive() for _ in range(2)] == ["re m1", "re m2"]


async def test_several_sends_in_one_step_arrive_in_order_and_whole() -> None:
    """Many held messages of many sizes (some too big to hold), across the hold's limit."""
    sizes = [0, 1, 125, 126, 1000, 16 * 1024, 70_000, 3, 65_535, 65_536] * 4
    payloads = [bytes([i % 251]) * size for i, size in enumerate(sizes)]

    async def burst(connection: WebSocketConnection) -> None:
        await connection.inbox.receive()  # one more waits: what follows is held
        for payload in payloads:
            await connection.outbox.send(payload)
        await connection.outbox.aclose()
        async for _ in connection.inbox:
            pass

    with trio.fail_after(TIMEOUT):
        async with served(burst) as client:
            await client.send_raw(texts(2))
            received = [await client.receive() for _ in payloads]
            close = await client.receive_close(reply=False)
    assert received == payloads
    assert close.code == 1000


async def test_a_close_takes_what_is_held_first() -> None:
    async def closer(connection: WebSocketConnection) -> None:
        await connection.inbox.receive()  # two more wait: "a" and "b" are held
        await connection.outbox.send("a")
        await connection.outbox.send("b")
        await connection.outbox.aclose()  # the close frame follows them
        async for _ in connection.inbox:
            pass

    with trio.fail_after(TIMEOUT):
        async with served(closer) as client:
            await client.send_raw(texts(3))
            assert [await client.receive(), await client.receive()] == ["a", "b"]
            close = await client.receive_close()
            await client.wait_eof()
    assert close.code == 1000


async def test_a_full_outbox_still_holds_the_sender_back() -> None:
    """A client that reads nothing: what is held goes to the kernel, the kernel's buffers
    fill, then the outbox (4 messages here), and then send_nowait says WouldBlock."""
    sent: list[int] = []
    blocked = trio.Event()
    message = "x" * 8000  # under the size that is written at once

    async def flood(connection: WebSocketConnection) -> None:
        await connection.inbox.receive()  # one more waits: sends are held first
        for number in range(100_000):
            try:
                connection.outbox.send_nowait(f"{number:06d}{message}")
            except trio.WouldBlock:
                break
            sent.append(number)
        blocked.set()
        await connection.outbox.send("last")  # waits for room, then goes
        async for _ in connection.inbox:
            pass

    with trio.fail_after(TIMEOUT):
        async with served(flood, outbox_size=4) as client:
            await client.send_raw(texts(2))
            await blocked.wait()
            assert 0 < len(sent) < 100_000
            received = [await client.receive() for _ in range(len(sent) + 1)]
    assert [r[:6] for r in received[:-1]] == [f"{n:06d}" for n in sent]
    assert received[-1] == "last"
