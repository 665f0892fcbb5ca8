"""The server actor: commands in, a transport's lifecycle, request messages out.

It reads StartServer, StopServer and AddRoute from its command channel. A
server runs in a task of the actor's nursery; while it runs, every HTTP
request becomes a Request message sent to the router actor. Every command
the actor cannot carry out becomes a CommandFailed event; the actor goes on.

Lifecycle: idle ──StartServer──▶ running ──StopServer──▶ stopping ──▶ idle
(ServerStarted on entering running, ServerStopped on returning to idle).
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Mapping

import trio

from ._pool import MailboxSender
from ._transports import TRANSPORTS, StopSignal, Transport
from ._web._exceptions import HTTPServiceUnavailable
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

__all__ = ["ServerActor", "ServerState"]

logger = logging.getLogger("actorhttp")

RETRY_AFTER = "1"
"""Seconds a shed request's client is told to wait (the Retry-After of its 503)."""
SHED_LOG_INTERVAL = 10.0


class ServerState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    STOPPING = "stopping"


class ServerActor:
    """Owns at most one running server at a time; a stopped one can be started again.

    ``router`` is the router actor's inbox and ``events`` the outbox for
    ServerStarted, ServerStopped and CommandFailed; :meth:`run` closes both
    when its command channel ends.
    """

    def __init__(
        self,
        router: MailboxSender[Request | AddRoute | CancelRequests],
        events: trio.MemorySendChannel[Event],
        *,
        transports: Mapping[str, Transport] = TRANSPORTS,
        going_away: trio.Event | None = None,
    ) -> None:
        """``going_away``: when to close open WebSockets with 1001 (default: with the stop)."""
        self._going_away = going_away
        self._router = router
        self._events = events
        self._transports = transports
        self.state = ServerState.IDLE
        self._stop: StopSignal | None = None
        self._settings: StartServer | None = None
        self._last_shed_log = -math.inf

    async def run(
        self,
        commands: trio.MemoryReceiveChannel[object],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Carry out commands until the channel ends; then stop any server, gracefully."""
        async with self._router, self._events, trio.open_nursery() as nursery:
            task_status.started()
            async with commands:
                async for command in commands:
                    await self._dispatch(command, nursery)
            if self._stop is not None:
                self._stop.set(StopServer().grace)

    async def _dispatch(self, command: object, nursery: trio.Nursery) -> None:
        if isinstance(command, StartServer):
            await self._start(command, nursery)
        elif isinstance(command, StopServer):
            if self.state is not ServerState.RUNNING or self._stop is None:
                await self._fail(command, f"cannot stop: the server is {self.state.value}")
                return
            self.state = ServerState.STOPPING
            self._stop.set(command.grace)
        elif isinstance(command, AddRoute):
            await self._router.send(command)
        else:
            await self._fail(
                command,
                f"unknown command {type(command).__name__}: "
                "send StartServer, StopServer or AddRoute",
            )

    async def _start(self, command: StartServer, nursery: trio.Nursery) -> None:
        if self.state is not ServerState.IDLE:
            assert self._settings is not None
            where = f"{self._settings.host}:{self._settings.port}"
            await self._fail(
                command, f"cannot start: a server is already {self.state.value} ({where})"
            )
            return
        transport = self._transports.get(command.transport_name)
        if transport is None:
            await self._fail(command, f"unknown transport {command.transport_name!r}")
            return
        stop = StopSignal(self._going_away)
        try:
            urls = await nursery.start(self._serve, transport, command, stop)
        except OSError as exc:
            await self._fail(command, f"cannot listen on {command.host}:{command.port}: {exc}")
            return
        self.state, self._stop, self._settings = ServerState.RUNNING, stop, command
        await self._emit(ServerStarted(urls))

    async def _serve(
        self,
        transport: Transport,
        settings: StartServer,
        stop: StopSignal,
        *,
        task_status: trio.TaskStatus[tuple[str, ...]],
    ) -> None:
        try:
            await transport(settings, self._deliver, stop, task_status=task_status)
        finally:
            if self._stop is stop:  # a server that failed to start never became ours
                with trio.CancelScope(shield=True):
                    await self._router.send(CancelRequests())
                self.state, self._stop, self._settings = ServerState.IDLE, None, None
                await self._emit(ServerStopped())

    async def _deliver(self, request: Request) -> None:
        # Hand over without a scheduler round trip; the transport's wait for the
        # reply is the checkpoint. A full inbox means overload: shed the request at
        # once (503) rather than queue it in the connection without bound.
        try:
            self._router.send_nowait(request)
        except trio.WouldBlock:
            self._shed(request)

    def _shed(self, request: Request) -> None:
        now = trio.current_time()
        if now - self._last_shed_log >= SHED_LOG_INTERVAL:
            self._last_shed_log = now
            logger.warning(
                "overloaded: the router actor's inbox is full; answering 503 to %s %s "
                "(logged at most once every %g s)",
                request.method,
                request.path,
                SHED_LOG_INTERVAL,
            )
        request.reply.send_nowait(
            HTTPServiceUnavailable(
                headers={"Retry-After": RETRY_AFTER}, text="overloaded: try again shortly"
            )
        )

    async def _emit(self, event: Event) -> None:
        try:
            await self._events.send(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            logger.debug("event %r dropped: nobody reads the outbox", event)

    async def _fail(self, command: object, error: str) -> None:
        logger.error("%s", error)
        await self._emit(CommandFailed(command, error))
