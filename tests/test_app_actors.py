"""Actors declared on the application (``app.add_actor``): their lifecycle in ``serve`` and ASGI.

Served for real on loopback port 0 with httpx; the in-process broker (the
default) unless a test says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio

from actorhttp import (
    Application,
    Request,
    Response,
    RestartBudget,
    Server,
    WSMessage,
    json_response,
    open_room,
    serve,
)
from actorhttp.broker import BrokerUnavailable, MemoryBroker
from actorhttp.messages import WebSocketConnection

from .redisserver import free_port

TIMEOUT = 10


@asynccontextmanager
async def served(
    app: Application, **settings: Any
) -> AsyncIterator[tuple[Server, httpx.AsyncClient]]:
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(_serve, app, settings)
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            yield server, http
        await server.stop(grace=1)


async def _serve(
    app: Application, settings: dict[str, Any], *, task_status: trio.TaskStatus[Server]
) -> None:
    await serve(app, "127.0.0.1", 0, task_status=task_status, **settings)


async def test_an_actor_runs_while_served_and_its_mailbox_closes_first_at_a_stop() -> None:
    events: list[str] = []

    async def greeter(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        events.append("started")
        async for request in inbox:
            async with request.reply:
                await request.reply.send(Response(text=f"hi {request.match_info['who']}"))
        events.append("mailbox closed")

    async def on_startup(app: Application) -> None:
        events.append("on_startup")

    async def on_shutdown(app: Application) -> None:
        events.append("on_shutdown")

    async def on_cleanup(app: Application) -> None:
        events.append("on_cleanup")

    app = Application()
    mailbox = app.add_actor(greeter, mailbox_size=4, name="greeter")
    assert isinstance(mailbox, trio.MemorySendChannel)
    app.router.add_get("/hi/{who}", mailbox)
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    with trio.fail_after(TIMEOUT):
        async with served(app) as (_, http):
            assert (await http.get("/hi/you")).text == "hi you"
            events.append("served")
        with pytest.raises(RuntimeError, match="frozen"):
            app.add_actor(greeter)
    assert events == [
        "on_startup",
        "started",
        "served",
        "on_shutdown",
        "mailbox closed",
        "on_cleanup",
    ]


async def test_an_actor_that_ignores_its_mailbox_is_cancelled_past_the_grace() -> None:
    cancelled = trio.Event()

    async def stubborn(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    app = Application()
    app.add_actor(stubborn)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(_serve, app, {})
            started = trio.current_time()
            await server.stop(grace=0.3)
    assert cancelled.is_set()
    assert trio.current_time() - started < 5  # the grace, not forever


async def test_a_sub_applications_actors_start_with_the_parents() -> None:
    async def echo(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        async for request in inbox:
            async with request.reply:
                await request.reply.send(Response(text=f"sub {request.path}"))

    admin = Application()
    admin.router.add_get("/x", admin.add_actor(echo))
    app = Application()
    app.add_subapp("/admin", admin)
    with pytest.raises(RuntimeError, match="frozen"):
        admin.add_actor(echo)  # mounted: fixed now, as its routes are
    with trio.fail_after(TIMEOUT):
        async with served(app) as (_, http):
            assert (await http.get("/admin/x")).text == "sub /admin/x"


async def test_an_actor_past_its_budget_answers_503_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fragile(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        async for _ in inbox:
            raise RuntimeError("fragile broke")

    async def fine(request: Request) -> Response:
        return Response(text="fine")

    app = Application()
    app.router.add_get(
        "/fragile", app.add_actor(fragile, budget=RestartBudget(max_restarts=1, within=60))
    )
    app.router.add_get("/fine", fine)
    with trio.fail_after(TIMEOUT):
        async with served(app) as (_, http):
            statuses = [(await http.get("/fragile")).status_code for _ in range(3)]
            assert (await http.get("/fine")).text == "fine"
    assert statuses == [500, 500, 503]
    assert "died 2 times within 60 s" in caplog.text
    assert "its mailbox is closed" in caplog.text


def test_add_actor_checks_its_arguments() -> None:
    app = Application()
    with pytest.raises(TypeError, match="an actor is an async callable"):
        app.add_actor(42)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="mailbox_size must be an int >= 0"):
        app.add_actor(count, mailbox_size=-1)
    with pytest.raises(TypeError, match="budget must be a RestartBudget"):
        app.add_actor(count, budget=5)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="cluster_name must be a non-empty str"):
        app.add_actor(count, cluster_name="")


def test_a_websocket_route_cannot_lead_to_a_named_actor() -> None:
    async def counter(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        pass

    app = Application()
    named = app.add_actor(counter, cluster_name="counter")
    with pytest.raises(TypeError, match="a WebSocket cannot be forwarded there"):
        app.router.add_websocket("/ws", named)  # type: ignore[arg-type]


async def count(inbox: trio.abc.ReceiveChannel[Request]) -> None:
    counts: dict[str, int] = {}
    async for request in inbox:
        async with request.reply:
            name = request.match_info["name"]
            counts[name] = counts.get(name, 0) + 1
            await request.reply.send(json_response({"count": counts[name]}))


async def test_with_the_in_process_broker_a_named_actor_is_a_local_actor() -> None:
    app = Application()
    counter = app.add_actor(count, cluster_name="counter")
    app.router.add_post("/count/{name}", counter)
    assert repr(counter) == "<NamedActor 'counter'>"
    with trio.fail_after(TIMEOUT):
        async with served(app) as (_, http):
            assert counter.owner
            counts = [(await http.post("/count/a")).json()["count"] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert not counter.owner


async def test_an_unreachable_broker_refuses_to_start_before_the_startup_runs() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    ran: list[str] = []

    async def on_startup(app: Application) -> None:
        ran.append("startup")

    app = Application()
    app.on_startup.append(on_startup)
    with trio.fail_after(TIMEOUT), pytest.raises(BrokerUnavailable, match=url):
        await serve(app, "127.0.0.1", 0, broker=url)
    assert ran == []


async def test_the_asgi_lifespan_runs_the_actors_with_the_app() -> None:
    events: list[str] = []

    async def room(inbox: trio.abc.ReceiveChannel[WebSocketConnection]) -> None:
        events.append("started")
        async for _ in inbox:
            pass
        events.append("ended")

    app = Application(broker=MemoryBroker())
    app.add_actor(room)
    to_app, from_server = trio.open_memory_channel[dict[str, Any]](4)
    to_server, from_app = trio.open_memory_channel[dict[str, Any]](4)

    async def receive() -> Any:
        return await from_server.receive()

    async def send(message: Any) -> None:
        await to_server.send(message)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            asgi: Any = app  # driven by hand: the scope and messages are plain dicts
            nursery.start_soon(
                asgi, {"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send
            )
            await to_app.send({"type": "lifespan.startup"})
            assert (await from_app.receive())["type"] == "lifespan.startup.complete"
            assert events == ["started"]
            assert app.broker.connected
            await to_app.send({"type": "lifespan.shutdown"})
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"
    assert events == ["started", "ended"]
    assert not app.broker.connected


async def test_a_bug_in_an_actor_reaching_the_log_never_stops_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)

    async def returns_at_once(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        return  # ends supervision: its routes answer 503 from now on

    app = Application()
    app.router.add_get("/gone", app.add_actor(returns_at_once))
    with trio.fail_after(TIMEOUT):
        async with served(app) as (_, http):
            await trio.sleep(0.05)
            assert (await http.get("/gone")).status_code == 503


async def test_a_room_delivers_to_its_members_but_the_sender_and_skips_foreign_messages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Room driven directly, with memory channels for sockets (no server needed)."""
    broker = MemoryBroker()
    outboxes = [trio.open_memory_channel[str | bytes | WSMessage](4) for _ in range(3)]
    connections = [
        WebSocketConnection(None, None, send)  # type: ignore[arg-type]
        for send, _ in outboxes
    ]
    with trio.fail_after(TIMEOUT):
        async with (
            broker,
            open_room(broker, "lobby", on_join=lambda k: f"+{k}") as room,
            room.join(connections[0], "a") as a,
        ):
            await trio.sleep(0.01)  # a's join is told before b is a member
            async with room.join(connections[1], "b"):
                await broker.publish("lobby", "not from a room")
                await room.publish("hello", sender=a)
                await room.publish({"n": 1})
                await trio.sleep(0.01)
                assert await room.members() == ["a", "b"]
                for _ in range(4):  # the slow member's outbox is full
                    connections[2].outbox.send_nowait("x")
                room.local["slow"] = connections[2]
                room.deliver("one more")  # the slow member is dropped, not waited for
    got = [
        [receive.receive_nowait() for _ in range(receive.statistics().current_buffer_used)]
        for _, receive in outboxes[:2]
    ]
    assert got[0] == ["+b", '{"n": 1}', "one more"]
    assert got[1] == ["hello", '{"n": 1}', "one more"]
    assert room.dropped == 1
    assert "a message not sent by a room dropped" in caplog.text
