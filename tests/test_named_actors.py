"""Named actors across two servers sharing one real redis-server, in one trio run.

Each server has its own RedisBroker (its own node in the cluster), as two
worker processes would; the process-level tests (SIGKILL, ``--workers``)
are in tests/test_cluster.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import coredis
import httpx
import pytest
import trio

from actorhttp import (
    Application,
    NamedActor,
    Request,
    Response,
    Server,
    StreamResponse,
    json_response,
    serve,
)
from actorhttp.broker import RedisBroker

from .redisserver import RedisServer

TIMEOUT = 20


async def echo(inbox: trio.abc.ReceiveChannel[Request]) -> None:
    """Answers with what it was sent; ``/stream`` streams, ``/slow`` takes its time."""
    async for request in inbox:
        async with request.reply:
            what = request.match_info["what"]
            if what == "stream":
                stream = StreamResponse()
                await stream.prepare(request)
                try:
                    await stream.write(b"never seen")
                except Exception:
                    pass  # cut: its caller is in another process
                continue
            if what == "slow":
                await trio.sleep(5)
            answer = json_response(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    "header": request.headers.get("X-Thing"),
                    "match_info": dict(request.match_info),
                    "route": request.match_info.route.resource.canonical,
                    "apps": len(request.match_info.apps),
                    "body": (await request.read()).decode(),
                },
                status=201,
            )
            answer.set_cookie("a", "1")
            answer.set_cookie("b", "2")
            await request.reply.send(answer)


def make_app(url: str, **options: Any) -> tuple[Application, NamedActor]:
    app = Application(broker=RedisBroker(url, lease_time=1, health_interval=0.2), **options)
    named = app.add_actor(echo, cluster_name="echo")
    app.router.add_route("*", "/echo/{what}", named)
    app.router.add_get("/bounded/{what}", named, handler_timeout=0.3)
    return app, named


@asynccontextmanager
async def serving(app: Application) -> AsyncIterator[Server]:
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(_serve, app)
        yield server
        await server.stop(grace=1)


async def _serve(app: Application, *, task_status: trio.TaskStatus[Server]) -> None:
    await serve(app, "127.0.0.1", 0, task_status=task_status)


async def wait_owned(*named: NamedActor) -> None:
    while not any(n.owner for n in named):
        await trio.sleep(0.02)


async def test_a_request_reaches_the_one_incarnation_from_either_server(
    redis_server: RedisServer,
) -> None:
    app_a, named_a = make_app(redis_server.url)
    app_b, named_b = make_app(redis_server.url, client_max_size=1000)
    with trio.fail_after(TIMEOUT):
        async with serving(app_a) as a, serving(app_b) as b:
            await wait_owned(named_a, named_b)
            assert named_a.owner != named_b.owner  # exactly one incarnation
            remote = b if named_a.owner else a
            async with httpx.AsyncClient(base_url=remote.url, timeout=TIMEOUT) as http:
                answer = await http.put(
                    "/echo/x%20y?q=1&q2=2", content=b"the body", headers={"X-Thing": "thing"}
                )
                head = await http.head("/echo/x")
                streamed = await http.get("/echo/stream")
                async with httpx.AsyncClient(base_url=b.url, timeout=TIMEOUT) as small:
                    too_big = await small.post("/echo/x", content=b"x" * 2000)
                bounded = await http.get("/bounded/slow")
    assert answer.status_code == 201
    assert answer.json() == {
        "method": "PUT",
        "path": "/echo/x y",
        "query": {"q": "1", "q2": "2"},
        "header": "thing",
        "match_info": {"what": "x y"},
        "route": "/echo/{what}",  # the route is this app's, as the caller's router found it
        "apps": 1,
        "body": "the body",
    }
    assert answer.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert head.status_code == 201
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0  # what a GET would have
    assert streamed.status_code == 502
    assert "answered with a stream" in streamed.text
    assert too_big.status_code == 413  # read on the caller's side, within its own limit
    assert bounded.status_code == 504  # the caller's handler_timeout bounds the remote call


async def test_no_holder_means_503_with_retry_after_and_never_past_the_timeout(
    redis_server: RedisServer,
) -> None:
    # A holder that does not exist: the lease is taken in Redis by a node nobody runs.
    async with coredis.Redis.from_url(redis_server.url) as redis:
        await redis.set("actorhttp:lease:echo", "a-dead-node", px=60_000)
    app, named = make_app(redis_server.url)
    with trio.fail_after(TIMEOUT):
        async with (
            serving(app) as server,
            httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
        ):
            started = trio.current_time()
            unavailable = await http.get("/echo/x")
            waited = trio.current_time() - started
            bounded = await http.get("/bounded/x")
    assert not named.owner
    assert unavailable.status_code == 503
    assert unavailable.headers["retry-after"] == "1"
    assert "no process holds the actor 'echo'" in unavailable.text
    assert waited >= 1 * 4 / 3 - 0.1  # it waited for a holder as long as a takeover takes
    assert bounded.status_code == 504


async def test_a_stopped_holder_hands_the_actor_over_at_once(redis_server: RedisServer) -> None:
    app_a, named_a = make_app(redis_server.url)
    app_b, named_b = make_app(redis_server.url)
    with trio.fail_after(TIMEOUT):
        async with serving(app_b) as b:
            async with serving(app_a):
                await wait_owned(named_a, named_b)
                first = named_a if named_a.owner else named_b
            if first is named_a:  # a stopped: b takes over within a beat (lease released)
                await wait_owned(named_b)
            async with httpx.AsyncClient(base_url=b.url, timeout=TIMEOUT) as http:
                answer = await http.post("/echo/after", content=b"")
    assert named_b.owner is False  # stopped now
    assert answer.status_code == 201
    assert json.loads(answer.text)["match_info"] == {"what": "after"}


async def test_an_answer_is_final_and_plain_responses_cross_untouched(
    redis_server: RedisServer,
) -> None:
    async def teapot(inbox: trio.abc.ReceiveChannel[Request]) -> None:
        async for request in inbox:
            async with request.reply:
                await request.reply.send(Response(status=418, reason="Short", text="tea"))

    apps = []
    for _ in range(2):
        app = Application(broker=RedisBroker(redis_server.url, lease_time=1))
        named = app.add_actor(teapot, cluster_name="teapot")
        app.router.add_get("/", named)
        apps.append((app, named))
    with trio.fail_after(TIMEOUT):
        async with serving(apps[0][0]) as a, serving(apps[1][0]) as b:
            await wait_owned(apps[0][1], apps[1][1])
            remote = b if apps[0][1].owner else a
            async with httpx.AsyncClient(base_url=remote.url, timeout=TIMEOUT) as http:
                answer = await http.get("/")
    assert (answer.status_code, answer.reason_phrase, answer.text) == (418, "Short", "tea")


async def test_serve_raises_what_it_raised_through_the_redis_brokers_lifetime(
    redis_server: RedisServer,
) -> None:
    """A busy port is an OSError, not an exception group of the broker's nursery."""
    app, _ = make_app(redis_server.url)
    with trio.socket.socket() as taken:
        await taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with trio.fail_after(TIMEOUT), pytest.raises(OSError, match="in use"):
            await serve(app, "127.0.0.1", port)
