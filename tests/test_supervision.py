"""Supervision: the router actor and opted-in actors restart with the same mailbox.

Faults are injected where a bug of actorhttp's would be: in the router's
message handling and in the pool's own bookkeeping. What the dead
incarnation held gets a 500, what was queued is served by the next one,
and past the restart budget the server stops with an error that names
why. Both transports, over real sockets.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

import httpx
import pytest
import trio
import trio.lowlevel

from actorhttp import (
    Application,
    Request,
    Response,
    RestartBudget,
    SupervisionError,
    json_response,
    supervise,
)
from actorhttp._pool import Mailbox, open_mailbox
from actorhttp._router import Router
from actorhttp.messages import TransportName
from actorhttp.testing import TestClient, serve_app

TIMEOUT = 20


class Injected(RuntimeError):
    """The fault a test injects: a stand-in for a bug in actorhttp's own code."""


@pytest.fixture
def crash_on_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Requests to a path in the yielded list kill the router worker that takes them."""
    paths: list[str] = ["/crash"]
    original = Router._on_message

    async def faulty(self: Router, message: object) -> None:
        if isinstance(message, Request) and message.path in paths:
            raise Injected(f"injected fault on {message.path}")
        await original(self, message)  # type: ignore[arg-type]

    monkeypatch.setattr(Router, "_on_message", faulty)
    return paths


def app_with(**routes: Callable[[Request], Awaitable[Response]]) -> Application:
    app = Application(restart_budget=RestartBudget(max_restarts=3, within=60))
    for name, handler in routes.items():
        app.router.add_get(f"/{name}", handler)
    return app


async def hello(request: Request) -> Response:
    return Response(text="hello")


def find(group: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first ``kind`` in an exception (group), at any depth."""
    if isinstance(group, kind):
        return group
    for inner in getattr(group, "exceptions", ()):
        found = find(inner, kind)
        if found is not None:
            return found
    return None


async def test_the_router_actor_restarts_and_the_request_in_flight_gets_500(
    crash_on_path: list[str], transport: TransportName, caplog: pytest.LogCaptureFixture
) -> None:
    started = trio.Event()

    async def slow(request: Request) -> Response:
        started.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    statuses: dict[str, int] = {}
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(slow=slow, hello=hello), transport=transport) as client:

            async def get(path: str) -> None:
                statuses[path] = (await client.get(path)).status_code

            async with trio.open_nursery() as nursery:
                nursery.start_soon(get, "/slow")
                await started.wait()
                nursery.start_soon(get, "/crash")
            assert (await client.get("/hello")).text == "hello"  # a new incarnation serves
            assert (await client.get("/hello")).text == "hello"
    # The crashing request was held by the dead pool; the slow one was cancelled with it.
    assert statuses == {"/slow": 500, "/crash": 500}
    assert "the router actor died; restarting it with the same mailbox" in caplog.text
    assert "Injected: injected fault on /crash" in caplog.text  # the traceback is logged


async def test_a_fault_in_the_pool_itself_is_survived(
    monkeypatch: pytest.MonkeyPatch, transport: TransportName
) -> None:
    armed = [False]
    original = Mailbox._yielding

    def faulty(self: Mailbox[object]) -> None:
        if armed[0]:
            armed[0] = False
            raise Injected("injected fault in the pool's bookkeeping")
        original(self)

    monkeypatch.setattr(Mailbox, "_yielding", faulty)

    async def waits(request: Request) -> Response:
        armed[0] = True
        await trio.lowlevel.checkpoint()  # the handler yields: the pool's hook runs, and fails
        return Response(text="not reached")

    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(waits=waits, hello=hello), transport=transport) as client:
            assert (await client.get("/waits")).status_code == 500
            assert (await client.get("/hello")).text == "hello"


async def test_past_the_restart_budget_the_server_stops_saying_why(
    crash_on_path: list[str], transport: TransportName
) -> None:
    statuses: list[int | str] = []

    async def crash_it_four_times() -> None:
        async with serve_app(app_with(hello=hello), transport=transport) as client:
            for _ in range(4):  # three restarts are allowed; the fourth death is one too many
                try:
                    statuses.append((await client.get("/crash")).status_code)
                except httpx.HTTPError as exc:
                    statuses.append(type(exc).__name__)
            await trio.sleep_forever()  # the server's failure ends this

    with trio.fail_after(TIMEOUT), pytest.raises(BaseExceptionGroup) as raised:
        await crash_it_four_times()
    error = find(raised.value, SupervisionError)
    assert error is not None, raised.value
    assert str(error).startswith(
        "the router actor died 4 times within 60 s (restart budget: 3); "
        "last failure: Injected: injected fault on /crash"
    )
    assert find(error.__cause__ or error, Injected) is not None
    assert statuses[:3] == [500, 500, 500]


