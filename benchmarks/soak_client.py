"""One client process of the soak (``benchmarks/soak.py``): mixed, hostile load on loopback.

    python -m benchmarks.soak_client PORT SECONDS SEED

Runs ``CONNECTIONS`` loops at once for ``SECONDS``; each picks actions at
random (seeded): keep-alive and pipelined requests, handlers that raise,
sleep or stream, clients that vanish mid-head, mid-body and mid-response,
slow readers, oversized bodies, malformed requests, and increments of the
server's counting actor (some of which crash it). Every action checks the
class of answer it must get, within ``PATIENCE`` seconds. Prints one JSON
object: counts per action, the faults injected, the increments the server
acknowledged, and every unexpected outcome (none, if the server is sound).
Responses are parsed with h11, never by hand.
"""

from __future__ import annotations

import json
import random
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11
import trio

CONNECTIONS = 8
PATIENCE = 15.0
HOST = "127.0.0.1"
BIG = 4 * 1024 * 1024  # /big's size: more than the kernels buffer
STREAM = 16 * 16 * 1024  # /stream's size


@dataclass
class Tally:
    """What one client process did and saw."""

    actions: Counter[str] = field(default_factory=Counter)
    faults: int = 0
    acked_increments: int = 0
    unexpected: list[str] = field(default_factory=list)


