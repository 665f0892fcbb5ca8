"""WebSockets when things go wrong, on both transports: protocol errors, heartbeats, vanishing
clients, and backpressure with the channels staying bounded.

hypercorn's own wsproto handles protocol errors before we see them (see
``actorhttp._transports._asgiws``): those cases pin what it does instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from wsproto.events import CloseConnection, Ping

from actorhttp import (
    Application,
    Request,
    StreamResponse,
    WebSocketError,
    WebSocketResponse,
    WSCloseCode,
    WSMessage,
    WSMsgType,
)
from actorhttp._web._wslink import INBOUND_SIZE, OUTBOUND_SIZE
from actorhttp.messages import TransportName
from actorhttp.testing import TestClient, serve_app

from .wsclient import Closed, WSClient, frame

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


class Recorder:
    """A WebSocket handler that records what it receives until the socket ends."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.messages: list[WSMessage] = []
        self.ws: WebSocketResponse | None = None
        self.prepared = trio.Event()
        self.done = trio.Event()

    async def __call__(self, request: Request) -> StreamResponse:
        ws = self.ws = WebSocketResponse(**self.options)
        try:
            await ws.prepare(request)
            self.prepared.set()
            while True:
                message = await ws.receive()
                self.messages.append(message)
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return ws
        finally:
            self.done.set()

    async def serve(self, actorhttp_client: Client) -> int:
        app = Application()
        app.router.add_get("/ws", self)
        port: int = (await actorhttp_client(app)).server.port
        return port


async def test_a_message_over_max_msg_size_closes_with_1009(actorhttp_client: Client) -> None:
    recorder = Recorder(max_msg_size=1000)
    with trio.fail_after(TIMEOUT):
        port = await recorder.serve(actorhttp_client)
        async with await WSClient.connect(port) as client:
            await client.send_text("small")
            await client.send_bytes(b"x" * 2000)
            close = await client.receive_close()
            await client.wait_eof()
            await recorder.done.wait()
    assert close.code == WSCloseCode.MESSAGE_TOO_BIG
    assert recorder.messages[0] == WSMessage(WSMsgType.TEXT, "small", None)
    error = recorder.messages[1]
    assert error.type is WSMsgType.ERROR
    assert isinstance(error.data, WebSocketError)
    assert (error.data.code, str(error.data)) == (1009, "Message size 2000 exceeds limit 1000")
    assert recorder.ws is not None
    assert recorder.ws.close_code == 1009
    assert recorder.ws.closed


