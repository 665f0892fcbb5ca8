"""Faults of one connection stay in that connection, on both transports.

Clients that reset at once (port scanners, TCP health checks), and clients
that vanish mid-head, mid-body, mid-response and mid-stream: the server
goes on answering, and none of it is logged as an error.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import trio
import trio.testing

from actorhttp import Application, Request, Response
from actorhttp._transports._base import Peer, accept_connections
from actorhttp._transports._sockio import SerialSendStream
from actorhttp.messages import TransportName
from actorhttp.testing import TestClient, serve_app

from .rawhttp import exchange, status_of

TIMEOUT = 30
RESETS = 2000
Client = Callable[..., Awaitable[TestClient]]

_LINGER_ZERO = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


async def connect(port: int) -> trio.socket.SocketType:
    sock = trio.socket.socket()
    await sock.connect(("127.0.0.1", port))
    return sock


def reset(sock: trio.socket.SocketType) -> None:
    sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_LINGER, _LINGER_ZERO)
    sock.close()


async def connect_and_reset(port: int, count: int) -> None:
    for _ in range(count):
        reset(await connect(port))


async def send_then_reset(port: int, data: bytes, *, read: int = 0) -> bytes:
    """Send ``data``, read up to ``read`` bytes of the answer, then reset the connection."""
    sock = await connect(port)
    received = b""
    try:
        await sock.send(data)
        while len(received) < read:
            chunk = await sock.recv(read - len(received))
            if not chunk:
                break
            received += chunk
    finally:
        reset(sock)
    return received


async def slow_stream() -> AsyncIterator[bytes]:
    for i in range(200):
        yield f"event {i}\n".encode()
        await trio.sleep(0.01)


async def hello(request: Request) -> Response:
    return Response(text="hello")


async def big(request: Request) -> Response:
    return Response(body=b"x" * (8 * 1024 * 1024))


async def stream(request: Request) -> Response:
    return Response(body=slow_stream(), content_type="text/plain")


async def upload(request: Request) -> Response:
    return Response(text=str(len(await request.read())))


def make_app() -> Application:
    app = Application(client_max_size=64 * 1024)
    app.router.add_get("/", hello)
    app.router.add_get("/big", big)
    app.router.add_get("/stream", stream)
    app.router.add_post("/upload", upload)
    return app


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name} {r.levelname}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]


async def assert_answers(client: TestClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/")
    assert response.text == "hello"


class _StepsOf(trio.abc.Instrument):
    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1


async def test_the_accept_loop_takes_a_queued_burst_in_one_wake() -> None:
    # trio's accept() alone takes one connection per scheduler round; under load
    # that made the last of a burst of clients wait for every other connection's
    # turn many times over before its first answer.
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listener.socket.getsockname()[1]
    clients = [await connect(port) for _ in range(20)]  # handshakes done by the kernel
    accepted: list[Peer] = []

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        accepted.append(peer)
        await stream.aclose()

    async def accept(task_status: trio.TaskStatus[trio.lowlevel.Task]) -> None:
        task_status.started(trio.lowlevel.current_task())
        await accept_connections(listener, handler, nursery)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            steps = _StepsOf(await nursery.start(accept))
            trio.lowlevel.add_instrument(steps)
            try:
                await trio.testing.wait_all_tasks_blocked()
            finally:
                trio.lowlevel.remove_instrument(steps)
            assert len(accepted) == 20
            assert steps.steps <= 3  # one per connection without the burst
            nursery.cancel_scope.cancel()
    for client in clients:
        client.close()
    assert listener.socket.fileno() == -1


async def test_thousands_of_resets_in_a_row(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(make_app())
        await connect_and_reset(client.server.port, RESETS)
        await assert_answers(client)
    assert errors(caplog) == []


async def test_resets_beside_keep_alive_traffic(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answered: list[int] = []
    with trio.fail_after(TIMEOUT):
        # A deep backlog: the test is about the server, not the kernel's SYN retry timer.
        client = await actorhttp_client(make_app(), backlog=4096)
        port = client.server.port

        async def keep_alive() -> None:
            # One connection, reused for every request: it must never see a fault.
            async with httpx.AsyncClient(base_url=client.server.url, timeout=10) as http:
                for _ in range(200):
                    answered.append((await http.get("/")).status_code)

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(connect_and_reset, port, RESETS // 4)
            nursery.start_soon(keep_alive)
        await assert_answers(client)
    assert answered == [200] * 200
    assert errors(caplog) == []


CUTS = {
    "mid-head": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Half: ", 0),
    "mid-body": (
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10,
        0,
    ),
    "before-100-continue": (
        b"POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n",
        0,
    ),
    "mid-response": (b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 64 * 1024),
    "mid-stream": (b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", 200),
}


@pytest.mark.parametrize("cut", list(CUTS))
async def test_clients_cut_part_way(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture, cut: str
) -> None:
    caplog.set_level(logging.DEBUG)
    data, read = CUTS[cut]
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(make_app())
        for _ in range(20):
            received = await send_then_reset(client.server.port, data, read=read)
            if read:
                assert status_of(received) == 200
        await trio.sleep(0.3)  # let the server notice the last cuts before looking at the log
        await assert_answers(client)
    assert errors(caplog) == []


async def test_refused_upload_then_close_logs_no_error(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture, transport: TransportName
) -> None:
    """A 413 whose client closes right after reading it (hypercorn raced send_eof here)."""
    caplog.set_level(logging.DEBUG)
    head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(make_app())
        for _ in range(40):
            answer = await exchange(client.server.port, head + b"a" * 65536, patience=5)
            assert status_of(answer) == 413
        await trio.sleep(0.3)
        await assert_answers(client)
    assert errors(caplog) == []


async def test_serial_send_stream_puts_send_eof_behind_a_pending_send() -> None:
    """hypercorn's _close() calls send_eof while a send may still run: that must wait, not fail."""
    left, right = trio.socket.socketpair()
    raw, peer = trio.SocketStream(left), trio.SocketStream(right)
    data = b"x" * (4 * 1024 * 1024)  # more than the socket buffers hold: send_all blocks
    with trio.fail_after(TIMEOUT):
        # Unwrapped, trio refuses the overlap: the error hypercorn logged.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(raw.send_all, data)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await raw.send_eof()
            nursery.cancel_scope.cancel()
    await raw.aclose()
    await peer.aclose()
    left, right = trio.socket.socketpair()
    stream, peer = SerialSendStream(trio.SocketStream(left)), trio.SocketStream(right)
    received = bytearray()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.send_all, data)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(stream.send_eof)  # waits for the send instead of failing it
            await trio.testing.wait_all_tasks_blocked()
            while chunk := await peer.receive_some():
                received += chunk
    assert received == data  # every byte, then the EOF
    await stream.aclose()
    await peer.aclose()


@pytest.mark.parametrize("cancel", [True, False], ids=["handler_cancellation", "default"])
async def test_handler_cancellation_when_the_client_goes(
    transport: TransportName, cancel: bool
) -> None:
    started, finished = trio.Event(), trio.Event()
    outcome: list[str] = []

    async def slow(request: Request) -> Response:
        started.set()
        try:
            await trio.sleep(0.3)
        except trio.Cancelled:
            outcome.append("cancelled")
            raise
        finally:
            finished.set()
        outcome.append("ran to its end")
        return Response(text="late")

    app = Application()
    app.router.add_get("/slow", slow)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport=transport, handler_cancellation=cancel) as client:
            sock = await connect(client.server.port)
            await sock.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            await started.wait()
            sock.close()  # the client goes away before the answer
            await finished.wait()
            after = await client.get("/slow")
    assert outcome[0] == ("cancelled" if cancel else "ran to its end")
    assert after.text == "late"
