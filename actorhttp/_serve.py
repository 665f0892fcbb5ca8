"""serve and run_app: an Application served by a server actor and a router actor.

``serve`` is made for ``nursery.start``: it freezes the app, runs its
startup, returns a :class:`Server` handle once listening, and returns
itself once the server has stopped and the app's cleanup has run. A stop
(``server.stop(grace)``) closes the listeners at once, runs ``on_shutdown``
while in-flight requests get ``grace`` seconds, then cuts what is left.
``run_app`` is a script's main around it, as aiohttp's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import inspect
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import trio

from ._accesslog import AbstractAccessLogger, AccessLogger, access_logger, make_access_logger
from ._actors import ActorGroup
from ._app import Application
from ._broker import Broker, open_broker
from ._router import open_router_mailbox
from ._server import ServerActor
from .messages import (
    AddRoute,
    CommandFailed,
    Event,
    ServerStarted,
    ServerStopped,
    StartServer,
    StopServer,
    Target,
)

__all__ = ["Server", "run_app", "serve"]

server_logger = logging.getLogger("actorhttp")
CLEANUP_TIMEOUT = 30.0
SETTINGS = frozenset(f.name for f in dataclasses.fields(StartServer)) - {"host", "port"}
# aiohttp's names for settings we have under StartServer's names.
AIOHTTP_ALIASES = {
    "keepalive_timeout": "keep_alive_timeout",
    "max_line_size": "max_request_line",
    "max_field_size": "max_header_line",
}


class _CollectorPause:
    """The cyclic garbage collector, paused while a server of this process is stopping.

    A stop ends every connection at once, and what that allocates tends to
    trigger a full collection, which walks every object of every connection
    still open (half a second with 10,000 WebSockets) just before they all
    go. So from a stop's request until the server has stopped (its grace at
    most) the collector does not run; the cyclic garbage made meanwhile is
    collected once it runs again (memory holds it until then: at most what
    the connections held). Left alone if the program has it disabled.
    """

    __slots__ = ("paused", "stopping")

    def __init__(self) -> None:
        self.stopping = 0  # servers whose stop is under way
        self.paused = False  # we disabled it (and enable it when the last stop ends)

    def begin(self) -> None:
        self.stopping += 1
        if self.stopping == 1 and gc.isenabled():
            gc.disable()
            self.paused = True

    def end(self) -> None:
        self.stopping -= 1
        if self.stopping == 0 and self.paused:
            self.paused = False
            gc.enable()


_COLLECTOR = _CollectorPause()

PYTHON_THRESHOLDS = (700, 10, 10)
"""The cyclic collector's thresholds as Python sets them (``gc.get_threshold()``)."""
SERVING_THRESHOLDS = (700, 10, 100)
"""What :func:`run_app` sets them to before the app starts, if the program left Python's."""


def _rare_full_passes() -> None:
    """Before the app starts, as the owner of the process: make the collector's full
    passes rarer, unless the program set thresholds of its own.

    A full pass comes after 100 passes of the middle generation, not Python's
    10 (``SERVING_THRESHOLDS``; the young passes are unchanged, and a full pass
    still waits until the objects it would walk have grown by a quarter). What
    a server holds grows in bursts: while it accepted 10,000 WebSockets,
    Python's thresholds made six full passes over every socket it already
    held, a quarter of the CPU the accepting took (aiohttp's alike); with
    these, none. What that does to memory: a reference cycle that has
    outlived two young passes and then dies waits up to ten times longer to
    be freed (until 700,000 more container objects, rather than 70,000, have
    been made and kept). A WebSocket's handshake leaves no cycle behind
    (tests/test_ws_cost.py); the ones a program's own code makes wait. An
    ``on_startup`` handler runs after this: thresholds it sets stay.
    """
    if gc.get_threshold() == PYTHON_THRESHOLDS:
        gc.set_threshold(*SERVING_THRESHOLDS)


