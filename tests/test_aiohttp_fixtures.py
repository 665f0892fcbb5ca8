"""pytest-aiohttp's fixtures over actorhttp apps: an aiohttp application's tests, imports changed.

The application is aiohttp-demos' chat (``demos/chat``), ported by the rule:
``aiohttp`` in its server-side imports becomes ``actorhttp``, and its
random names come from a counter instead of Faker; its page is plain HTML
instead of an aiohttp_jinja2 template (``tests/polls_app`` runs a port that
keeps its plugin). The four tests below are the demo's
``tests/test_chat.py`` with ``import aiohttp`` changed to the names they
use from actorhttp; the rest are this project's, for the fixtures'
contract.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

import actorhttp
from actorhttp import web
from actorhttp.test_utils import TestClient, TestServer, WSServerHandshakeError

log = logging.getLogger(__name__)

ws_key = web.AppKey("ws_key", dict[str, web.WebSocketResponse])
_names = itertools.count(1)

PAGE = """<!DOCTYPE html><html><head><script>
document.addEventListener('DOMContentLoaded', function() {
  var log = document.getElementById('log');
  var conn = new WebSocket((location.protocol == 'https:' ? 'wss://' : 'ws://') + location.host);
  conn.onmessage = function(e) {
    log.appendChild(document.createTextNode(JSON.parse(e.data).action));
  };
});
</script></head><body><h3>Chat!</h3><div id="log"></div></body></html>"""


def get_random_name() -> str:
    return f"user {next(_names)}"


# -- the demo's views.py, ported ----------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    ws_current = web.WebSocketResponse()
    ws_ready = ws_current.can_prepare(request)
    if not ws_ready.ok:
        return web.Response(text=PAGE, content_type="text/html")

    # Reject cross-site WebSocket hijacking: if the browser sent an Origin
    # header, it must match the request host.
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(reason="Cross-origin WebSocket connection rejected")

    await ws_current.prepare(request)

    name = get_random_name()
    log.info("%s joined.", name)

    await ws_current.send_json({"action": "connect", "name": name})

    for ws in request.app[ws_key].values():
        await ws.send_json({"action": "join", "name": name})
    request.app[ws_key][name] = ws_current

    while True:
        msg = await ws_current.receive()

        if msg.type == actorhttp.WSMsgType.text:
            for ws in request.app[ws_key].values():
                if ws is not ws_current:
                    await ws.send_json({"action": "sent", "name": name, "text": msg.data})
        else:
            break

    del request.app[ws_key][name]
    log.info("%s disconnected.", name)
    for ws in request.app[ws_key].values():
        await ws.send_json({"action": "disconnect", "name": name})

    return ws_current


# -- the demo's main.py, ported -----------------------------------------------------------


async def init_app() -> web.Application:
    app = web.Application()
    app[ws_key] = {}
    app.on_shutdown.append(shutdown)
    app.router.add_get("/", index)
    return app


async def shutdown(app: web.Application) -> None:
    for ws in app[ws_key].values():
        await ws.close()
    app[ws_key].clear()


# -- the demo's tests/conftest.py ---------------------------------------------------------


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient:
    app = await init_app()
    result: TestClient = await aiohttp_client(app)
    return result


# -- the demo's tests/test_chat.py, with its imports changed ------------------------------


async def test_msg_sending(client: TestClient) -> None:
    ws1 = await client.ws_connect("/")
    ws2 = await client.ws_connect("/")

    ack_msg1 = await ws1.receive()
    assert ack_msg1.json()["action"] == "connect"
    ack_msg2 = await ws2.receive()
    assert ack_msg2.json()["action"] == "connect"

    text_to_send = "hi all"
    await ws1.send_str(text_to_send)
    received_msg = await ws2.receive()
    received_dict = received_msg.json()

    assert set(received_dict) == {"action", "name", "text"}
    assert received_dict["text"] == text_to_send


async def test_chat_page_does_not_use_jquery_or_html_insertion(client: TestClient) -> None:
    resp = await client.get("/")
    assert resp.status == 200

    page = await resp.text()

    assert "jquery" not in page
    assert "ajax.googleapis.com" not in page
    assert ".html(" not in page
    assert "createTextNode" in page


async def test_ws_rejects_cross_origin(client: TestClient) -> None:
    with pytest.raises(WSServerHandshakeError) as exc_info:
        await client.ws_connect("/", headers={"Origin": "http://evil.example"})
    assert exc_info.value.status == 403


async def test_ws_accepts_same_origin(client: TestClient) -> None:
    origin = f"http://{client.host}:{client.port}"
    async with await client.ws_connect("/", headers={"Origin": origin}) as ws:
        msg = await ws.receive()
        assert msg.json()["action"] == "connect"


# -- the fixtures' contract ---------------------------------------------------------------


async def test_a_client_on_a_server_from_aiohttp_server(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    server: TestServer = await aiohttp_server(await init_app())
    assert server.started
    first: TestClient = await aiohttp_client(server)
    second: TestClient = await aiohttp_client(server)
    assert (await first.get("/")).status == (await second.get("/")).status == 200
    with pytest.raises(TypeError, match="server_kwargs are for an Application"):
        await aiohttp_client(server, server_kwargs={"port": 0})
    with pytest.raises(TypeError, match="takes an Application or a TestServer"):
        await aiohttp_client("not an app")


async def test_websocket_client_api(aiohttp_client: Any) -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=["chat"])
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT and msg.data == "close":
                await ws.close(code=4000, message=b"asked")
            elif msg.type == web.WSMsgType.TEXT:
                await ws.send_str(msg.data.upper())
            elif msg.type == web.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        return ws

    app = web.Application()
    app.router.add_get("/echo", echo)
    client: TestClient = await aiohttp_client(app)
    with trio.fail_after(10):
        async with client.ws_connect("/echo", protocols=["chat"]) as ws:
            assert ws.protocol == "chat"
            await ws.send_str("hello")
            assert await ws.receive_str() == "HELLO"
            await ws.send_bytes(b"abc")
            assert await ws.receive_bytes() == b"cba"
            await ws.send_json({"a": 1})
            assert await ws.receive_str() == '{"A": 1}'
            await ws.ping(b"p")  # answered by the server, never shown to us (autoping)
            await ws.send_str("close")
            closing = await ws.receive()
            assert closing.type == web.WSMsgType.CLOSE
            assert (closing.data, closing.extra) == (4000, "asked")
            assert ws.closed
            assert ws.close_code == 4000
            with pytest.raises(ConnectionResetError):
                await ws.send_str("too late")
        seen = []
        async with client.ws_connect("/echo") as ws:
            for text in ("a", "b", "close"):
                await ws.send_str(text)
            async for msg in ws:  # stops at the server's close
                seen.append(msg.data)
        assert seen == ["A", "B"]


async def test_ws_connect_sends_the_sessions_cookies(aiohttp_client: Any) -> None:
    async def login(request: web.Request) -> web.Response:
        response = web.Response(text="in")
        response.set_cookie("who", "alice")
        return response

    async def whoami(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(request.cookies.get("who", "nobody"))
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/login", login)
    app.router.add_get("/ws", whoami)
    client: TestClient = await aiohttp_client(app)
    with trio.fail_after(10):
        await client.get("/login")
        async with client.ws_connect("/ws") as ws:
            assert await ws.receive_str() == "alice"
            assert (await ws.receive()).type == web.WSMsgType.CLOSE


def test_aiohttp_unused_port_and_client_class(
    aiohttp_unused_port: Any, aiohttp_client_cls: Any
) -> None:
    port = aiohttp_unused_port()
    assert isinstance(port, int)
    assert 0 < port < 65536
    assert aiohttp_client_cls is TestClient


async def test_ws_connect_reads_a_frame_that_came_with_the_handshakes_answer() -> None:
    """A server may send its first message in the same segment as the 101: the client
    must give it at once, not wait for more bytes (it hung, now and then)."""
    import base64
    import functools
    import hashlib

    from yarl import URL

    from actorhttp._wsclient import ws_connect

    async def answer(stream: trio.SocketStream) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += await stream.receive_some(4096)
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        digest = hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        accept = base64.b64encode(digest)
        await stream.send_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            b"\x81\x05hello"  # one write: the answer and a TEXT frame
        )
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, answer, 0, host="127.0.0.1")
        [listener] = await nursery.start(serve)
        port = listener.socket.getsockname()[1]
        with trio.fail_after(5):
            ws = await ws_connect(URL(f"http://127.0.0.1:{port}/"), {}, receive_timeout=0.5)
            message = await ws.receive()
            await ws.close()  # (this server never answers: closed after receive_timeout)
        assert (message.type, message.data) == (actorhttp.WSMsgType.TEXT, "hello")
        nursery.cancel_scope.cancel()
