"""WebSocket routes served by an actor (``add_websocket``), on both transports.

The actor gets a WebSocketConnection: an inbox of the client's messages
that ends when the client goes, and an outbox whose closing closes the
socket. Middlewares wrap the route like any other.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from actorhttp import (
    Application,
    HTTPForbidden,
    Request,
    RouteTableDef,
    StreamResponse,
    WSCloseCode,
    WSMessage,
    WSMsgType,
    middleware,
)
from actorhttp.messages import Handler, WebSocketConnection
from actorhttp.testing import TestClient, serve_app

from .wsclient import Rejected, WSClient

Client = Callable[..., Awaitable[TestClient]]
Actor = Callable[[trio.MemoryReceiveChannel[WebSocketConnection]], Awaitable[None]]
TIMEOUT = 10


@asynccontextmanager
async def served(
    actorhttp_client: Client, actor: Actor, **options: Any
) -> AsyncIterator[TestClient]:
    """An app with ``/ws`` served by ``actor``, running in a nursery for the test's span."""
    mailbox, inbox = trio.open_memory_channel[WebSocketConnection](4)
    app = Application(middlewares=options.pop("middlewares", ()))
    app.router.add_websocket("/ws", mailbox, **options)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor, inbox)
        yield await actorhttp_client(app)
        nursery.cancel_scope.cancel()


async def test_an_echo_actor(actorhttp_client: Client) -> None:
    async def echo(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        async with trio.open_nursery() as nursery:
            async for connection in mailbox:
                nursery.start_soon(serve_one, connection)

    async def serve_one(connection: WebSocketConnection) -> None:
        async with connection.outbox:
            async for message in connection.inbox:
                await connection.outbox.send(message.data)  # str stays TEXT, bytes BINARY
                if message.data == "bye":
                    return  # closing the outbox closes the socket

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, echo) as http:
            port = http.server.port
            async with await WSClient.connect(port) as client:
                await client.send_text("hello")
                await client.send_bytes(b"\x00\xff")
                assert await client.receive() == "hello"
                assert await client.receive() == b"\x00\xff"
                await client.send_text("bye")
                assert await client.receive() == "bye"
                close = await client.receive_close()
                await client.wait_eof()
    assert close.code == 1000


