"""The WebSocket handshake on both transports: validation as aiohttp's, subprotocols, compression.

hypercorn refuses some malformed handshakes itself, with an empty 400,
before the application sees them (see ``actorhttp._transports._asgiws``):
those cases pin that instead of aiohttp's texts.
"""

from __future__ import annotations

import base64
import logging
import zlib
from collections.abc import Awaitable, Callable

import pytest
import trio
from wsproto.extensions import PerMessageDeflate

from actorhttp import Application, Request, StreamResponse, WebSocketResponse, json_response
from actorhttp.messages import TransportName
from actorhttp.testing import TestClient

from .rawhttp import status_of
from .wsclient import WSClient

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10
KEY = base64.b64encode(b"0123456789abcdef").decode()
TEXT = "compress me " * 500


async def talker(request: Request) -> StreamResponse:
    """Sends one long, compressible text, then says what it negotiated."""
    ws = WebSocketResponse(protocols=("y", "chat"), compress=request.query.get("compress") != "no")
    await ws.prepare(request)
    await ws.send_str(TEXT)
    await ws.send_json({"protocol": ws.ws_protocol, "compress": ws.compress})
    return ws


def make_app() -> Application:
    async def can(request: Request) -> StreamResponse:
        ready = WebSocketResponse(protocols=("chat",)).can_prepare(request)
        return json_response({"ok": ready.ok, "bool": bool(ready), "protocol": ready.protocol})

    async def posted(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        return ws

    async def decorated(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        ws.headers["X-Room"] = "lobby"
        ws.set_cookie("seat", "12")
        await ws.prepare(request)
        return ws

    app = Application()
    app.router.add_get("/ws", talker)
    app.router.add_get("/can", can)
    app.router.add_post("/ws", posted)
    app.router.add_get("/decorated", decorated)
    return app


def handshake(path: str = "/ws", *, method: str = "GET", **fields: str) -> bytes:
    headers = {
        "Host": "x",
        "Upgrade": "websocket",
        "Connection": "Upgrade, close",  # so that a refused handshake ends the connection
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": KEY,
        **{name.replace("_", "-"): value for name, value in fields.items()},
    }
    lines = [f"{method} {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items() if value != "-"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


async def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` and read one response with its Content-Length body.

    Not until the server closes: after its own handshake 400, hypercorn keeps
    the connection open (despite its ``connection: close``).
    """
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some()
        head = data.partition(b"\r\n\r\n")[0].lower()
        length = 0
        for line in head.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.partition(b":")[2])
        while len(body_of(data)) < length:
            data += await stream.receive_some()
    return data


async def test_a_plain_get_gets_aiohttps_400(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(make_app())
        response = await client.get("/ws")
    assert response.status_code == 400
    assert response.text == 'No WebSocket UPGRADE hdr: None\n Can "Upgrade" only to "WebSocket".'


@pytest.mark.parametrize(
    ("case", "fields", "text"),
    [
        ("upgrade", {"Upgrade": "foo"}, b'No WebSocket UPGRADE hdr: foo\n Can "Upgrade"'),
        ("connection", {"Connection": "close"}, b"No CONNECTION upgrade hdr: close"),
        ("key", {"Sec-WebSocket-Key": "c2hvcnQ="}, b"Handshake error: 'c2hvcnQ='"),
        ("method", {"method": "POST"}, b"A WebSocket handshake is an HTTP/1.1 GET, not POST"),
    ],
)
async def test_bad_handshakes_get_400_saying_why(
    actorhttp_client: Client, case: str, fields: dict[str, str], text: bytes
) -> None:
    fields = dict(fields)  # shared by both transports' runs
    method = fields.pop("method", "GET")
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(make_app())).server.port
        response = await exchange(port, handshake(method=method, **fields))
    assert status_of(response) == 400, response
    assert body_of(response).startswith(text)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"Sec-WebSocket-Version": "12"}, b"Unsupported version: 12"),
        ({"Sec-WebSocket-Key": "-"}, b"Handshake error: None"),
    ],
)
async def test_version_and_missing_key(
    actorhttp_client: Client, transport: TransportName, fields: dict[str, str], text: bytes
) -> None:
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(make_app())).server.port
        response = await exchange(port, handshake(**fields))
    assert status_of(response) == 400
    # hypercorn answers these itself, before the application: an empty 400.
    assert body_of(response) == (text if transport == "httptools" else b"")


async def test_can_prepare(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(make_app())
        plain = await client.get("/can")
        port = client.server.port
        upgrade = await exchange(port, handshake("/can", Sec_WebSocket_Protocol="x, chat"))
    assert plain.json() == {"ok": False, "bool": False, "protocol": None}
    assert status_of(upgrade) == 200
    assert b'{"ok": true, "bool": true, "protocol": "chat"}' in upgrade


async def test_subprotocol_negotiation(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(make_app())).server.port
        async with await WSClient.connect(port, subprotocols=["x", "chat", "y"]) as client:
            assert await client.receive() == TEXT
            chosen = await client.receive()
            await client.receive_close()
        assert client.accept is not None
        assert client.accept.subprotocol == "chat"  # the client's first the server knows
        with caplog.at_level(logging.WARNING, logger="actorhttp"):
            async with await WSClient.connect(port, subprotocols=["nope"]) as client:
                assert await client.receive() == TEXT
                unchosen = await client.receive()
                await client.receive_close()
        assert client.accept is not None
        assert client.accept.subprotocol is None
    assert chosen == '{"protocol": "chat", "compress": 0}'
    assert unchosen == '{"protocol": null, "compress": 0}'
    assert any("don't overlap" in r.getMessage() for r in caplog.records)


async def read_head_and_first_frame(port: int, request: bytes) -> tuple[bytes, int, bytes]:
    """The 101's head, and the first frame's first byte and payload, as they were on the wire."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 14:
            data += await stream.receive_some()
        head, _, rest = data.partition(b"\r\n\r\n")
        length = rest[1] & 0x7F
        start = 2
        if length == 126:
            length, start = int.from_bytes(rest[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(rest[2:10], "big"), 10
        while len(rest) < start + length:
            rest += await stream.receive_some()
    return head, rest[0], rest[start : start + length]


async def test_permessage_deflate_is_on_the_wire(actorhttp_client: Client) -> None:
    offer = handshake(Sec_WebSocket_Extensions="permessage-deflate; client_max_window_bits")
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(make_app())).server.port
        head, first, payload = await read_head_and_first_frame(port, offer)
        plain_head, plain_first, plain_payload = await read_head_and_first_frame(port, handshake())
        async with await WSClient.connect(port, extensions=[PerMessageDeflate()]) as client:
            assert await client.receive() == TEXT  # and it inflates back
            negotiated = await client.receive()
            await client.receive_close()
    assert b"sec-websocket-extensions: permessage-deflate" in head.lower()
    assert first & 0x40  # RSV1: a compressed message
    assert len(payload) < len(TEXT) // 20
    assert zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff").decode() == TEXT
    assert b"sec-websocket-extensions" not in plain_head.lower()
    assert not plain_first & 0x40
    assert plain_payload == TEXT.encode()
    assert negotiated == '{"protocol": null, "compress": 15}'


async def test_compress_false(actorhttp_client: Client, transport: TransportName) -> None:
    offer = handshake("/ws?compress=no", Sec_WebSocket_Extensions="permessage-deflate")
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(make_app())).server.port
        head, first, _ = await read_head_and_first_frame(port, offer)
        async with await WSClient.connect(
            port, "/ws?compress=no", extensions=[PerMessageDeflate()]
        ) as client:
            assert await client.receive() == TEXT
            negotiated = await client.receive()
            await client.receive_close()
    if transport == "httptools":
        assert b"permessage-deflate" not in head.lower()
        assert not first & 0x40
        assert negotiated == '{"protocol": null, "compress": 0}'
    else:  # hypercorn accepts the offer whatever the handler wished; ws.compress says so
        assert b"permessage-deflate" in head.lower()
        assert first & 0x40
        assert negotiated == '{"protocol": null, "compress": 15}'


async def test_headers_and_cookies_set_before_prepare_are_in_the_101(
    actorhttp_client: Client,
) -> None:
    with trio.fail_after(TIMEOUT):
        port = (await actorhttp_client(make_app())).server.port
        async with await WSClient.connect(port, "/decorated") as client:
            await client.receive_close()
    assert client.accept is not None
    fields = [(k.lower(), v) for k, v in client.accept.extra_headers]
    assert (b"x-room", b"lobby") in fields
    assert any(k == b"set-cookie" and v.startswith(b"seat=12") for k, v in fields)