class Exchange:
    """One connection parsed by an h11 client; requests may be sent raw (pipelining)."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, *, rcvbuf: int | None = None) -> Exchange:
        sock = trio.socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await sock.connect((HOST, PORT))
        return cls(trio.SocketStream(sock))

    def request_bytes(self, method: str, target: str, body: bytes = b"") -> bytes:
        """A request framed by this connection's h11 (which moves its state on)."""
        return frame(self.conn, method, target, body)

    async def response(self, *, read_size: int = 65536, pause: float = 0.0) -> tuple[int, bytes]:
        """The next response's status and body; (0, b"") if the connection ended first."""
        status, body = 0, bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await self.stream.receive_some(read_size)
                except trio.BrokenResourceError:
                    data = b""
                self.conn.receive_data(data)
                if pause:
                    await trio.sleep(pause)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
                return status, bytes(body)
            else:  # ConnectionClosed, or an informational response we do not expect
                return status, bytes(body)

    async def call(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        await self.stream.send_all(self.request_bytes(method, target, body))
        return await self.response()


PORT = 0


def frame(conn: h11.Connection, method: str, target: str, body: bytes = b"") -> bytes:
    headers = [("Host", "soak"), ("Content-Length", str(len(body)))]
    data = conn.send(h11.Request(method=method, target=target, headers=headers)) or b""
    if body:
        data += conn.send(h11.Data(data=body)) or b""
    return data + (conn.send(h11.EndOfMessage()) or b"")


async def raw(data: bytes) -> int:
    """Send ``data`` as is; the status the server answers (0 if it just closes)."""
    stream = await trio.open_tcp_stream(HOST, PORT)
    async with stream:
        try:
            await stream.send_all(data)
        except trio.BrokenResourceError:
            pass
        received = b""
        try:
            while b"\r\n" not in received and (chunk := await stream.receive_some()):
                received += chunk
        except trio.BrokenResourceError:
            pass
    line = received.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/") else 0


def expect(tally: Tally, action: str, got: object, wanted: object) -> None:
    if got != wanted:
        tally.unexpected.append(f"{action}: got {got!r}, wanted {wanted!r}")


# -- the actions -----------------------------------------------------------------------------


async def keep_alive(tally: Tally) -> None:
    ex = await Exchange.open()
    async with ex.stream:
        for _ in range(3):
            expect(tally, "keep_alive", await ex.call("GET", "/hello"), (200, b"hello"))


async def pipelined(tally: Tally) -> None:
    ex = await Exchange.open()
    async with ex.stream:
        # All three go out before any answer is read, each framed by a throwaway h11.
        await ex.stream.send_all(
            b"".join(frame(h11.Connection(h11.CLIENT), "GET", "/hello") for _ in range(3))
        )
        for _ in range(3):
            ex.request_bytes("GET", "/hello")  # moves h11's state only: the bytes went above
            expect(tally, "pipelined", await ex.response(), (200, b"hello"))


async def raises(tally: Tally) -> None:
    tally.faults += 1
    ex = await Exchange.open()
    async with ex.stream:
        status, _ = await ex.call("GET", "/raise")
        expect(tally, "raises", status, 500)


async def sleeps(tally: Tally) -> None:
    ex = await Exchange.open()
    async with ex.stream:
        expect(tally, "sleeps", await ex.call("GET", "/sleep"), (200, b"slept"))


async def streams(tally: Tally) -> None:
    ex = await Exchange.open()
    async with ex.stream:
        status, body = await ex.call("GET", "/stream")
        expect(tally, "streams", (status, len(body)), (200, STREAM))


async def vanish_mid_head(tally: Tally) -> None:
    tally.faults += 1
    stream = await trio.open_tcp_stream(HOST, PORT)
    async with stream:
        await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: so")


async def vanish_mid_body(tally: Tally) -> None:
    tally.faults += 1
    stream = await trio.open_tcp_stream(HOST, PORT)
    async with stream:
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 10000\r\n\r\n")
        await stream.send_all(b"x" * 100)


async def vanish_mid_response(tally: Tally) -> None:
    tally.faults += 1
    ex = await Exchange.open()
    async with ex.stream:
        await ex.stream.send_all(ex.request_bytes("GET", "/big"))
        await ex.stream.receive_some(4096)  # then close with the rest unread: a reset


async def slow_reader(tally: Tally) -> None:
    tally.faults += 1
    ex = await Exchange.open(rcvbuf=16 * 1024)
    async with ex.stream:
        await ex.stream.send_all(ex.request_bytes("GET", "/big"))
        status, body = await ex.response(read_size=256 * 1024, pause=0.002)  # ~100 MB/s at most
        expect(tally, "slow_reader", (status, len(body)), (200, BIG))


async def oversized(tally: Tally) -> None:
    tally.faults += 1
    ex = await Exchange.open()
    async with ex.stream:
        body = b"o" * (2 * 1024 * 1024)  # past client_max_size (1 MiB)

        async def send() -> None:
            try:
                await ex.stream.send_all(ex.request_bytes("POST", "/echo", body))
            except trio.BrokenResourceError:
                pass  # refused part-way: the 413 is already on its way

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            status, _ = await ex.response()
            nursery.cancel_scope.cancel()
        expect(tally, "oversized", status, 413)


MALFORMED = [
    b"GET /\x00 HTTP/1.1\r\nHost: soak\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: soak\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost soak\r\n\r\n",
]


async def malformed(tally: Tally) -> None:
    tally.faults += 1
    status = await raw(random.choice(MALFORMED))
    # h11 (hypercorn) answers an unknown version with 505 or closes; both refuse.
    if not (400 <= status < 600 or status == 0):
        tally.unexpected.append(f"malformed: got {status}")


async def count(tally: Tally) -> None:
    ex = await Exchange.open()
    async with ex.stream:
        for _ in range(5):
            if random.random() < 0.05:
                tally.faults += 1
                status, _ = await ex.call("POST", "/count?n=boom")  # the actor dies, restarts
                expect(tally, "count boom", status, 500)
                continue
            status, body = await ex.call("POST", "/count?n=1")
            if status == 200:
                tally.acked_increments += 1
            else:
                tally.unexpected.append(f"count: got {status} {body[:80]!r}")


ACTIONS: list[tuple[Callable[[Tally], Awaitable[None]], int]] = [
    (keep_alive, 20),
    (pipelined, 10),
    (raises, 5),
    (sleeps, 5),
    (streams, 5),
    (vanish_mid_head, 4),
    (vanish_mid_body, 4),
    (vanish_mid_response, 3),
    (slow_reader, 2),
    (oversized, 3),
    (malformed, 5),
    (count, 15),
]


REQUESTS_PER_ACTION = {"keep_alive": 3, "pipelined": 3, "count": 5}
"""Requests (whole or cut short) an action sends; the others send one."""


async def loop(tally: Tally, until: float, min_actions: int, cap: float) -> None:
    actions, weights = zip(*ACTIONS, strict=True)
    # Past ``until``, go on until this process has done ``min_actions`` (so a busy machine
    # slows a short soak down instead of thinning it out), but never past ``cap``.
    while (now := trio.current_time()) < cap and (
        now < until or tally.actions.total() < min_actions
    ):
        action = random.choices(actions, weights)[0]
        tally.actions[action.__name__] += 1
        try:
            with trio.fail_after(PATIENCE):
                await action(tally)
        except trio.TooSlowError:
            tally.unexpected.append(f"{action.__name__}: no answer in {PATIENCE:g} s")
        except (OSError, trio.BrokenResourceError, h11.ProtocolError) as exc:
            tally.unexpected.append(f"{action.__name__}: {type(exc).__name__}: {exc}")


async def main(seconds: float, min_actions: int = 0) -> Tally:
    """Run the actions for ``seconds``, and on until ``min_actions`` were done (at most 10x)."""
    tally = Tally()
    now = trio.current_time()
    until, cap = now + seconds, now + 10 * seconds
    async with trio.open_nursery() as nursery:
        for _ in range(CONNECTIONS):
            nursery.start_soon(loop, tally, until, min_actions, cap)
    return tally


if __name__ == "__main__":
    PORT = int(sys.argv[1])
    random.seed(int(sys.argv[3]))
    result = trio.run(main, float(sys.argv[2]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    print(
        json.dumps(
            {
                "actions": dict(result.actions),
                "faults": result.faults,
                "acked_increments": result.acked_increments,
                "unexpected": result.unexpected[:50],
                "unexpected_count": len(result.unexpected),
            }
        )
    )