async def test_a_fragmented_message_is_counted_whole(actorhttp_client: Client) -> None:
    recorder = Recorder(max_msg_size=1000)
    with trio.fail_after(TIMEOUT):
        port = await recorder.serve(actorhttp_client)
        async with await WSClient.connect(port) as client:
            await client.send_raw(frame(0x1, b"a" * 600, fin=False) + frame(0x0, b"b" * 300))
            await client.send_raw(frame(0x2, b"a" * 600, fin=False) + frame(0x0, b"b" * 600))
            close = await client.receive_close()
            await recorder.done.wait()
    assert close.code == WSCloseCode.MESSAGE_TOO_BIG
    assert recorder.messages[0] == WSMessage(WSMsgType.TEXT, "a" * 600 + "b" * 300, None)
    assert recorder.messages[1].type is WSMsgType.ERROR


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (frame(0x1, b"ok \xff\xfe not utf-8"), WSCloseCode.INVALID_TEXT),
        (frame(0x1, b"unmasked", masked=False), WSCloseCode.PROTOCOL_ERROR),
        (frame(0x3, b"reserved opcode"), WSCloseCode.PROTOCOL_ERROR),
        (frame(0x9, b"fragmented ping", fin=False), WSCloseCode.PROTOCOL_ERROR),
    ],
)
async def test_protocol_errors(
    actorhttp_client: Client,
    transport: TransportName,
    caplog: pytest.LogCaptureFixture,
    raw: bytes,
    code: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    with trio.fail_after(TIMEOUT):
        port = await recorder.serve(actorhttp_client)
        async with await WSClient.connect(port) as client:
            await client.send_raw(raw)
            await client.wait_eof()
            await recorder.done.wait()
    assert recorder.ws is not None
    if transport == "httptools":
        assert client.close_received is not None
        assert client.close_received.code == code
        [error] = recorder.messages
        assert error.type is WSMsgType.ERROR
        assert error.data.code == code
        assert recorder.ws.close_code == code
    else:  # hypercorn's wsproto drops the connection with no close frame
        assert client.close_received is None
        assert recorder.messages == [WSMessage(WSMsgType.CLOSED, None, None)]
        assert recorder.ws.close_code == WSCloseCode.ABNORMAL_CLOSURE
    assert errors(caplog) == []


async def test_heartbeat_drops_a_client_that_answers_no_ping(
    actorhttp_client: Client, transport: TransportName, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(heartbeat=0.2)
    events = []
    with trio.fail_after(TIMEOUT):
        port = await recorder.serve(actorhttp_client)
        async with await WSClient.connect(port) as client:
            if transport == "httptools":
                closed: Closed | None = None
                while closed is None:  # a client that never answers a ping
                    try:
                        events.append(await client.next_event())
                    except Closed as exc:
                        closed = exc
                await recorder.done.wait()
            else:
                with trio.move_on_after(0.6):  # three heartbeats: nothing happens
                    events.append(await client.next_event())
                await client.send_text("still here")
                await client.close()
                await client.receive_close(reply=False)
                await recorder.done.wait()
    assert recorder.ws is not None
    if transport == "httptools":
        assert events == [Ping(b"")]
        assert closed is not None
        assert closed.close is None  # dropped: no close frame, as aiohttp
        [error] = recorder.messages
        assert error.type is WSMsgType.ERROR
        assert isinstance(error.data, TimeoutError)
        assert recorder.ws.close_code == WSCloseCode.ABNORMAL_CLOSURE
        assert recorder.ws.exception() is error.data
    else:  # ASGI has no ping: the heartbeat is a warning
        assert events == []
        assert recorder.messages[0] == WSMessage(WSMsgType.TEXT, "still here", None)
        assert any("heartbeat=0.2 does nothing" in r.getMessage() for r in caplog.records)


async def test_heartbeat_keeps_a_client_that_answers() -> None:
    recorder = Recorder(heartbeat=0.2)
    app = Application()
    app.router.add_get("/ws", recorder)
    with trio.fail_after(TIMEOUT):  # httptools only: hypercorn cannot ping (see above)
        async with serve_app(app, transport="httptools") as http:
            client = await WSClient.connect(http.server.port)
            pings = 0
            while pings < 3:  # 0.6 s at least: three heartbeats, each answered
                event = await client.next_event()
                assert isinstance(event, Ping), event
                await client.send(event.response())
                pings += 1
            await client.send_text("alive")
            await client.close()
            await client.receive_close(reply=False)
            await recorder.done.wait()
            await client.stream.aclose()
    assert recorder.messages[0] == WSMessage(WSMsgType.TEXT, "alive", None)


async def test_a_vanished_client_ends_receive(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    with trio.fail_after(TIMEOUT):
        port = await recorder.serve(actorhttp_client)
        client = await WSClient.connect(port)
        await recorder.prepared.wait()
        client.reset()
        await recorder.done.wait()
    assert recorder.messages == [WSMessage(WSMsgType.CLOSED, None, None)]
    assert recorder.ws is not None
    assert recorder.ws.close_code == WSCloseCode.ABNORMAL_CLOSURE
    assert errors(caplog) == []


async def test_writing_to_a_vanished_client_raises_connection_reset(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raised: list[BaseException] = []
    done = trio.Event()

    async def firehose(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        try:
            while True:
                await ws.send_bytes(b"x" * 1024)
        except ConnectionResetError as exc:
            raised.append(exc)
            raise  # as a handler would: the router logs it at DEBUG, as the client's doing
        finally:
            done.set()

    app = Application()
    app.router.add_get("/ws", firehose)
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(app)).server.port
        client = await WSClient.connect(port)
        await client.receive()
        client.reset()
        await done.wait()
        await trio.sleep(0.1)  # let the router finish with the request before looking
    assert len(raised) == 1
    assert errors(caplog) == []


async def test_a_slow_reader_slows_the_writer(actorhttp_client: Client) -> None:
    """The handler sends faster than the client reads: it waits, the channel stays bounded."""
    total, size = 400, 64 * 1024  # 25 MiB: more than loopback's socket buffers hold
    sent: list[int] = []
    link_stats: list[int] = []
    done = trio.Event()

    async def producer(request: Request) -> StreamResponse:
        ws = WebSocketResponse(compress=False)
        await ws.prepare(request)
        assert ws._link is not None
        for i in range(total):
            await ws.send_bytes(i.to_bytes(4, "big") * (size // 4))
            sent.append(i)
            link_stats.append(ws._link.outbound.queued)
        await ws.send_str("end")
        done.set()
        return ws

    app = Application()
    app.router.add_get("/ws", producer)
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(app)).server.port
        async with await WSClient.connect(port) as client:
            await trio.testing.wait_all_tasks_blocked(0.05)
            stalled_at = len(sent)
            received = 0
            while (message := await client.receive()) != "end":
                assert message == received.to_bytes(4, "big") * (size // 4)
                received += 1
            await client.receive_close()
            await done.wait()
    assert stalled_at < total  # it waited for the client
    assert received == total
    assert max(link_stats) <= OUTBOUND_SIZE


async def test_a_slow_handler_slows_the_client(
    actorhttp_client: Client, transport: TransportName
) -> None:
    """The client sends faster than the handler receives: its sends wait, nothing piles up."""
    total, size = 400, 64 * 1024
    go = trio.Event()
    got: list[bytes] = []
    buffered: list[int] = []

    async def consumer(request: Request) -> StreamResponse:
        ws = WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        await go.wait()
        assert ws._link is not None
        async for message in ws:
            buffered.append(ws._link.inbound.queued)
            got.append(message.data[:4])
            if len(got) == total:
                await ws.send_str("all in")
        return ws

    app = Application()
    app.router.add_get("/ws", consumer)
    sent = 0
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(app)).server.port
        async with await WSClient.connect(port) as client:

            async def send_all() -> None:
                nonlocal sent
                for i in range(total):
                    await client.send_bytes(i.to_bytes(4, "big") * (size // 4))
                    sent += 1

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_all)
                await trio.testing.wait_all_tasks_blocked(0.05)
                stalled_at = sent
                go.set()
            assert await client.receive() == "all in"
            await client.close()
            await client.receive_close(reply=False)
    assert stalled_at < total  # the client had to wait for the handler
    assert got == [i.to_bytes(4, "big") for i in range(total)]
    assert max(buffered) <= INBOUND_SIZE


async def test_an_unread_close_frame_is_still_answered_when_the_handler_returns(
    actorhttp_client: Client,
) -> None:
    async def deaf(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("not listening")
        await trio.sleep(0.05)
        return ws  # the router's write_eof closes: our close frame and the client's cross

    app = Application()
    app.router.add_get("/ws", deaf)
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(app)).server.port
        async with await WSClient.connect(port) as client:
            assert await client.receive() == "not listening"
            await client.close(1001, "going")
            event = await client.next_event()
            await client.wait_eof()
    assert isinstance(event, CloseConnection)