class Server:
    """What ``await nursery.start(serve, app, host, port)`` returns: the bound server."""

    def __init__(self, commands: trio.MemorySendChannel[object], urls: tuple[str, ...]) -> None:
        self._commands = commands
        self.urls = urls
        self._stop_requested = trio.Event()
        self._grace = 10.0
        self._stopped = trio.Event()

    @property
    def port(self) -> int:
        """The port really bound (the free one picked for port 0)."""
        port = urlsplit(self.urls[0]).port
        if port is None:
            raise RuntimeError(f"no port in {self.urls[0]}")
        return port

    @property
    def url(self) -> str:
        """The first URL served (``http://host:port``; ``urls`` has one per listener)."""
        return self.urls[0]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, run ``on_shutdown``, give in-flight requests ``grace`` s; wait.

        Meanwhile the cyclic garbage collector is paused (a full pass over
        every connection about to close would only delay the stop); it runs
        again once the server has stopped, unless the program had it disabled.
        """
        StopServer(grace)  # checks grace before anything happens
        self._request_stop(grace)
        await self._stopped.wait()

    def _request_stop(self, grace: float = 10.0) -> None:
        if not self._stop_requested.is_set() and not self._stopped.is_set():
            self._grace = grace
            self._stop_requested.set()
            _COLLECTOR.begin()  # ended when the server has stopped (serve's finally)

    async def wait_stopped(self) -> None:
        """Wait until the server has stopped, for whatever reason, without asking it to."""
        await self._stopped.wait()

    async def add_route(
        self,
        methods: str | Iterable[str],
        path: str,
        handler: Target,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
    ) -> None:
        """Add a route while serving (the AddRoute command); raises what refused it."""
        outcome: list[Exception | None] = []
        done = trio.Event()

        def taken(error: Exception | None) -> None:
            outcome.append(error)
            done.set()

        command = AddRoute(
            methods, path, handler, name=name, done=taken, handler_timeout=handler_timeout
        )
        try:
            await self._commands.send(command)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise RuntimeError("the server has stopped: no route can be added") from exc
        await done.wait()
        if outcome[0] is not None:
            raise outcome[0]

    def __repr__(self) -> str:
        return f"<Server {' '.join(self.urls)}>"


# aiohttp's request-handler settings that serve() applies itself (the router's loggers).
HANDLER_SETTINGS = frozenset({"logger", "access_log", "access_log_class", "access_log_format"})
# serve()'s own keywords beside the StartServer settings.
SERVE_KEYWORDS = HANDLER_SETTINGS | {"broker"}


def start_command(app: Application, host: str, port: int, settings: dict[str, Any]) -> StartServer:
    """StartServer from serve()'s keywords and ``app.handler_args``.

    ``TypeError`` naming any it does not know. The keywords win over the
    app's ``handler_args``, as aiohttp's ``run_app`` keywords do; the loggers
    among them (:data:`HANDLER_SETTINGS`) are serve()'s own, not the server's.
    """
    merged = {
        AIOHTTP_ALIASES.get(k, k): v
        for k, v in {**app.handler_args, **settings}.items()
        if k not in HANDLER_SETTINGS
    }
    if "sock" in merged:  # aiohttp's name: one socket or several
        sock = merged.pop("sock")
        if isinstance(sock, socket.socket):
            sock = (sock,)
        merged["sockets"] = tuple(sock) if isinstance(sock, Iterable) else sock
    unknown = sorted(set(merged) - SETTINGS)
    if unknown:
        known = sorted(SETTINGS | set(AIOHTTP_ALIASES) | {"sock"})
        raise TypeError(f"unknown server settings {unknown}; known: {known}")
    merged.setdefault("client_max_size", app.client_max_size)
    return StartServer(host=host, port=port, **merged)


async def serve(
    app: Application,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    access_log: logging.Logger | None = None,
    access_log_class: type[AbstractAccessLogger] = AccessLogger,
    access_log_format: str = AccessLogger.LOG_FORMAT,
    logger: logging.Logger | None = None,
    broker: Broker | str | None = None,
    task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
    **settings: Any,
) -> None:
    """Serve ``app`` until stopped; ``settings`` are StartServer's limits.

    No access log unless ``access_log`` names a logger (``run_app`` logs to
    ``actorhttp.access``, as aiohttp's to ``aiohttp.access``), written by
    ``access_log_class(access_log, access_log_format)``. ``logger`` gets what
    handlers raise (the ``actorhttp`` logger by default). The app's
    ``handler_args`` (aiohttp's request-handler settings) apply where these
    keywords are left at their defaults. ``broker`` (a
    :class:`~actorhttp.broker.Broker` or a URL) replaces the app's own.

    In order: the broker connects, the app's startup runs, its declared
    actors start (``app.add_actor``), the server listens. A stop closes
    the listeners, runs ``on_shutdown``, closes the actors' mailboxes, gives
    requests and actors ``grace`` seconds, then the cleanup runs and the
    broker lets go.

    Raises ``TypeError`` for an unknown setting and ``ValueError`` for a bad
    one before anything runs, ``BrokerUnavailable`` (naming its URL) when
    the broker cannot be reached, ``OSError`` when the address cannot be
    bound, and whatever the app's startup raises (its cleanup runs first).
    """
    start = start_command(app, host, port, settings)
    handler_args = app.handler_args
    access = make_access_logger(
        access_log if access_log is not None else handler_args.get("access_log"),
        access_log_class
        if access_log_class is not AccessLogger
        else handler_args.get("access_log_class", AccessLogger),
        access_log_format
        if access_log_format != AccessLogger.LOG_FORMAT
        else handler_args.get("access_log_format", AccessLogger.LOG_FORMAT),
    )
    errors = logger if logger is not None else handler_args.get("logger", server_logger)
    active = app.broker if broker is None else open_broker(broker)
    app._use_broker(active)
    async with active:
        try:
            await app.startup()  # may still add state and routes, as in aiohttp
            app.freeze()
            await _serve_started(app, start, task_status, access, errors)
        finally:
            with trio.move_on_after(CLEANUP_TIMEOUT) as scope:
                scope.shield = True
                await app.cleanup()


async def _serve_started(
    app: Application,
    start: StartServer,
    task_status: trio.TaskStatus[Server],
    access: AbstractAccessLogger | None,
    errors: logging.Logger,
) -> None:
    commands_send, commands_receive = trio.open_memory_channel[object](16)
    events_send, events_receive = trio.open_memory_channel[Event](16)
    router_send, router_receive = open_router_mailbox(
        start.max_queued, max_concurrency=start.max_concurrency
    )
    server: Server | None = None
    failure: str | None = None
    actors = ActorGroup(app._all_actors(), app.broker, app)
    try:
        async with trio.open_nursery() as nursery:
            router = app.make_router()
            router.log_access(access)
            router.log_errors(errors)
            await nursery.start(router.run, router_receive)
            await nursery.start(actors.run)  # before listening: routes to them work at once
            going_away = trio.Event()  # set once on_shutdown has run: then WebSockets get 1001
            actor = ServerActor(router_send, events_send, going_away=going_away)
            await nursery.start(actor.run, commands_receive)
            try:
                async with commands_send, events_receive:
                    await commands_send.send(start)
                    first = await events_receive.receive()
                    if isinstance(first, CommandFailed):
                        failure = first.error  # closing the commands on the way out ends both
                        return
                    assert isinstance(first, ServerStarted), first
                    server = Server(commands_send, first.urls)
                    router.on_graceful_exit = server._request_stop
                    task_status.started(server)
                    async with trio.open_nursery() as stopping:
                        stopping.start_soon(
                            _stop_when_asked, app, server, commands_send, going_away, actors
                        )
                        async for event in events_receive:
                            if isinstance(event, ServerStopped):
                                break
                            if isinstance(event, CommandFailed):
                                server_logger.error("server command failed: %s", event.error)
                        if not server._stop_requested.is_set():
                            stopping.cancel_scope.cancel()  # stopped without being asked
            finally:
                # The server has stopped (or never started). The actors' mailboxes close
                # now if the stop has not closed them; what is left of the grace is theirs.
                await actors.stop(0.0 if server is None else server._grace)
    finally:
        if server is not None:
            if server._stop_requested.is_set() and not server._stopped.is_set():
                _COLLECTOR.end()
            server._stopped.set()
        if failure is not None:
            raise OSError(failure)


async def _stop_when_asked(
    app: Application,
    server: Server,
    commands: trio.MemorySendChannel[object],
    going_away: trio.Event,
    actors: ActorGroup,
) -> None:
    await server._stop_requested.wait()
    await commands.send(StopServer(server._grace))  # the listeners close now
    app._stopping.set()  # long-lived handlers (streams, WebSockets) may end themselves
    try:
        await app.shutdown()  # meanwhile in-flight requests have their grace
    except Exception:
        server_logger.exception("on_shutdown failed")
    finally:
        actors.close(server._grace)  # a room says goodbye to its sockets before the 1001 below
        going_away.set()  # WebSockets on_shutdown left open get close 1001 now


def run_app(
    app: Application | Awaitable[Application],
    *,
    host: str | None = None,
    port: int | None = None,
    shutdown_timeout: float = 60.0,
    keepalive_timeout: float = 75.0,
    print: Callable[..., None] | None = print,
    backlog: int = 128,
    handle_signals: bool = True,
    handler_cancellation: bool = False,
    access_log: logging.Logger | None = access_logger,
    access_log_class: type[AbstractAccessLogger] = AccessLogger,
    access_log_format: str = AccessLogger.LOG_FORMAT,
    broker: Broker | str | None = None,
    loop: object = None,
    **settings: Any,
) -> None:
    """A script's main, as aiohttp's: serve ``app`` until Ctrl-C or SIGTERM.

    ``app`` may be an Application or an awaitable that makes one. The
    first signal stops gracefully (``on_shutdown`` runs, in-flight requests
    get ``shutdown_timeout`` seconds); a second one cuts them at once.
    Defaults as aiohttp: ``0.0.0.0:8080``, keep-alive 75 s, an access log
    to the ``actorhttp.access`` logger at INFO (``access_log=None``: none;
    it costs nothing while that logger drops INFO). As the owner of
    the process it also moves everything alive once serving has begun out
    of the garbage collector's full passes (``gc.freeze()``), and makes those
    passes rarer (``gc.set_threshold(700, 10, 100)`` before the app starts,
    unless the program set thresholds of its own; ``on_startup`` may set
    others; see ``docs/aiohttp-users.md``). Unknown
    keywords raise ``TypeError`` naming them, before anything runs.
    ``broker`` replaces the app's (``serve``'s keyword); a broker that cannot
    be reached raises ``BrokerUnavailable`` naming its URL.
    """
    if loop is not None:
        raise TypeError("run_app(loop=...) has no meaning on trio: it runs its own trio.run")
    make_access_logger(access_log, access_log_class, access_log_format)  # fail fast
    if broker is not None:
        settings["broker"] = open_broker(broker)  # a bad URL fails now
    settings = {
        "keep_alive_timeout": keepalive_timeout,
        "backlog": backlog,
        "handler_cancellation": handler_cancellation,
        "access_log": access_log,
        "access_log_class": access_log_class,
        "access_log_format": access_log_format,
        **settings,
    }
    if "sock" in settings and (host is not None or port is not None):
        raise TypeError("run_app(sock=...) serves those sockets only: leave out host and port")
    if isinstance(app, Application):
        limits = {k: v for k, v in settings.items() if k not in SERVE_KEYWORDS}
        start_command(app, host or "0.0.0.0", port or 8080, limits)  # fail fast
    trio.run(
        partial(
            _run_app,
            app,
            host or "0.0.0.0",
            8080 if port is None else port,
            shutdown_timeout,
            print,
            handle_signals,
            settings,
        )
    )


async def _run_app(
    app: Application | Awaitable[Application],
    host: str,
    port: int,
    shutdown_timeout: float,
    print: Callable[..., None] | None,
    handle_signals: bool,
    settings: dict[str, Any],
    alongside: Callable[[Server], Awaitable[None]] | None = None,
) -> None:
    """run_app's trio part; ``alongside(server)`` runs beside the server once it listens.

    (The CLI's worker process uses ``alongside`` to report that it is ready
    and to stop the server when its supervisor is gone.)
    """
    _rare_full_passes()
    if inspect.isawaitable(app):
        app = await app
    if not isinstance(app, Application):
        raise TypeError(f"run_app needs a web.Application, not {app!r}")
    with contextlib.ExitStack() as stack:
        if handle_signals:
            received = stack.enter_context(trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM))
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(partial(serve, app, host, port, **settings))
            # Everything alive now (modules, the app, its routes) lives as long as the
            # process: keep it out of full collections, which otherwise walk it all and
            # pause every request in flight (12 ms p99 under load, measured).
            gc.freeze()
            if print is not None:
                print(f"======== Running on {', '.join(server.urls)} ========")
                print("(Press CTRL+C to quit)")
                sys.stdout.flush()

            async def on_signals() -> None:
                signalled = 0
                async for _ in received:
                    signalled += 1
                    if signalled == 1:
                        nursery.start_soon(server.stop, shutdown_timeout)
                    else:
                        nursery.cancel_scope.cancel()  # a second signal: no more waiting

            if handle_signals:
                nursery.start_soon(on_signals)
            if alongside is not None:
                nursery.start_soon(alongside, server)
            await server.wait_stopped()
            nursery.cancel_scope.cancel()
