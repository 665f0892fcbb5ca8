"""handler_timeout: per app and per route, the time a request may take to its answer's head.

Past it the handler (or the actor a mailbox route waits on) is cancelled and
the client gets 504; a stream whose head is out is left alone. Both
transports, over real sockets.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from actorhttp import Application, Request, Response, StreamResponse
from actorhttp.messages import AddRoute
from actorhttp.testing import TestClient

Client = Callable[..., Awaitable[TestClient]]
LIMIT = 0.3
TIMEOUT = 10  # no test waits anywhere near this unless the deadline is broken


async def hello(request: Request) -> Response:
    return Response(text="hello")


def sleeper(
    seconds: float, log: list[str] | None = None
) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        try:
            await trio.sleep(seconds)
        except trio.Cancelled:
            if log is not None:
                log.append("cancelled")
            raise
        return Response(text=f"slept {seconds}")

    return handler


async def test_a_handler_past_the_app_deadline_gets_504(actorhttp_client: Client) -> None:
    log: list[str] = []
    app = Application(handler_timeout=LIMIT)
    app.router.add_get("/stuck", sleeper(math.inf, log))
    app.router.add_get("/", hello)
    client = await actorhttp_client(app)
    with trio.fail_after(TIMEOUT):
        start = trio.current_time()
        response = await client.get("/stuck")
        took = trio.current_time() - start
        assert response.status_code == 504
        assert f"{LIMIT:g} s" in response.text
        assert LIMIT <= took < LIMIT + 2
        assert log == ["cancelled"]
        assert (await client.get("/")).text == "hello"  # same keep-alive connection


async def test_a_route_deadline_overrides_the_apps(actorhttp_client: Client) -> None:
    app = Application(handler_timeout=LIMIT)
    app.router.add_get("/patient", sleeper(2 * LIMIT), handler_timeout=5)
    app.router.add_post("/impatient", sleeper(math.inf))
    plain = Application()
    plain.router.add_get("/bounded", sleeper(math.inf), handler_timeout=LIMIT)
    plain.router.add_get("/unbounded", sleeper(2 * LIMIT))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        assert (await client.get("/patient")).text == f"slept {2 * LIMIT}"
        assert (await client.post("/impatient")).status_code == 504
        client = await actorhttp_client(plain)
        assert (await client.get("/bounded")).status_code == 504
        assert (await client.get("/unbounded")).status_code == 200


async def test_a_sub_application_deadline_covers_its_own_routes(actorhttp_client: Client) -> None:
    app = Application()
    app.router.add_get("/root", sleeper(2 * LIMIT))
    sub = Application(handler_timeout=LIMIT)
    sub.router.add_get("/slow", sleeper(math.inf))
    app.add_subapp("/sub", sub)
    client = await actorhttp_client(app)
    with trio.fail_after(TIMEOUT):
        assert (await client.get("/sub/slow")).status_code == 504
        assert (await client.get("/root")).status_code == 200


async def test_a_stream_whose_head_is_out_outlives_the_deadline(actorhttp_client: Client) -> None:
    async def ticker(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        for i in range(4):
            await trio.sleep(LIMIT / 2)
            await response.write(f"tick {i}\n".encode())
        return response

    app = Application(handler_timeout=LIMIT)
    app.router.add_get("/ticks", ticker)
    client = await actorhttp_client(app)
    with trio.fail_after(TIMEOUT):
        response = await client.get("/ticks")
    assert response.status_code == 200
    assert response.text == "".join(f"tick {i}\n" for i in range(4))


async def test_a_mailbox_route_whose_actor_never_answers_gets_504(
    actorhttp_client: Client,
) -> None:
    send, receive = trio.open_memory_channel[Request](8)
    late: list[str] = []

    async def forgetful_actor() -> None:
        async with receive:
            async for request in receive:
                await trio.sleep(2 * LIMIT)  # the deadline passes meanwhile
                try:
                    await request.reply.send(Response(text="too late"))
                except trio.BrokenResourceError:
                    late.append("refused")

    app = Application(handler_timeout=LIMIT)
    app.router.add_get("/actor", send)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(forgetful_actor)
        client = await actorhttp_client(app)
        with trio.fail_after(TIMEOUT):
            assert (await client.get("/actor")).status_code == 504
            while not late:  # the actor's answer, when it comes, is refused to it
                await trio.sleep(0.05)
        assert late == ["refused"]
        nursery.cancel_scope.cancel()


async def test_add_route_while_serving_takes_a_deadline(actorhttp_client: Client) -> None:
    client = await actorhttp_client(Application())
    with trio.fail_after(TIMEOUT):
        await client.server.add_route("GET", "/late", sleeper(math.inf), handler_timeout=LIMIT)
        assert (await client.get("/late")).status_code == 504


@pytest.mark.parametrize("bad", [0, -1, "1", True, math.nan])
def test_a_deadline_must_be_positive_seconds(bad: Any) -> None:
    with pytest.raises(ValueError, match="handler_timeout"):
        Application(handler_timeout=bad)
    app = Application()
    with pytest.raises(ValueError, match="handler_timeout"):
        app.router.add_get("/x", hello, handler_timeout=bad)
    assert not list(app.router.resources())  # refused before anything was added
    with pytest.raises(ValueError, match="handler_timeout"):
        AddRoute("GET", "/x", hello, handler_timeout=bad)
