"""WebSocketResponse over real sockets on both transports: messages, the API, closing.

Where the hypercorn transport cannot do what aiohttp does (ASGI has no
ping/pong and hides the client's close frame), the test pins what it does
instead, as ``actorhttp._transports._asgiws`` documents.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from wsproto.events import CloseConnection, Ping, Pong, TextMessage

from actorhttp import (
    Application,
    HTTPForbidden,
    Request,
    Response,
    StreamResponse,
    WebSocketResponse,
    WSCloseCode,
    WSMessage,
    WSMessageTypeError,
    WSMsgType,
)
from actorhttp.messages import TransportName
from actorhttp.testing import TestClient, serve_app

from .wsclient import Rejected, WSClient, frame

Client = Callable[..., Awaitable[TestClient]]
WSHandler = Callable[[Request], Awaitable[StreamResponse]]
TIMEOUT = 10


def app_with(handler: WSHandler, path: str = "/ws") -> Application:
    app = Application()
    app.router.add_get(path, handler)
    return app


async def serve(actorhttp_client: Client, handler: WSHandler) -> int:
    client = await actorhttp_client(app_with(handler))
    port: int = client.server.port
    return port


Body = Callable[[WebSocketResponse, dict[str, Any]], Awaitable[None]]


def handled(
    record: dict[str, Any], done: trio.Event, make: Callable[[], WebSocketResponse]
) -> Callable[[Body], WSHandler]:
    """Decorate a WebSocket body ``f(ws, record)`` into a handler that sets ``done`` when over."""

    def wrap(body: Body) -> WSHandler:
        async def handler(request: Request) -> StreamResponse:
            ws = make()
            try:
                await ws.prepare(request)
                await body(ws, record)
            finally:
                done.set()
            return ws

        return handler

    return wrap


async def test_echo_text_binary_and_json(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        record["text"] = await ws.receive_str()
        await ws.send_str(f"text: {record['text']}")
        await ws.send_bytes((await ws.receive_bytes())[::-1])
        await ws.send_json({"got": await ws.receive_json()})
        record["json_message"] = (await ws.receive()).json()

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.send_text("héllo")
            assert await client.receive() == "text: héllo"
            await client.send_bytes(b"\x00\x01\x02" * 1000)
            assert await client.receive() == b"\x02\x01\x00" * 1000
            await client.send_text('{"a": [1, 2]}')
            assert json.loads(await client.receive()) == {"got": {"a": [1, 2]}}
            await client.send_text("[3]")
            await done.wait()
            await client.receive_close()  # the handler returned: the router closed with 1000
    assert record == {"text": "héllo", "json_message": [3]}


async def test_async_iteration_yields_messages_until_the_close(
    actorhttp_client: Client, transport: TransportName
) -> None:
    record: dict[str, Any] = {"seen": []}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        async for message in ws:
            record["seen"].append((message.type, message.data))
        record["closed"], record["close_code"] = ws.closed, ws.close_code
        record["after"] = await ws.receive()

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.send_text("one")
            await client.send_bytes(b"two")
            await client.close(4001, "bye")
            reply = await client.receive_close(reply=False)
            await done.wait()
    assert record["seen"] == [(WSMsgType.TEXT, "one"), (WSMsgType.BINARY, b"two")]
    assert record["closed"] is True
    assert record["after"] == WSMessage(WSMsgType.CLOSED, None, None)
    if transport == "httptools":
        assert record["close_code"] == 4001
        assert reply.code == 1000  # aiohttp answers with close()'s default code
    else:  # hypercorn answers the close frame itself and reports 1006 to the app
        assert record["close_code"] == WSCloseCode.ABNORMAL_CLOSURE
        assert reply.code == 4001


async def test_client_close_code_and_reason_reach_the_handler(
    actorhttp_client: Client, transport: TransportName
) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        record["message"] = await ws.receive()
        record["close_code"] = ws.close_code

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.close(4001, "bye")
            await client.receive_close(reply=False)
            await client.wait_eof()  # the server closes the TCP connection
            await done.wait()
    if transport == "httptools":
        assert record["message"] == WSMessage(WSMsgType.CLOSE, 4001, "bye")
        assert record["close_code"] == 4001
    else:
        assert record["message"] == WSMessage(WSMsgType.CLOSED, None, None)
        assert record["close_code"] == WSCloseCode.ABNORMAL_CLOSURE


async def test_server_close_code_and_message_reach_the_client(
    actorhttp_client: Client, transport: TransportName
) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        await ws.send_str("closing soon")
        record["first"] = await ws.close(code=4002, message=b"done")
        record["second"] = await ws.close()
        record["close_code"], record["exception"] = ws.close_code, ws.exception()
        with pytest.raises(ConnectionResetError, match="closing transport"):
            await ws.send_str("too late")

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            assert await client.receive() == "closing soon"
            close = await client.receive_close(reply=True)  # echoes 4002
            await client.wait_eof()
            await done.wait()
    assert (close.code, close.reason) == (4002, "done")
    assert record["first"] is True
    assert record["second"] is False
    assert record["exception"] is None
    # httptools reports the client's close code; hypercorn reports 1000 for any.
    assert record["close_code"] == (4002 if transport == "httptools" else 1000)


async def test_close_waits_for_the_client_up_to_timeout(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, lambda: WebSocketResponse(timeout=0.1))
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        record["closed"] = await ws.close()
        record["close_code"], record["exception"] = ws.close_code, ws.exception()

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            close = await client.receive_close(reply=False)  # a client that never answers
            await client.wait_eof()
            await done.wait()
    assert close.code == 1000
    assert record["closed"] is True
    assert record["close_code"] == WSCloseCode.ABNORMAL_CLOSURE
    assert isinstance(record["exception"], TimeoutError)


async def test_close_from_another_task_wakes_receive_with_closing(
    actorhttp_client: Client,
) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        async with trio.open_nursery() as nursery:

            async def receive() -> None:
                record["received"] = await ws.receive()

            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(RuntimeError, match="Concurrent call to receive"):
                await ws.receive()
            record["closed"] = await ws.close(code=4003)

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            close = await client.receive_close(reply=True)
            await client.wait_eof()
            await done.wait()
    assert close.code == 4003
    assert record == {"received": WSMessage(WSMsgType.CLOSING, None, None), "closed": True}


async def test_receive_timeouts(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()
    timed_out = trio.Event()

    @handled(record, done, lambda: WebSocketResponse(receive_timeout=0.05))
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        with pytest.raises(TimeoutError):
            await ws.receive()  # receive_timeout
        with pytest.raises(TimeoutError):
            await ws.receive_str(timeout=0.02)
        timed_out.set()
        record["after"] = await ws.receive_str(timeout=5)

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await timed_out.wait()
            await client.send_text("late")
            await done.wait()
            await client.receive_close()
    assert record["after"] == "late"


async def test_receive_str_and_bytes_refuse_the_other_type(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        with pytest.raises(WSMessageTypeError, match=r"is not WSMsgType\.TEXT"):
            await ws.receive_str()
        with pytest.raises(TypeError, match=r"is not WSMsgType\.BINARY"):
            await ws.receive_bytes()
        with pytest.raises(json.JSONDecodeError):
            await ws.receive_json()
        record["ok"] = True

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.send_bytes(b"binary")
            await client.send_text("text")
            await client.send_text("not json")
            await done.wait()
            await client.receive_close()
    assert record == {"ok": True}


async def test_the_api_refuses_misuse() -> None:
    ws = WebSocketResponse()
    for call in (ws.send_str("x"), ws.receive(), ws.ping(), ws.close(), ws.write_eof()):
        with pytest.raises(RuntimeError, match=r"prepare|not been started"):
            await call
    with pytest.raises(RuntimeError, match=r"Cannot call \.write"):
        await ws.write(b"x")
    with pytest.raises(ValueError, match="timeout"):
        WebSocketResponse(timeout=-1)  # 0 is aiohttp's "do not wait"
    with pytest.raises(ValueError, match="heartbeat"):
        WebSocketResponse(heartbeat=-1)
    with pytest.raises(ValueError, match="max_msg_size"):
        WebSocketResponse(max_msg_size=-5)
    assert ws.status == 101
    assert ws.compress is True
    assert ws.closed is False
    assert ws.close_code is None
    assert ws.exception() is None
    assert not ws.prepared


async def test_sends_check_their_types(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        with pytest.raises(TypeError, match="must be str"):
            await ws.send_str(b"bytes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="byte-ish"):
            await ws.send_bytes("text")  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="Already started"):
            ws.can_prepare(record["request"])
        await ws.prepare(record["request"])  # a second prepare does nothing
        await ws.send_json_bytes({"n": 1}, dumps=lambda data: json.dumps(data).encode())
        record["prepared"] = ws.prepared

    async def outer(request: Request) -> StreamResponse:
        record["request"] = request
        return await handler(request)

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, outer)
        async with await WSClient.connect(port) as client:
            assert await client.receive() == b'{"n": 1}'
            await client.receive_close()
            await done.wait()
    assert record["prepared"] is True


async def test_ping_and_pong_without_autoping(
    actorhttp_client: Client, transport: TransportName
) -> None:
    record: dict[str, Any] = {"seen": []}
    done = trio.Event()

    @handled(record, done, lambda: WebSocketResponse(autoping=False))
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        if transport == "hypercorn":
            with pytest.raises(NotImplementedError, match="ASGI"):
                await ws.ping(b"server")
            with pytest.raises(NotImplementedError, match="ASGI"):
                await ws.pong(b"unasked")
        else:
            await ws.ping(b"server")
            await ws.pong(b"unasked")
            with pytest.raises(ValueError, match="125 bytes"):
                await ws.ping(b"x" * 126)
        async for message in ws:
            record["seen"].append((message.type, message.data))
            if message.type is WSMsgType.TEXT:
                break

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.ping(b"client")
            await client.send(Pong(b"pong!"))
            await client.send_text("end")
            events = []
            while not isinstance(event := await client.next_event(), CloseConnection):
                events.append(event)
            await client.send(event.response())
            await done.wait()
    if transport == "httptools":
        assert Ping(b"server") in events
        assert Pong(b"unasked") in events
        assert Pong(b"client") not in events  # no autoping: the handler got it instead
        assert record["seen"] == [
            (WSMsgType.PING, b"client"),
            (WSMsgType.PONG, b"pong!"),
            (WSMsgType.TEXT, "end"),
        ]
    else:  # hypercorn answers pings itself; the handler never sees them
        assert events == [Pong(b"client")]
        assert record["seen"] == [(WSMsgType.TEXT, "end")]


async def test_autoping_answers_pings_out_of_the_handlers_sight(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        record["message"] = await ws.receive()

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.ping(b"are you there")
            assert await client.next_event() == Pong(b"are you there")
            await client.send_text("yes")
            await client.receive_close()
            await done.wait()
    assert record["message"] == WSMessage(WSMsgType.TEXT, "yes", None)


async def test_write_eof_closes_and_an_unprepared_response_is_prepared(
    actorhttp_client: Client,
) -> None:
    async def write_eof(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("last")
        await ws.write_eof()
        await ws.write_eof()
        return ws

    async def unprepared(request: Request) -> StreamResponse:
        return WebSocketResponse()  # the router prepares it, then ends it: a 101, then close

    app = app_with(write_eof)
    app.router.add_get("/unprepared", unprepared)
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(app)).server.port
        async with await WSClient.connect(port) as client:
            assert await client.receive() == "last"
            assert (await client.receive_close()).code == 1000
        async with await WSClient.connect(port, "/unprepared") as client:
            assert (await client.receive_close()).code == 1000


async def test_a_handler_failing_after_prepare_closes_with_1011(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("about to fail")
        raise ValueError("boom")

    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            assert await client.receive() == "about to fail"
            close = await client.receive_close()
            await client.wait_eof()
    assert close.code == WSCloseCode.INTERNAL_ERROR
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


async def test_a_handler_may_refuse_the_upgrade_with_http(actorhttp_client: Client) -> None:
    async def forbidden(request: Request) -> StreamResponse:
        raise HTTPForbidden(text="members only")

    async def plain(request: Request) -> StreamResponse:
        return Response(text="not a websocket", headers={"X-Why": "because"})

    app = app_with(forbidden)
    app.router.add_get("/plain", plain)
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(app)).server.port
        with pytest.raises(Rejected) as refused:
            await WSClient.connect(port)
        with pytest.raises(Rejected) as answered:
            await WSClient.connect(port, "/plain")
    assert (refused.value.status, refused.value.body) == (403, b"members only")
    assert (answered.value.status, answered.value.body) == (200, b"not a websocket")
    assert (b"x-why", b"because") in [(k.lower(), v) for k, v in answered.value.headers]


async def test_many_clients_at_once(actorhttp_client: Client) -> None:
    async def echo(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(message.data.upper())
        return ws

    async def talk(port: int, n: int) -> None:
        async with await WSClient.connect(port) as client:
            for i in range(20):
                await client.send_text(f"client {n} message {i}")
                assert await client.receive() == f"CLIENT {n} MESSAGE {i}"
            await client.close()
            await client.receive_close(reply=False)

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, echo)
        async with trio.open_nursery() as nursery:
            for n in range(10):
                nursery.start_soon(talk, port, n)


async def test_text_is_sent_as_text_frames(actorhttp_client: Client) -> None:
    async def greet(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("é" * 3)
        return ws

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, greet)
        async with await WSClient.connect(port) as client:
            event = await client.next_event()
            await client.receive_close()
    assert event == TextMessage("ééé", frame_finished=True, message_finished=True)


async def test_a_stop_closes_open_websockets_with_1001_and_finishes_promptly(
    transport: TransportName,
) -> None:
    ended: list[object] = []

    async def hold(request: Request) -> WebSocketResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:  # a handler that only ends when the socket does
            pass
        ended.append(ws.close_code)
        return ws

    app = Application()
    app.router.add_get("/ws", hold)
    with trio.fail_after(20):
        async with serve_app(app, transport=transport) as http:
            client = await WSClient.connect(http.server.port, "/ws")
            async with client, trio.open_nursery() as nursery:
                nursery.start_soon(http.server.stop, 30)  # a long grace, not waited out
                close = await client.receive_close()  # answers it
                started = trio.current_time()
            await http.server.wait_stopped()
            took = trio.current_time() - started
    assert close.code == 1001
    assert ended  # the handler's loop ended with the socket
    assert took < 5


async def test_get_extra_info_gives_the_peer_while_open(actorhttp_client: Client) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    def make() -> WebSocketResponse:
        ws = WebSocketResponse()
        record["before"] = ws.get_extra_info("peername", "none yet")
        return ws

    @handled(record, done, make)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        record["open"] = ws.get_extra_info("peername")
        record["other"] = ws.get_extra_info("sslcontext", "no such")
        await ws.close()
        record["after"] = ws.get_extra_info("peername", "closed")

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.receive_close()
            await done.wait()
    assert record["before"] == "none yet"
    assert record["open"][0] == "127.0.0.1"
    assert isinstance(record["open"][1], int)
    assert record["other"] == "no such"
    assert record["after"] == "closed"


async def test_a_handlers_answers_to_one_read_leave_in_one_write(
    session_writes: list[bytes],
) -> None:
    """What a handler sends to its own socket waits until it next waits: an echo of five
    messages that came in one read is one write, not five (httptools transport)."""
    record: dict[str, Any] = {}
    done = trio.Event()

    @handled(record, done, WebSocketResponse)
    async def handler(ws: WebSocketResponse, record: dict[str, Any]) -> None:
        async for message in ws:
            await ws.send_str(message.data)

    with trio.fail_after(TIMEOUT):  # httptools only: hypercorn writes what ASGI sends
        async with serve_app(app_with(handler), transport="httptools") as http:
            client = await WSClient.connect(http.server.port)
            await client.send_raw(b"".join(frame(0x1, f"m{i}".encode()) for i in range(5)))
            echoed = [await client.receive() for _ in range(5)]
            await client.close()
            await client.receive_close(reply=False)
            await done.wait()
            await client.stream.aclose()
    assert echoed == [f"m{i}" for i in range(5)]
    assert len(session_writes[0]) == 5 * 4  # five 4-byte frames in one write
