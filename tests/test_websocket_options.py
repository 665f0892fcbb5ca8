"""WebSocketResponse's aiohttp options ``decode_text`` and ``timeout=0``, on both transports."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from actorhttp import Application, Request, StreamResponse, WebSocketResponse, WSMsgType
from actorhttp.testing import TestClient

from .test_fuzz_ws import BINARY, CLOSE, close_payload, make_frame, run_fuzzed
from .wsclient import WSClient

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10


async def serve(actorhttp_client: Client, handler: Callable[[Request], Awaitable[Any]]) -> int:
    app = Application()
    app.router.add_get("/ws", handler)
    client = await actorhttp_client(app)
    port: int = client.server.port
    return port


async def test_decode_text_false_gives_text_as_utf8_bytes(actorhttp_client: Client) -> None:
    seen: list[Any] = []
    done = trio.Event()

    def bytes_loads(data: bytes) -> Any:  # orjson's kind: takes bytes
        assert isinstance(data, bytes)
        return json.loads(data)

    async def handler(request: Request) -> StreamResponse:
        ws = WebSocketResponse(decode_text=False)
        await ws.prepare(request)
        message = await ws.receive()
        seen.append((message.type, message.data))
        seen.append(await ws.receive_str())
        seen.append(await ws.receive_json(loads=bytes_loads))
        async for message in ws:  # iteration too; BINARY is unchanged
            seen.append((message.type, message.data))
        done.set()
        return ws

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.send_text("héllo")
            await client.send_text("second")
            await client.send_text('{"a": 1}')
            await client.send_text("iterated")
            await client.send_bytes(b"\x00\x01")
            await client.close()
            await done.wait()
    assert seen == [
        (WSMsgType.TEXT, "héllo".encode()),
        b"second",
        {"a": 1},
        (WSMsgType.TEXT, b"iterated"),
        (WSMsgType.BINARY, b"\x00\x01"),
    ]


async def test_decode_text_is_on_by_default(actorhttp_client: Client) -> None:
    seen: list[Any] = []

    async def handler(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        seen.append(await ws.receive_str())
        return ws

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await client.send_text("text")
            await client.receive_close()
    assert seen == ["text"]


async def test_timeout_zero_closes_without_waiting_for_the_client(
    actorhttp_client: Client,
) -> None:
    record: dict[str, Any] = {}
    done = trio.Event()

    async def handler(request: Request) -> StreamResponse:
        ws = WebSocketResponse(timeout=0)
        await ws.prepare(request)
        begun = trio.current_time()
        record["closed"] = await ws.close()
        record["waited"] = trio.current_time() - begun
        record["code"] = ws.close_code
        done.set()
        return ws

    with trio.fail_after(TIMEOUT):
        port = await serve(actorhttp_client, handler)
        async with await WSClient.connect(port) as client:
            await done.wait()  # the client never answers the close frame
            await client.receive_close(reply=False)
    assert record["closed"] is True
    assert record["waited"] < 1
    assert record["code"] == 1006  # abnormal: no close frame came, as aiohttp says


@pytest.mark.parametrize("timeout", [-1, "10", None])
def test_a_bad_timeout_is_refused(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be zero or more seconds"):
        WebSocketResponse(timeout=timeout)


def test_frames_after_the_clients_close_frame_are_dropped_quietly() -> None:
    # Found by test_fuzz_ws: a close frame with a large frame behind it, read in several
    # pieces; once both close frames were out, the next piece made the connection fail
    # with wsproto's "Connection already closed", logged as a server error.
    data = make_frame(CLOSE, close_payload(1000), mask=b"abcd")
    data += make_frame(BINARY, b"z" * 300_000, mask=b"abcd")
    run_fuzzed("httptools", data)  # no error logged, and a new WebSocket is served after
