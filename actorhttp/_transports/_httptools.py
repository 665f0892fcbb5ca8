"""The fast HTTP/1.1 transport: trio streams around the sans-IO :class:`~._h1conn.H1Connection`.

It listens (in clear text or TLS), runs a :class:`~._h1task.ConnectionTask`
for each connection, and at a stop lets them finish within the grace.

Deadlines come from the state machine (``H1Connection.deadline``); a reaper
task compares them with the clock a few times a second and cancels the
connections whose deadline has passed, instead of moving a timer in trio's
deadline heap for every request.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

import trio

from ..messages import StartServer
from ._base import (
    Deliver,
    Live,
    Peer,
    StopSignal,
    accept_connections,
    bound_address,
    connection_slots,
    open_listeners,
    tls_context,
)
from ._h1task import ConnectionTask, h1_limits, h1_timeouts
from ._h2 import h2_settings
from ._rate import RateMeter
from ._tlsio import TLSStream
from ._wshub import WSHub

__all__ = ["serve_httptools", "serve_stream"]

logger = logging.getLogger("actorhttp")


def reaper_tick(settings: StartServer) -> float:
    """How often deadlines are checked: a tenth of the shortest, within 10 ms .. 1 s."""
    shortest = min(settings.keep_alive_timeout, settings.header_timeout)
    return min(max(shortest / 10, 0.01), 1.0)


async def reap(live: set[Live], tick: float) -> None:
    """Cancel the connections whose state-machine deadline has passed, every ``tick`` s."""
    while True:
        await trio.sleep(tick)
        now = trio.current_time()
        for connection in live:
            if connection.deadline <= now:
                connection.scope.cancel()


async def serve_stream(
    stream: trio.abc.Stream,
    deliver: Deliver,
    settings: StartServer,
    *,
    peer: Peer = None,
) -> None:
    """Serve one connection over any trio stream until it ends (deadlines included).

    What ``serve_httptools`` does for each accepted socket, for a stream of
    your own: a ``trio.testing.memory_stream_pair`` half, a TLS stream.
    """
    live: set[Live] = set()
    async with trio.open_nursery() as nursery:
        hub = WSHub(nursery)
        connection = ConnectionTask(
            stream,
            peer,
            settings,
            h1_limits(settings),
            h1_timeouts(settings),
            deliver,
            hub,
            h2=h2_settings(settings),
        )
        nursery.start_soon(reap, live, reaper_tick(settings))
        nursery.start_soon(hub.run)
        await connection.run(live)
        nursery.cancel_scope.cancel()


async def serve_httptools(
    settings: StartServer,
    deliver: Deliver,
    stop: StopSignal,
    *,
    task_status: trio.TaskStatus[tuple[str, ...]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop``; then stop accepting, drain for its grace, cut.

    With TLS (``ssl_context`` or ``certfile``) each connection is a
    :class:`~._tlsio.TLSStream`, whose handshake happens on the first read,
    within the connection's first deadline; ALPN then says HTTP/2 (``h2``)
    or HTTP/1.1. Certificate files make a context offering both; a
    program's own ``ssl_context`` offers what its ALPN list says. In clear
    text a client that starts with the h2c preface gets HTTP/2.
    """
    context = tls_context(settings, alpn=["h2", "http/1.1"])
    listeners = await open_listeners(settings)
    scheme = "https" if context is not None else "http"
    urls = tuple(f"{scheme}://{bound_address(listener.socket)}" for listener in listeners)
    limits = h1_limits(settings)
    timeouts = h1_timeouts(settings)
    h2 = h2_settings(settings)
    live: set[Live] = set()

    def connection(stream: trio.SocketStream, peer: Peer) -> Coroutine[Any, Any, None]:
        # Not async itself: the task starts straight in run(), one frame less per connection.
        if context is None:
            plain = ConnectionTask(stream, peer, settings, limits, timeouts, deliver, hub, h2=h2)
            return plain.run(live)
        # Metered below TLS, on the socket, where what the client acknowledged shows.
        minimum = settings.min_response_rate
        meter = RateMeter(minimum) if minimum is not None else None
        secure = TLSStream(stream, context, meter, peer)
        return ConnectionTask(
            secure,
            peer,
            settings,
            limits,
            timeouts,
            deliver,
            hub,
            "https",
            meter_sends=False,
            h2=h2,
        ).run(live)

    async with trio.open_nursery() as reaping:
        reaping.start_soon(reap, live, reaper_tick(settings))
        async with trio.open_nursery() as connections:
            # The hub's flushers write to the connections' sockets: they stop with them.
            hub = WSHub(connections, stop.going_away)
            reaping.start_soon(hub.run)
            async with trio.open_nursery() as accepting:
                slots = connection_slots(settings)
                for listener in listeners:
                    accepting.start_soon(
                        accept_connections, listener, connection, connections, slots
                    )
                task_status.started(urls)
                grace = await stop.wait()
                accepting.cancel_scope.cancel()  # closes the listeners: no new connections
            for each in list(live):
                if each.stop():
                    each.scope.cancel()  # idle keep-alive connections close now
            # Sends here are not shielded, so cancelling at the deadline cuts everything.
            connections.cancel_scope.deadline = trio.current_time() + grace
        reaping.cancel_scope.cancel()
