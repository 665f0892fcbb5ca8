"""Server-sent events with aiohttp_sse's API (``actorhttp.sse``), read by a streaming client.

The client is httpx streaming the response as it comes, over real sockets
on both transports; ``autojump_clock`` makes the pings' 15 s instant.
"""

from __future__ import annotations

import importlib

import pytest
import trio
import trio.testing

from actorhttp import web
from actorhttp.messages import TransportName
from actorhttp.sse import EventSourceResponse, sse_response
from actorhttp.testing import make_mocked_request, serve_app

VIRTUAL_LIMIT = 600  # virtual seconds under autojump_clock: only a hang comes near


async def events(request: web.Request) -> web.StreamResponse:
    async with sse_response(request, headers={"X-Stream": "1"}) as resp:
        await resp.send("plain")
        await resp.send("two\nlines", id="7", event="update", retry=1500)
        await resp.send(f"last id: {resp.last_event_id}")
    return resp


PING = b": ping\r\n\r\n"


async def test_events_are_written_as_aiohttp_sse_writes_them(transport: TransportName) -> None:
    app = web.Application()
    app.router.add_get("/events", events)
    app.router.add_post("/events", events)  # the response itself refuses it, as aiohttp_sse
    with trio.fail_after(10):
        async with serve_app(app, transport=transport) as client:
            response = await client.get("/events", headers={"Last-Event-Id": "41"})
            refused = await client.post("/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-stream"] == "1"
    assert response.content == (
        b"data: plain\r\n\r\n"
        b"id: 7\r\nevent: update\r\ndata: two\r\ndata: lines\r\nretry: 1500\r\n\r\n"
        b"data: last id: 41\r\n\r\n"
    )
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET"


async def test_pings_keep_the_stream_alive_until_the_client_leaves(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    outcome: list[object] = []
    handler_done = trio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            await resp.send("hello")
            begun = trio.current_time()
            await resp.wait()  # returns once the client has gone
            outcome.extend([resp.is_connected(), trio.current_time() - begun])
        handler_done.set()
        return resp

    app = web.Application()
    app.router.add_get("/stream", stream)
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(app, transport=transport) as client:
            seen = b""
            tcp = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with tcp:  # a raw client: it sees each chunk as the server sends it
                await tcp.send_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
                began = trio.current_time()
                while seen.count(PING) < 2:
                    seen += await tcp.receive_some()
                two_pings = trio.current_time() - began
            await handler_done.wait()
    head, _, body = seen.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    # Each event one chunk, as it was sent: the hello, then a ping every 15 s.
    ping = b"a\r\n: ping\r\n\r\n\r\n"
    assert body.lower() == b"f\r\ndata: hello\r\n\r\n\r\n" + ping + ping
    assert 30 <= two_pings < 31  # the default interval: 15 s
    assert outcome[0] is False
    assert isinstance(outcome[1], float)
    assert outcome[1] >= 30  # noticed at the next ping after the client left


async def test_stop_streaming_from_another_task_ends_wait(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        resp = EventSourceResponse(ping_interval=2)
        await resp.prepare(request)
        async with trio.open_nursery() as nursery:

            async def stop_later() -> None:
                await trio.sleep(5)
                await resp.send("stopping", event="bye")
                resp.stop_streaming()

            nursery.start_soon(stop_later)
            await resp.wait()  # outside `async with resp`: the pings run here
        assert not resp.is_connected()
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/stream", stream)
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(app, transport=transport) as client:
            response = await client.get("/stream")
    assert response.content == (b": ping\r\n\r\n: ping\r\n\r\nevent: bye\r\ndata: stopping\r\n\r\n")


async def test_a_send_to_a_client_that_left_raises_connection_reset(
    transport: TransportName,
) -> None:
    outcome: list[object] = []
    done = trio.Event()
    client_left = trio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            await resp.send("first")
            await client_left.wait()
            with trio.fail_after(5):
                while resp.is_connected():
                    await trio.sleep(0.01)
            try:
                for _ in range(100):  # until the kernel reports the reset
                    await resp.send("x" * 10_000)
            except ConnectionResetError:
                outcome.append("reset")
        done.set()
        return resp

    app = web.Application()
    app.router.add_get("/stream", stream)
    with trio.fail_after(20):
        async with serve_app(app, transport=transport) as client:
            tcp = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            await tcp.send_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while b"data: first" not in received:
                received += await tcp.receive_some()
            await tcp.aclose()
            client_left.set()
            await done.wait()
    assert outcome == ["reset"]


def test_bad_arguments_are_refused_clearly() -> None:
    resp = EventSourceResponse()
    with pytest.raises(RuntimeError, match="must be prepared first"):
        _ = resp.last_event_id
    with pytest.raises(RuntimeError, match="not started"):
        resp.stop_streaming()
    with pytest.raises(ValueError, match="positive"):
        resp.ping_interval = 0
    with pytest.raises(TypeError, match="int or float"):
        resp.ping_interval = "1"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="positive"):
        EventSourceResponse(ping_interval=-1)
    with pytest.raises(NotImplementedError):
        resp.enable_compression()
    with pytest.raises(TypeError, match="response_cls must be subclass"):
        sse_response(make_mocked_request("GET", "/"), response_cls=web.StreamResponse)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "a\nb"}, "id must not contain"),
        ({"id": "a\0b"}, "id must not contain"),
        ({"event": "a\rb"}, "event must not contain"),
        ({"retry": -1}, "retry must not be negative"),
    ],
)
async def test_bad_event_fields_are_refused_before_anything_is_sent(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await EventSourceResponse().send("data", **kwargs)  # type: ignore[arg-type]


async def test_the_sse_example_resumes_from_last_event_id_and_says_bye_at_the_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Imported by name at run time: mypy checks examples/ on its own, as top-level modules.
    make_app = importlib.import_module("examples.sse").make_app

    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(make_app()) as client:
            tcp = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with tcp:
                await tcp.send_all(b"GET /clock HTTP/1.1\r\nHost: x\r\nLast-Event-Id: 41\r\n\r\n")
                seen = b""
                while b"id: 43" not in seen:
                    seen += await tcp.receive_some()
                asked = trio.current_time()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(client.server.stop, 5)
                    while not seen.endswith(b"0\r\n\r\n"):
                        seen += await tcp.receive_some()
                    stopped_at = trio.current_time()
    assert b"id: 42\r\ndata: " in seen
    assert b"event: bye\r\ndata: the server is stopping\r\n\r\n" in seen
    assert seen.count(b"id: ") >= 2
    assert stopped_at - asked < 1  # the stream ended at the stop, not after the grace period
