"""The actor layer through the driver, and the server's lifecycle: start, stop, restart."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import httpx
import pytest
import trio

from actorhttp import Application, Request, Response, http_driver, run_app, serve
from actorhttp._transports._hypercorn import HARD_STOP_MARGIN
from actorhttp.messages import (
    AddRoute,
    CommandFailed,
    Event,
    ServerStarted,
    ServerStopped,
    StartServer,
    StopServer,
    TransportName,
)

from .rawhttp import exchange, status_of

TIMEOUT = 10
Item = Event | Request


@asynccontextmanager
async def driver() -> AsyncIterator[
    tuple[trio.MemorySendChannel[object], trio.MemoryReceiveChannel[Item]]
]:
    async with trio.open_nursery() as nursery:
        commands, outbox = await nursery.start(http_driver)
        async with commands:
            yield commands, outbox


async def next_event(outbox: trio.MemoryReceiveChannel[Item]) -> Item:
    with trio.fail_after(5):
        return await outbox.receive()


async def started(outbox: trio.MemoryReceiveChannel[Item]) -> str:
    event = await next_event(outbox)
    assert isinstance(event, ServerStarted), event
    return event.urls[0]


async def test_driver_echo_as_in_the_design(transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with driver() as (commands, requests), trio.open_nursery() as nursery:
            await commands.send(AddRoute(methods=["GET"], path="/echo/{what}"))
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            answers: list[str] = []
            async for item in requests:
                if isinstance(item, ServerStarted):

                    async def client(url: str) -> None:
                        async with httpx.AsyncClient(base_url=url) as http:
                            answers.append((await http.get("/echo/hi%20there")).text)
                            answers.append(str((await http.get("/other")).status_code))
                        await commands.send(StopServer(grace=1))

                    assert item.urls[0].startswith("http://127.0.0.1:")
                    assert not item.urls[0].endswith(":0")
                    nursery.start_soon(client, item.urls[0])
                elif isinstance(item, ServerStopped):
                    break
                elif isinstance(item, Request):
                    await item.reply.send(Response(text=item.match_info["what"]))
                    await item.reply.aclose()
    assert answers == ["hi there", "404"]


async def test_start_while_running_is_refused_and_server_keeps_serving(
    transport: TransportName,
) -> None:
    async def ok(request: Request) -> Response:
        return Response(text="ok")

    with trio.fail_after(TIMEOUT):
        async with driver() as (commands, outbox):
            await commands.send(AddRoute("GET", "/", ok))
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            url = await started(outbox)
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            failure = await next_event(outbox)
            async with httpx.AsyncClient() as http:
                still = await http.get(url)
            await commands.send(StopServer(grace=1))
            assert isinstance(await next_event(outbox), ServerStopped)
    assert isinstance(failure, CommandFailed)
    assert "already running" in failure.error
    assert still.text == "ok"


async def test_bad_commands_get_command_failed() -> None:
    with trio.fail_after(TIMEOUT):
        async with driver() as (commands, outbox):
            await commands.send(StopServer())
            not_running = await next_event(outbox)
            await commands.send("start please")
            unknown = await next_event(outbox)
            await commands.send(AddRoute("GET", "no-slash"))
            bad_path = await next_event(outbox)
            await commands.send(AddRoute("GET", "/twice"))
            await commands.send(AddRoute(["GET", "POST"], "/twice"))
            twice = await next_event(outbox)
    assert isinstance(not_running, CommandFailed)
    assert "cannot stop: the server is idle" in not_running.error
    assert isinstance(unknown, CommandFailed)
    assert "unknown command str" in unknown.error
    assert isinstance(bad_path, CommandFailed)
    assert "must start with '/'" in bad_path.error
    assert isinstance(twice, CommandFailed)
    assert "['GET']" in twice.error
    assert "/twice" in twice.error


async def test_port_in_use_is_command_failed(transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        port = listener.socket.getsockname()[1]
        async with listener, driver() as (commands, outbox):
            await commands.send(StartServer(host="127.0.0.1", port=port, transport=transport))
            failure = await next_event(outbox)
    assert isinstance(failure, CommandFailed)
    assert f"cannot listen on 127.0.0.1:{port}" in failure.error


async def test_stopped_server_starts_again_and_routes_added_while_serving(
    transport: TransportName,
) -> None:
    async def first(request: Request) -> Response:
        return Response(text="first")

    async def later(request: Request) -> Response:
        return Response(text="later")

    with trio.fail_after(TIMEOUT):
        async with driver() as (commands, outbox), httpx.AsyncClient() as http:
            await commands.send(AddRoute("GET", "/first", first))
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            url = await started(outbox)
            before = await http.get(url + "/later")
            await commands.send(AddRoute("GET", "/later", later))
            await trio.testing.wait_all_tasks_blocked()
            after = await http.get(url + "/later")
            await commands.send(StopServer(grace=1))
            assert isinstance(await next_event(outbox), ServerStopped)
            with pytest.raises(httpx.ConnectError):
                await http.get(url + "/first")
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            again = await started(outbox)
            restarted = await http.get(again + "/first")
            await commands.send(StopServer(grace=1))
            assert isinstance(await next_event(outbox), ServerStopped)
    assert before.status_code == 404
    assert after.text == "later"
    assert restarted.text == "first"


async def test_reply_closed_without_response_is_500(transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with driver() as (commands, outbox), httpx.AsyncClient() as http:
            await commands.send(AddRoute("GET", "/drop"))
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            url = await started(outbox)
            async with trio.open_nursery() as nursery:

                async def drop_one() -> None:
                    request = await next_event(outbox)
                    assert isinstance(request, Request)
                    await request.reply.aclose()

                nursery.start_soon(drop_one)
                response = await http.get(url + "/drop")
            await commands.send(StopServer(grace=1))
    assert response.status_code == 500


async def test_closing_commands_stops_the_server_and_ends_the_outbox(
    transport: TransportName,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            commands, outbox = await nursery.start(http_driver)
            await commands.send(StartServer(host="127.0.0.1", port=0, transport=transport))
            await started(outbox)
            await commands.aclose()
            rest = [item async for item in outbox]
    assert rest == [ServerStopped()]


# -- stopping ----------------------------------------------------------------


async def test_stop_lets_in_flight_requests_finish_and_refuses_new_connections(
    transport: str,
) -> None:
    entered = trio.Event()

    async def slow(request: Request) -> Response:
        entered.set()
        await trio.sleep(0.5)
        return Response(text="finished")

    app = Application()
    app.router.add_get("/slow", slow)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(serve, app, "127.0.0.1", 0, transport=transport))
            results: list[str] = []

            async def slow_request() -> None:
                async with httpx.AsyncClient() as http:
                    results.append((await http.get(server.url + "/slow")).text)

            nursery.start_soon(slow_request)
            await entered.wait()
            nursery.start_soon(server.stop, 5)
            await trio.sleep(0.1)
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient() as http:
                    await http.get(server.url + "/slow")
            await server.wait_stopped()
    assert results == ["finished"]


async def test_stop_cuts_requests_past_grace_and_cancels_handlers(transport: TransportName) -> None:
    entered = trio.Event()
    cancelled = trio.Event()

    async def forever(request: Request) -> Response:
        entered.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    app = Application()
    app.router.add_get("/forever", forever)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(serve, app, "127.0.0.1", 0, transport=transport))
            outcome: list[bytes] = []

            async def hanging_request() -> None:
                outcome.append(
                    await exchange(server.port, b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
                )

            nursery.start_soon(hanging_request)
            await entered.wait()
            begun = trio.current_time()
            await server.stop(grace=0.3)
            took = trio.current_time() - begun
    assert 0.3 <= took < 0.3 + HARD_STOP_MARGIN + 1
    assert cancelled.is_set()
    assert outcome == [b""]  # cut: closed with no answer


async def test_stop_does_not_hang_on_a_client_that_stops_reading(transport: TransportName) -> None:
    big = b"x" * (64 * 1024 * 1024)

    async def huge(request: Request) -> Response:
        return Response(body=big)

    app = Application()
    app.router.add_get("/huge", huge)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(serve, app, "127.0.0.1", 0, transport=transport))
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await stream.send_all(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
                first = await stream.receive_some(1024)  # then never read again
                await trio.sleep(0.2)
                begun = trio.current_time()
                await server.stop(grace=0.2)
                took = trio.current_time() - begun
    assert status_of(first) == 200
    assert took < 0.2 + HARD_STOP_MARGIN + 2


async def test_serve_reports_bad_settings_and_busy_ports(transport: TransportName) -> None:
    app = Application()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            with pytest.raises(ValueError, match="port"):
                await nursery.start(serve, app, "127.0.0.1", 70000)
            with pytest.raises(ValueError, match="keep_alive_timeout"):
                await nursery.start(
                    lambda task_status: serve(
                        app, "127.0.0.1", 0, keep_alive_timeout=-1, task_status=task_status
                    )
                )
            listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
            async with listener:
                port = listener.socket.getsockname()[1]
                with pytest.raises(OSError, match="cannot listen"):
                    await nursery.start(partial(serve, app, "127.0.0.1", port, transport=transport))


async def test_server_handle_reports_port_and_urls(transport: TransportName) -> None:
    app = Application()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(serve, app, "127.0.0.1", 0, transport=transport))
            assert server.port > 0
            assert server.urls == (f"http://127.0.0.1:{server.port}",)
            raw = await exchange(
                server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            await server.stop(grace=1)
            await server.stop(grace=1)  # stopping twice is harmless
    assert status_of(raw) == 404


async def test_serve_on_given_sockets_leaves_them_open_and_listening(
    transport: TransportName,
) -> None:
    """aiohttp's ``sock=``: serve a socket bound elsewhere (a supervisor's, systemd's)."""
    app = Application()
    app.router.add_get("/", _ok)
    given = socket.create_server(("127.0.0.1", 0))
    port = given.getsockname()[1]
    with given, trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(serve, app, sock=given, transport=transport))
            assert server.urls == (f"http://127.0.0.1:{port}",)
            raw = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await server.stop(grace=1)
        assert status_of(raw) == 200
        # Ours to close: still listening, so a connection waits in its backlog.
        assert given.fileno() != -1
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


async def _ok(request: Request) -> Response:
    return Response(text="ok")


def test_bad_sockets_are_refused_naming_the_problem() -> None:
    good = socket.create_server(("127.0.0.1", 0))
    with good, pytest.raises(ValueError, match="must be a tuple of sockets"):
        StartServer(sockets=[good])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is closed"):
        StartServer(sockets=(good,))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        with pytest.raises(ValueError, match="not a TCP socket"):
            StartServer(sockets=(udp,))
    with socket.socket() as unbound, pytest.raises(ValueError, match="not bound to a port"):
        StartServer(sockets=(unbound,))
    with socket.socket() as sock, pytest.raises(TypeError, match="serves those sockets only"):
        run_app(Application(), sock=sock, port=8080)
