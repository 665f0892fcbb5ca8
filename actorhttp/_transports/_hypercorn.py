"""The hypercorn transport: hypercorn's trio connection handler, driven through ASGI.

HTTP/1.1 (h11), HTTP/2 (h2), TLS. The accept loop is ours rather than
``hypercorn.trio.serve``'s for one reason: hypercorn shields each socket send
from cancellation, so a client that stops reading a response would keep
``serve`` from ever returning. Owning the accepted streams lets a stop close
them outright once the grace period (plus a margin) is over. Everything per
connection is hypercorn's own ``TCPServer``, which only also tells the
connection's :class:`~._eofgate.EofGate` when a request is in flight.
"""

from __future__ import annotations

import logging

import trio
from hypercorn.config import Config
from hypercorn.events import Closed, Updated
from hypercorn.events import Event as HypercornEvent
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app

from .._web._transport import ConnectionTransport
from ..messages import StartServer
from ._asgi import AsgiBridge
from ._base import (
    Deliver,
    Peer,
    StopSignal,
    accept_connections,
    bound_address,
    connection_slots,
    open_listeners,
    tls_context,
)
from ._eofgate import EOF_GATE, EofGate
from ._h1 import H1Limits
from ._rate import RateMeter
from ._sockio import SerialSendStream

__all__ = [
    "HARD_STOP_MARGIN",
    "hypercorn_config",
    "serve_hypercorn",
]

HARD_STOP_MARGIN = 1.0
"""Seconds past the grace period after which connections still open are closed outright."""

logger = logging.getLogger("actorhttp")


def hypercorn_config(settings: StartServer) -> Config:
    """hypercorn's Config for a StartServer; nothing else reads hypercorn settings."""
    config = Config()
    config.h11_max_incomplete_size = settings.max_header_size
    config.keep_alive_timeout = settings.keep_alive_timeout
    config.read_timeout = settings.read_timeout  # type: ignore[assignment]
    config.h2_max_concurrent_streams = settings.h2_max_concurrent_streams
    config.errorlog = logging.getLogger("actorhttp.hypercorn")
    config.accesslog = None
    return config


async def serve_hypercorn(
    settings: StartServer,
    deliver: Deliver,
    stop: StopSignal,
    *,
    task_status: trio.TaskStatus[tuple[str, ...]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop``; then stop accepting, drain for its grace, cut, close."""
    config = hypercorn_config(settings)
    # Each connection's request.transport, found by the client address the scope names.
    transports: dict[tuple[str, int], ConnectionTransport] = {}
    bridge = AsgiBridge(
        deliver,
        going_away=stop.going_away,
        handler_cancellation=settings.handler_cancellation,
        client_max_size=settings.client_max_size,
        min_request_body_rate=settings.min_request_body_rate,
        auto_decompress=settings.auto_decompress,
        read_bufsize=settings.read_bufsize,
        limits=H1Limits(
            max_request_line=settings.max_request_line,
            max_header_line=settings.max_header_line,
            max_headers=settings.max_headers,
            max_header_size=settings.max_header_size,
        ),
        transports=transports,
    )
    app = wrap_app(bridge, 0, "asgi")
    ssl_context = tls_context(settings, alpn=["h2", "http/1.1"])
    # Binds now (port 0 gets its real port here); trio closes what it opened if a bind fails.
    sockets = await open_listeners(settings)
    scheme = "https" if ssl_context is not None else "http"
    urls = [f"{scheme}://{bound_address(listener.socket)}" for listener in sockets]

    context = WorkerContext(None)
    live: set[trio.SocketStream] = set()

    async def connection(socket_stream: trio.SocketStream, peer: Peer) -> None:
        minimum = settings.min_response_rate
        serial = SerialSendStream(
            socket_stream, RateMeter(minimum) if minimum is not None else None, peer
        )
        stream: trio.abc.Stream = serial
        ssl_stream = None
        if ssl_context is not None:
            # trio.SSLStream answers the SSLObject's questions (getpeercert, cipher, version...).
            stream = ssl_stream = trio.SSLStream(
                stream, ssl_context, server_side=True, https_compatible=True
            )
        transport = ConnectionTransport(
            socket_stream.socket, peer, ssl_context=ssl_context, ssl_object=ssl_stream
        )
        if peer is not None:
            transports[peer] = transport
        live.add(socket_stream)
        gate = EofGate()
        serial.eof_gate = gate
        try:
            server = _TCPServer(app, config, context, ConnectionState({EOF_GATE: gate}), stream)  # type: ignore[arg-type]
            server.eof_gate = gate
            await server
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("connection from %s ended by the client: %s", peer, exc)
        except Exception:
            # A bug in one connection must not end serve(); say so loudly.
            logger.exception("connection from %s failed", peer)
        finally:
            live.discard(socket_stream)
            transport.connection_lost()
            if peer is not None and transports.get(peer) is transport:
                del transports[peer]
            # A cancelled TCPServer may skip its own close (hypercorn #106).
            socket_stream.socket.close()

    async with trio.open_nursery() as guard:
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                slots = connection_slots(settings)
                for listener in sockets:
                    accepting.start_soon(
                        accept_connections, listener, connection, connections, slots
                    )
                task_status.started(tuple(urls))
                grace = await stop.wait()
                accepting.cancel_scope.cancel()  # closes the listeners: no new connections
            await context.terminated.set()  # idle keep-alive connections close now
            connections.cancel_scope.deadline = trio.current_time() + grace
            guard.start_soon(_close_after, live, grace + HARD_STOP_MARGIN)
        guard.cancel_scope.cancel()


class _TCPServer(TCPServer):
    """hypercorn's TCPServer, telling the connection's EOF gate when a request is in flight."""

    eof_gate: EofGate

    async def protocol_send(self, event: HypercornEvent) -> None:
        if isinstance(event, Updated):
            self.eof_gate.busy(not event.idle)  # sent before a request's stream is created
        elif isinstance(event, Closed):
            self.eof_gate.release()
        await super().protocol_send(event)

    async def _read_data(self) -> None:
        await super()._read_data()
        # The client's side is over. hypercorn would keep the connection until its idle
        # timer (keep_alive_timeout) ran out, and an EOF the gate held until the request
        # was answered arrives when that timer has just been restarted: stop it, so the
        # connection closes now.
        await self.idle_task.stop()


async def _close_after(live: set[trio.SocketStream], delay: float) -> None:
    """Close every stream still open after ``delay``: wakes sends hypercorn shields."""
    await trio.sleep(delay)
    for stream in list(live):
        logger.warning("closing a connection still open %.1fs after stop", delay)
        stream.socket.close()
