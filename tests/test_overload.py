"""Overload: max_concurrency, max_queued (503 + Retry-After at once) and max_connections.

Both transports, over real sockets: what is admitted is answered, what is
not is refused at once, commands are never stuck behind the cap, and the
server recovers when the load goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import trio

from actorhttp import Application, Request, Response
from actorhttp.messages import StartServer
from actorhttp.testing import TestClient

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 20


class Gate:
    """Handlers that wait for ``open``, counting how many run at once."""

    def __init__(self) -> None:
        self.open = trio.Event()
        self.running = 0
        self.most = 0
        self.started = 0

    async def handler(self, request: Request) -> Response:
        self.running += 1
        self.started += 1
        self.most = max(self.most, self.running)
        try:
            await self.open.wait()
        finally:
            self.running -= 1
        return Response(text="done")


async def hello(request: Request) -> Response:
    return Response(text="hello")


def wide_client(client: TestClient) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    return httpx.AsyncClient(base_url=client.server.url, limits=limits, timeout=TIMEOUT)


async def answer(stream: trio.SocketStream, request: bytes) -> bytes:
    """Send ``request`` (if any) and read until one whole hello answer is in."""
    if request:
        await stream.send_all(request)
    received = b""
    while not received.endswith(b"hello"):
        chunk = await stream.receive_some(1024)
        assert chunk, f"closed after {received!r}"
        received += chunk
    return received


async def wait_for(condition: Callable[[], bool]) -> None:
    while not condition():
        await trio.sleep(0.01)


async def test_past_the_cap_and_the_queue_requests_get_503_at_once(
    actorhttp_client: Client,
) -> None:
    gate = Gate()
    app = Application()
    app.router.add_get("/gate", gate.handler)
    app.router.add_get("/", hello)
    client = await actorhttp_client(app, max_concurrency=2, max_queued=2)
    statuses: list[int] = []
    async with wide_client(client) as http:

        async def get() -> None:
            statuses.append((await http.get("/gate")).status_code)

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                for _ in range(2):
                    nursery.start_soon(get)
                await wait_for(lambda: gate.running == 2)
                for _ in range(2):
                    nursery.start_soon(get)
                await trio.sleep(0.3)  # these two now wait in the mailbox
                assert gate.started == 2
                refused = await http.get("/gate")  # past the cap and the queue
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
                assert not statuses  # the admitted ones are still waiting
                gate.open.set()
            assert statuses == [200] * 4
            assert gate.most == 2
            assert (await http.get("/")).text == "hello"  # recovered


async def test_a_flood_gets_answers_or_clean_refusals_and_the_server_recovers(
    actorhttp_client: Client,
) -> None:
    async def slow(request: Request) -> Response:
        await trio.sleep(0.05)
        return Response(text="ok")

    app = Application()
    app.router.add_get("/slow", slow)
    client = await actorhttp_client(app, max_concurrency=4, max_queued=8)
    statuses: list[int] = []
    async with wide_client(client) as http:

        async def get() -> None:
            response = await http.get("/slow")
            if response.status_code == 503:
                assert response.headers["retry-after"] == "1"
            else:
                assert response.text == "ok"
            statuses.append(response.status_code)

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                for _ in range(200):
                    nursery.start_soon(get)
            assert len(statuses) == 200
            assert set(statuses) <= {200, 503}
            assert statuses.count(200) >= 12  # at least the cap and the queue's worth
            assert statuses.count(503) > 0
            for _ in range(5):  # calm again: every request is served
                assert (await http.get("/slow")).status_code == 200


async def test_commands_are_not_held_back_by_the_cap(actorhttp_client: Client) -> None:
    gate = Gate()
    app = Application()
    app.router.add_get("/gate", gate.handler)
    client = await actorhttp_client(app, max_concurrency=1, max_queued=4)
    statuses: list[int] = []
    async with wide_client(client) as http:

        async def get() -> None:
            try:
                statuses.append((await http.get("/gate")).status_code)
            except httpx.HTTPError:
                statuses.append(0)  # cut by the stop: fine, it was not served

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(get)
                await wait_for(lambda: gate.running == 1)
                await trio.sleep(0.2)
                # AddRoute goes through the router's mailbox, past the queued requests.
                await client.server.add_route("GET", "/added", hello)
                # The stop's CancelRequests likewise: the stop completes within its grace.
                await client.server.stop(grace=0.5)
            assert gate.most == 1
            assert len(statuses) == 3


async def test_max_connections_keeps_new_connections_in_the_backlog(
    actorhttp_client: Client,
) -> None:
    app = Application()
    app.router.add_get("/", hello)
    client = await actorhttp_client(app, max_connections=2)
    port = client.server.port
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        first = await trio.open_tcp_stream("127.0.0.1", port)
        second = await trio.open_tcp_stream("127.0.0.1", port)
        for stream in (first, second):
            assert b"HTTP/1.1 200 " in await answer(stream, request)
        third = await trio.open_tcp_stream("127.0.0.1", port)  # the kernel's backlog takes it
        await third.send_all(request)
        with trio.move_on_after(0.5) as waited:
            await third.receive_some(1024)
        assert waited.cancelled_caught  # not accepted while two are open
        await first.aclose()
        assert b"HTTP/1.1 200 " in await answer(third, b"")  # a slot freed: now it is served
        await second.aclose()
        await third.aclose()


@pytest.mark.parametrize(
    ("setting", "bad"),
    [
        ("max_concurrency", 0),
        ("max_concurrency", 1.5),
        ("max_queued", 0),
        ("max_queued", None),
        ("max_connections", -1),
        ("max_connections", True),
    ],
)
def test_overload_settings_are_checked(setting: str, bad: Any) -> None:
    with pytest.raises(ValueError, match=setting):
        StartServer(**{setting: bad})