def test_restart_budget_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_restarts must be a positive int"):
        RestartBudget(max_restarts=0)
    with pytest.raises(ValueError, match="within must be a positive number"):
        RestartBudget(within=0)
    with pytest.raises(TypeError, match="restart_budget must be a RestartBudget"):
        Application(restart_budget=5)  # type: ignore[arg-type]


async def test_the_pool_keeps_its_queue_across_a_restart() -> None:
    """Sans sockets: messages queued when the pool dies are handled by the next one."""
    sender, mailbox = open_mailbox(16)
    handled: list[str] = []

    async def handle(message: str) -> None:
        if message == "boom":
            raise Injected("boom")
        handled.append(message)

    for message in ["a", "boom", "b", "c"]:
        sender.send_nowait(message)
    with trio.fail_after(TIMEOUT):
        with pytest.raises(ExceptionGroup):
            await mailbox.run(handle)
        assert mailbox.recover() == ["boom"]
        sender.close()
        await mailbox.run(handle)  # ends once the closed mailbox is empty
    assert sorted(handled) == ["a", "b", "c"]


# -- supervise(): a program's own actors ---------------------------------------------------


Actor = Callable[[trio.abc.ReceiveChannel[Request]], Awaitable[None]]


def counting_actor(total: list[int]) -> Actor:
    """Adds each request's ``?n=`` to ``total``; ``?n=boom`` is a bug that kills it."""

    async def counter(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        async for request in inbox:
            value = request.query["n"]
            if value == "boom":
                raise Injected("the counter met a boom")
            total[0] += int(value)
            await request.reply.send(json_response({"total": total[0]}))

    return counter


async def test_a_supervised_actor_restarts_with_its_mailbox(
    transport: TransportName, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "actorhttp")
    total = [0]
    send, receive = trio.open_memory_channel[Request](16)
    app = Application()
    app.router.add_post("/count", send)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervise, counting_actor(total), receive)
            async with serve_app(app, transport=transport) as client:
                assert (await client.post("/count?n=2")).json() == {"total": 2}
                assert (await client.post("/count?n=boom")).status_code == 500
                assert (await client.post("/count?n=3")).json() == {"total": 5}
            nursery.cancel_scope.cancel()
    assert "actor counting_actor.<locals>.counter died; restarting it" in caplog.text


async def test_what_waits_in_a_supervised_inbox_survives_the_crash() -> None:
    total = [0]
    send, receive = trio.open_memory_channel[Request](16)
    app = Application()
    app.router.add_post("/count", send)
    results: dict[str, int] = {}
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            async with serve_app(app) as client:

                async def post(n: str) -> None:
                    results[n] = (await client.post(f"/count?n={n}")).status_code

                async with trio.open_nursery() as posting:
                    posting.start_soon(post, "boom")
                    await trio.testing.wait_all_tasks_blocked()
                    posting.start_soon(post, "7")
                    await trio.testing.wait_all_tasks_blocked()
                    # Both wait in the inbox: only now does the actor start, and die on the first.
                    await nursery.start(supervise, counting_actor(total), receive)
                assert (await client.post("/count?n=1")).json() == {"total": 8}
            nursery.cancel_scope.cancel()
    assert results == {"boom": 500, "7": 200}


async def test_past_its_budget_a_supervised_actor_gives_up_and_its_routes_answer_503() -> None:
    total = [0]
    send, receive = trio.open_memory_channel[Request](16)
    app = Application()
    app.router.add_post("/count", send)
    budget = RestartBudget(max_restarts=1, within=60)
    statuses: list[int] = []

    async def boom_twice(client: TestClient) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(
                partial(supervise, counting_actor(total), receive, budget=budget, name="counter")
            )
            for _ in range(2):
                statuses.append((await client.post("/count?n=boom")).status_code)

    with trio.fail_after(TIMEOUT):
        async with serve_app(app) as client:
            with pytest.raises(BaseExceptionGroup) as raised:
                await boom_twice(client)
            after = await client.post("/count?n=1")
    assert statuses[0] == 500  # the second's answer races the failure that ends boom_twice
    error = find(raised.value, SupervisionError)
    assert str(error) == (
        "counter died 2 times within 60 s (restart budget: 1); "
        "last failure: Injected: the counter met a boom"
    )
    assert after.status_code == 503
    assert "the actor for this route has stopped" in after.text


async def test_an_actor_that_returns_ends_supervision_and_closes_its_inbox() -> None:
    send, receive = trio.open_memory_channel[Request](16)

    async def once(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        request = await inbox.receive()
        await request.reply.send(Response(text="once"))

    app = Application()
    app.router.add_get("/once", send)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app) as client:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(supervise, once, receive)
                assert (await client.get("/once")).text == "once"
            assert (await client.get("/once")).status_code == 503
