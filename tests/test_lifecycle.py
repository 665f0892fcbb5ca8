"""The application's lifecycle as aiohttp has it: signals, cleanup contexts, freezing, factories."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial

import httpx
import pytest
import trio

from actorhttp import web
from actorhttp._serve import PYTHON_THRESHOLDS, SERVING_THRESHOLDS, Server, _run_app
from actorhttp.messages import Handler, TransportName
from actorhttp.testing import SyncClient, TestClient, serve_app

TIMEOUT = 10
Client = Callable[..., Awaitable[TestClient]]
EVENTS = web.AppKey("events", list[str])


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def recording_app() -> web.Application:
    app = web.Application()
    app[EVENTS] = []
    app.router.add_get("/", hello)
    return app


def test_signals_run_in_order_around_serving(transport: TransportName) -> None:
    app = recording_app()
    events = app[EVENTS]

    async def note(name: str, app: web.Application) -> None:
        events.append(name)

    async def context(app: web.Application) -> AsyncIterator[None]:
        events.append("ctx enter")
        yield
        events.append("ctx exit")

    app.on_startup.append(partial(note, "startup"))
    app.cleanup_ctx.append(context)
    app.on_shutdown.append(partial(note, "shutdown"))
    app.on_cleanup.append(partial(note, "cleanup"))
    with SyncClient(app, transport=transport) as client:  # a plain test: no trio in sight
        assert client.get("/").text == "hello"
        assert events == ["ctx enter", "startup"]
    # cleanup_ctx is entered first (its hook is added at construction) and exits last
    # among cleanup hooks, in aiohttp's order.
    assert events == ["ctx enter", "startup", "shutdown", "ctx exit", "cleanup"]


async def test_startup_failing_half_way_cleans_up_started_contexts_in_reverse() -> None:
    events: list[str] = []

    def context(name: str, *, fail: bool = False) -> Callable[..., AsyncIterator[None]]:
        async def ctx(app: web.Application) -> AsyncIterator[None]:
            if fail:
                raise RuntimeError(f"{name} cannot start")
            events.append(f"{name} up")
            yield
            events.append(f"{name} down")

        return ctx

    app = web.Application()
    app.cleanup_ctx.extend([context("db"), context("cache"), context("queue", fail=True)])
    app.router.add_get("/", hello)
    with trio.fail_after(TIMEOUT), pytest.raises(RuntimeError, match="queue cannot start"):
        async with serve_app(app):
            raise AssertionError("the server must not start")
    assert events == ["db up", "cache up", "cache down", "db down"]


async def test_app_is_frozen_once_served_and_the_error_names_addroute() -> None:
    app = recording_app()
    with trio.fail_after(TIMEOUT):
        async with serve_app(app) as client:
            with pytest.raises(RuntimeError, match="AddRoute"):
                app.router.add_get("/late", hello)
            with pytest.raises(RuntimeError, match="frozen"):
                app.on_startup.append(partial(hello))
            with pytest.raises(RuntimeError, match="frozen"):
                app.middlewares.append(hello)
            with pytest.warns(DeprecationWarning, match="Changing state"):
                app[EVENTS] = []
            await client.server.add_route("GET", "/late", hello)
            late = await client.get("/late")
            with pytest.raises(RuntimeError, match="already registered"):
                await client.server.add_route("GET", "/late", hello)
    assert late.text == "hello"


def test_startup_may_still_add_state_and_routes() -> None:
    app = web.Application()

    async def on_startup(app: web.Application) -> None:
        app[EVENTS] = ["started"]
        app.router.add_get("/from-startup", hello)

    app.on_startup.append(on_startup)
    with SyncClient(app) as client:
        response = client.get("/from-startup")
    assert response.text == "hello"
    assert app[EVENTS] == ["started"]


def test_str_keys_warn_once_as_aiohttp_does() -> None:
    app = web.Application()
    with pytest.warns(web.NotAppKeyWarning, match="AppKey"):
        app["lifecycle-test-key"] = 1
    app["lifecycle-test-key"] = 2  # once per key: no second warning (warnings are errors here)
    assert app["lifecycle-test-key"] == 2
    key = web.AppKey("typed", int)
    app[key] = 3
    assert app[key] == 3
    assert "typed" in repr(key)
    assert "int" in repr(key)


async def test_on_shutdown_runs_when_the_stop_begins_not_after_the_grace() -> None:
    app = recording_app()
    release = trio.Event()
    entered = trio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(text="finished")

    async def on_shutdown(app: web.Application) -> None:
        app[EVENTS].append("shutdown")
        release.set()  # e.g. closing the WebSockets that keep handlers busy

    app.router.add_get("/slow", slow)
    app.on_shutdown.append(on_shutdown)
    answers: list[str] = []
    with trio.fail_after(TIMEOUT):
        async with serve_app(app) as client, trio.open_nursery() as nursery:

            async def ask() -> None:
                answers.append((await client.get("/slow")).text)

            nursery.start_soon(ask)
            await entered.wait()
            started = trio.current_time()
            await client.server.stop(grace=30)
            took = trio.current_time() - started
    assert answers == ["finished"]
    assert app[EVENTS] == ["shutdown"]
    assert took < 5  # the stop did not wait out its 30 s grace


async def test_on_response_prepare_sees_every_response(actorhttp_client: Client) -> None:
    app = web.Application()

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Prepared"] = request.path

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"streamed")
        return response

    app.on_response_prepare.append(stamp)
    app.router.add_get("/", hello)
    app.router.add_get("/stream", stream)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        plain = await client.get("/")
        streamed = await client.get("/stream")
        missing = await client.get("/missing")
    assert plain.headers["x-prepared"] == "/"
    assert streamed.headers["x-prepared"] == "/stream"
    assert streamed.text == "streamed"
    assert missing.headers["x-prepared"] == "/missing"


async def test_old_style_factories_run_first_listed_outermost(
    actorhttp_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    built: list[str] = []

    def factory(name: str) -> Callable[[web.Application, Handler], Awaitable[Handler]]:
        async def make(app: web.Application, handler: Handler) -> Handler:
            built.append(name)
            assert isinstance(app, web.Application)

            async def wrapped(request: web.Request) -> web.StreamResponse:
                calls.append(name)
                return await handler(request)

            return wrapped

        return make

    app = web.Application(middlewares=[factory("logger1"), factory("logger2")])
    app.router.add_get("/", hello)
    with trio.fail_after(TIMEOUT):
        with pytest.warns(DeprecationWarning, match="old-style middleware"):
            client = await actorhttp_client(app)
        for _ in range(3):
            assert (await client.get("/")).text == "hello"
    assert calls == ["logger1", "logger2"] * 3
    assert built == ["logger2", "logger1"]  # built once per route, innermost first


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"keep_alive": 5}, "keep_alive"), ({"nonsense": 1, "max_hedaers": 3}, "max_hedaers")],
)
async def test_serve_refuses_unknown_settings_up_front(
    settings: dict[str, object], message: str
) -> None:
    app = recording_app()
    with trio.fail_after(TIMEOUT), pytest.raises(TypeError, match=message):
        async with serve_app(app, **settings):
            raise AssertionError("must not serve")
    assert not app.frozen  # nothing ran


def test_run_app_refuses_unknown_settings_before_running() -> None:
    with pytest.raises(TypeError, match="shutdown_timout"):
        web.run_app(recording_app(), shutdown_timout=3)


async def test_aiohttp_setting_names_are_understood() -> None:
    app = recording_app()
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, keepalive_timeout=1, max_line_size=100) as client:
            ok = await client.get("/")
            long = await client.get("/" + "x" * 200)
    assert ok.status_code == 200
    assert long.status_code == 414


async def test_a_failing_on_shutdown_is_logged_and_the_stop_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = recording_app()

    async def broken(app: web.Application) -> None:
        raise ValueError("shutdown hook broke")

    app.on_shutdown.append(broken)
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR, logger="actorhttp"):
        async with serve_app(app) as client:
            assert (await client.get("/")).status_code == 200
    assert any("on_shutdown failed" in r.getMessage() for r in caplog.records)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=client.server.url) as http:
            await http.get("/")


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_garbage_collector_is_paused_while_a_server_stops(enabled: bool) -> None:
    """From the stop's request until the server has stopped (two servers stopping at once:
    until both have); left as it was, and alone if the program had it disabled."""
    seen: list[tuple[str, bool]] = []
    first, second = recording_app(), recording_app()
    entered, release = trio.Event(), trio.Event()

    async def on_shutdown(app: web.Application) -> None:
        seen.append(("shutdown", gc.isenabled()))

    async def held(app: web.Application) -> None:
        entered.set()
        await release.wait()  # the second server's stop lasts until the first's is over

    first.on_shutdown.append(on_shutdown)
    second.on_shutdown.append(held)
    was = gc.isenabled()
    if not enabled:
        gc.disable()
    try:
        with trio.fail_after(TIMEOUT):
            async with serve_app(first) as one, serve_app(second) as two:
                seen.append(("serving", gc.isenabled()))
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(two.server.stop)
                    await entered.wait()
                    await one.server.stop()
                    seen.append(("one stopped", gc.isenabled()))
                    release.set()
            seen.append(("both stopped", gc.isenabled()))
    finally:
        if was:
            gc.enable()
    assert seen == [
        ("serving", enabled),
        ("shutdown", False),
        ("one stopped", False),
        ("both stopped", enabled),
    ]


@pytest.fixture
def thresholds() -> Iterator[None]:
    """The collector as it was, after the test: run_app sets its thresholds, and freezes
    what is alive (which gc.get_objects() would no longer list: test_ws_cost.py uses it)."""
    was = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    try:
        yield
    finally:
        gc.set_threshold(*was)
        gc.unfreeze()


@pytest.mark.usefixtures("thresholds")
@pytest.mark.parametrize(
    ("before", "on_startup", "serving"),
    [
        (PYTHON_THRESHOLDS, None, SERVING_THRESHOLDS),  # Python's: full passes made rarer
        ((1000, 20, 20), None, (1000, 20, 20)),  # the program's own: left alone
        (PYTHON_THRESHOLDS, PYTHON_THRESHOLDS, PYTHON_THRESHOLDS),  # set back at startup
    ],
)
async def test_run_app_makes_full_collections_rarer_unless_the_program_says_otherwise(
    before: tuple[int, int, int],
    on_startup: tuple[int, int, int] | None,
    serving: tuple[int, int, int],
) -> None:
    seen: list[tuple[int, int, int]] = []
    app = recording_app()
    if on_startup is not None:

        async def set_thresholds(app: web.Application) -> None:
            gc.set_threshold(*on_startup)

        app.on_startup.append(set_thresholds)

    async def alongside(server: Server) -> None:
        seen.append(gc.get_threshold())
        await server.stop(1)

    gc.set_threshold(*before)
    with trio.fail_after(TIMEOUT):
        await _run_app(app, "127.0.0.1", 0, 1, None, False, {}, alongside)
    assert seen == [serving]
