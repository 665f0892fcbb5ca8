"""StreamIO: reads and writes on a connection's descriptor, over a real socket pair."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from actorhttp._transports._sockio import PROBE_EVERY, StreamIO


@asynccontextmanager
async def pair() -> AsyncIterator[tuple[StreamIO, socket.socket]]:
    """Our end as a StreamIO and the peer's as a plain socket; both closed on exit."""
    ours, theirs = socket.socketpair()
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(ours))
    with theirs, trio.fail_after(10):
        async with stream:
            yield StreamIO(stream), theirs


def waits_first(io: StreamIO) -> bool:
    return io._wait_first


async def test_reads_what_is_there_and_waits_for_what_is_not() -> None:
    async with pair() as (io, peer):
        peer.send(b"first")
        assert await io.receive_some(100) == b"first"
        assert not waits_first(io)  # found at once: the next read tries first too

        async def send_later() -> None:
            await trio.sleep(0.01)
            peer.send(b"second")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_later)
            assert await io.receive_some(100) == b"second"
        assert waits_first(io)  # nothing was there: the next read waits first

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_later)
            assert await io.receive_some(100) == b"second"
        peer.shutdown(socket.SHUT_WR)
        assert await io.receive_some(100) == b""


async def test_a_client_sending_ahead_brings_back_reading_first() -> None:
    async with pair() as (io, peer):
        io._wait_first = True
        for i in range(PROBE_EVERY):
            peer.send(b"x")
            assert await io.receive_some(100) == b"x", i
        # One of those reads tried first and found its bytes there.
        assert not waits_first(io)


async def test_closing_the_stream_wakes_a_waiting_read() -> None:
    async with pair() as (io, _):
        io._wait_first = True
        failure: list[BaseException] = []

        async def read() -> None:
            try:
                await io.receive_some(100)
            except trio.ClosedResourceError as exc:
                failure.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            await io.stream.aclose()
        assert failure
        with pytest.raises(trio.ClosedResourceError):
            await io.receive_some(100)
        with pytest.raises(trio.ClosedResourceError):
            await io.send_all(b"late")


async def test_a_reset_peer_is_a_broken_resource() -> None:
    async with pair() as (io, peer):
        peer.close()

        async def send_until_refused() -> None:
            for _ in range(100):  # the first writes may still be buffered
                await io.send_all(b"x" * 65536)

        with pytest.raises(trio.BrokenResourceError):
            await send_until_refused()


async def test_send_all_waits_while_the_buffer_is_full() -> None:
    data = bytes(range(256)) * 16384  # 4 MiB: more than the kernel buffers
    received = bytearray()
    async with pair() as (io, peer):
        peer.setblocking(False)

        async def drain() -> None:
            while len(received) < len(data):
                await trio.lowlevel.wait_readable(peer)
                received.extend(peer.recv(1 << 20))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            await io.send_all(data)
    assert bytes(received) == data