async def test_the_actor_learns_when_the_client_goes(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[object] = []
    left = trio.Event()

    async def listener(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        connection = await mailbox.receive()
        seen.append(connection.request.match_info)
        async for message in connection.inbox:
            seen.append(message)
        seen.append("inbox ended")
        with pytest.raises(trio.BrokenResourceError):
            await connection.outbox.send("anyone there?")
        left.set()

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, listener) as http:
            port = http.server.port
            async with await WSClient.connect(port) as client:
                await client.send_text("one")
                await client.close(4000, "leaving")
                await client.receive_close(reply=False)
            await left.wait()
            client = await WSClient.connect(port)  # a second one vanishes: no close frame
            client.reset()
    assert seen == [{}, WSMessage(WSMsgType.TEXT, "one", None), "inbox ended"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("side", ["outbox", "inbox"])
async def test_the_actor_closing_either_side_closes_the_socket(
    actorhttp_client: Client, side: str
) -> None:
    ended = trio.Event()  # the client stays silent: the channel itself tells the connection

    async def closer(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        connection = await mailbox.receive()
        await connection.outbox.send("goodbye")
        if side == "outbox":
            await connection.outbox.aclose()
            async for _ in connection.inbox:  # it ends once the close handshake is done
                pass
        else:
            await connection.inbox.aclose()
        ended.set()

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, closer) as http:
            port = http.server.port
            async with await WSClient.connect(port) as client:
                assert await client.receive() == "goodbye"
                close = await client.receive_close()
                await client.wait_eof()
            await ended.wait()
    assert close.code == 1000


async def test_the_actor_closes_with_a_code(actorhttp_client: Client) -> None:
    async def kicker(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        connection = await mailbox.receive()
        await connection.outbox.send(WSMessage(WSMsgType.CLOSE, 4008, "too chatty"))

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, kicker) as http:
            port = http.server.port
            async with await WSClient.connect(port) as client:
                close = await client.receive_close()
                await client.wait_eof()
    assert (close.code, close.reason) == (4008, "too chatty")


async def test_an_actor_that_stopped_gets_clients_1013(actorhttp_client: Client) -> None:
    async def gone(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        await mailbox.aclose()

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, gone) as http:
            port = http.server.port
            await trio.testing.wait_all_tasks_blocked()
            async with await WSClient.connect(port) as client:
                close = await client.receive_close()
    assert close.code == WSCloseCode.TRY_AGAIN_LATER


async def test_middlewares_wrap_the_route_and_options_reach_the_socket(
    actorhttp_client: Client,
) -> None:
    passed: list[str] = []

    @middleware
    async def members_only(request: Request, handler: Handler) -> StreamResponse:
        if request.query.get("member") != "yes":
            raise HTTPForbidden(text="members only")
        passed.append(request.path)
        return await handler(request)

    async def protocol_teller(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        async for connection in mailbox:
            async with connection.outbox:
                await connection.outbox.send(f"protocol {connection.protocol}")

    with trio.fail_after(TIMEOUT):
        async with served(
            actorhttp_client, protocol_teller, middlewares=[members_only], protocols=("chat",)
        ) as http:
            port = http.server.port
            with pytest.raises(Rejected) as refused:
                await WSClient.connect(port)
            async with await WSClient.connect(
                port, "/ws?member=yes", subprotocols=["chat"]
            ) as client:
                assert await client.receive() == "protocol chat"
                await client.receive_close()
    assert (refused.value.status, refused.value.body) == (403, b"members only")
    assert passed == ["/ws"]


async def test_a_plain_get_to_an_actor_route_is_400(actorhttp_client: Client) -> None:
    async def never(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        await mailbox.receive()
        raise AssertionError("a plain GET reached the actor")

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, never) as http:
            response = await http.get("/ws")
            head = await http.head("/ws")
    assert response.status_code == 400
    assert response.text.startswith("No WebSocket UPGRADE hdr")
    assert head.status_code == 405  # a WebSocket route is GET only


async def test_route_table_def_and_argument_checks() -> None:
    mailbox, inbox = trio.open_memory_channel[WebSocketConnection](1)
    routes = RouteTableDef()
    routes.websocket("/chat/{room}", mailbox, name="chat", heartbeat=5.0)
    app = Application()
    app.add_routes(routes)
    assert str(app.router["chat"].url_for(room="lobby")) == "/chat/lobby"
    assert "WebSocketDef /chat/{room}" in repr(routes[0])
    with pytest.raises(TypeError, match="an actor's mailbox"):
        app.router.add_websocket("/bad", inbox)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inbox_size"):
        app.router.add_websocket("/bad", mailbox, inbox_size=-1)
    with pytest.raises(ValueError, match="heartbeat"):
        app.router.add_websocket("/bad", mailbox, heartbeat=0)
    with pytest.raises(TypeError):
        app.router.add_websocket("/bad", mailbox, no_such_option=1)


async def test_an_actors_close_the_client_never_answers_is_dropped_after_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The server's hub keeps the deadline (the socket has no timer of its own). httptools
    only: hypercorn ends the connection as soon as our close frame is out."""
    ended = trio.Event()

    async def closer(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        connection = await mailbox.receive()
        await connection.outbox.aclose()
        async for _ in connection.inbox:
            pass  # it ends when the socket is dropped
        ended.set()

    mailbox, inbox = trio.open_memory_channel[WebSocketConnection](1)
    app = Application()
    app.router.add_websocket("/ws", mailbox, timeout=5.0)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, serve_app(app, transport="httptools") as http:
            nursery.start_soon(closer, inbox)
            client = await WSClient.connect(http.server.port)
            close = await client.receive_close(reply=False)  # a client that never answers
            start = trio.current_time()
            await client.wait_eof()
            await ended.wait()
            waited = trio.current_time() - start
            await client.stream.aclose()
    assert close.code == 1000
    assert 5.0 <= waited < 6.0


async def test_a_bad_outbox_item_is_refused_at_the_send(actorhttp_client: Client) -> None:
    refused: list[BaseException] = []

    async def sender(mailbox: trio.MemoryReceiveChannel[WebSocketConnection]) -> None:
        connection = await mailbox.receive()
        async with connection.outbox:
            for item in (
                42,
                WSMessage(WSMsgType.PING, b"", None),
                WSMessage(WSMsgType.CLOSE, 1005, ""),
            ):
                try:
                    connection.outbox.send_nowait(item)  # type: ignore[arg-type]
                except (TypeError, ValueError) as exc:
                    refused.append(exc)
            await connection.outbox.send(b"still open")

    with trio.fail_after(TIMEOUT):
        async with served(actorhttp_client, sender) as http:
            client = await WSClient.connect(http.server.port)
            async with client:
                assert await client.receive() == b"still open"
                close = await client.receive_close()
    assert close.code == 1000
    assert [type(exc) for exc in refused] == [TypeError, TypeError, ValueError]
