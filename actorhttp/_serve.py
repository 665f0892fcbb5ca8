"""serve and run_app: an Application served by a server actor and a router actor.

``serve`` is made for ``nursery.start``: it returns a :class:`Server` handle
once listening, and returns itself once the server has stopped and the
app's cleanup hooks have run.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import trio

from ._app import Application
from ._server import ServerActor
from .messages import (
    AddRoute,
    CancelRequests,
    CommandFailed,
    Event,
    Request,
    ServerStarted,
    ServerStopped,
    StartServer,
    StopServer,
)

__all__ = ["Server", "run_app", "serve"]

logger = logging.getLogger("actorhttp")
CLEANUP_TIMEOUT = 30.0


class Server:
    """What ``await nursery.start(serve, app, host, port)`` returns: the bound server."""

    def __init__(self, commands: trio.MemorySendChannel[object], urls: tuple[str, ...]) -> None:
        self._commands = commands
        self.urls = urls
        self._stopped = trio.Event()

    @property
    def port(self) -> int:
        """The port really bound (the free one picked for port 0)."""
        port = urlsplit(self.urls[0]).port
        assert port is not None
        return port

    @property
    def url(self) -> str:
        return self.urls[0]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, give in-flight requests ``grace`` seconds, then cut them; wait."""
        command = StopServer(grace)  # checks grace before anything is sent
        if not self._stopped.is_set():
            try:
                await self._commands.send(command)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # already stopping
        await self._stopped.wait()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def __repr__(self) -> str:
        return f"<Server {' '.join(self.urls)}>"


async def serve(
    app: Application,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
    **settings: Any,
) -> None:
    """Serve ``app`` until stopped; ``settings`` are StartServer's limits.

    Raises ``ValueError`` for a bad setting and ``OSError`` when the address
    cannot be bound, before anything is started.
    """
    settings.setdefault("client_max_size", app.client_max_size)
    start = StartServer(host=host, port=port, **settings)
    await app.startup()
    try:
        await _serve_started(app, start, task_status)
    finally:
        with trio.move_on_after(CLEANUP_TIMEOUT) as scope:
            scope.shield = True
            await app.cleanup()


async def _serve_started(
    app: Application, start: StartServer, task_status: trio.TaskStatus[Server]
) -> None:
    commands_send, commands_receive = trio.open_memory_channel[object](16)
    events_send, events_receive = trio.open_memory_channel[Event](16)
    router_send, router_receive = trio.open_memory_channel[Request | AddRoute | CancelRequests](64)
    server: Server | None = None
    failure: str | None = None
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(app.make_router().run, router_receive)
            await nursery.start(ServerActor(router_send, events_send).run, commands_receive)
            async with commands_send, events_receive:
                await commands_send.send(start)
                first = await events_receive.receive()
                if isinstance(first, ServerStarted):
                    server = Server(commands_send, first.urls)
                    task_status.started(server)
                    async for event in events_receive:
                        if isinstance(event, ServerStopped):
                            break
                        if isinstance(event, CommandFailed):
                            logger.error("server command failed: %s", event.error)
                elif isinstance(first, CommandFailed):
                    failure = first.error  # closing the commands on the way out ends both actors
    finally:
        if server is not None:
            server._stopped.set()
    if failure is not None:
        raise OSError(failure)


def run_app(
    app: Application,
    host: str = "0.0.0.0",
    port: int = 8080,
    *,
    shutdown_timeout: float = 10.0,
    print: Callable[..., None] | None = print,
    **settings: Any,
) -> None:
    """A script's main: serve ``app`` until Ctrl-C or SIGTERM.

    The first signal stops gracefully (in-flight requests get
    ``shutdown_timeout`` seconds); a second one cuts them at once. As the
    owner of the process, it also moves everything alive once serving has
    begun out of the garbage collector's full passes (``gc.freeze()``).
    """
    trio.run(partial(_run_app, app, host, port, shutdown_timeout, print, settings))


async def _run_app(
    app: Application,
    host: str,
    port: int,
    shutdown_timeout: float,
    print: Callable[..., None] | None,
    settings: dict[str, Any],
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
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
                async for _ in signals:
                    signalled += 1
                    if signalled == 1:
                        nursery.start_soon(server.stop, shutdown_timeout)
                    else:
                        nursery.cancel_scope.cancel()  # a second signal: no more waiting

            nursery.start_soon(on_signals)
            await server.wait_stopped()
            nursery.cancel_scope.cancel()
