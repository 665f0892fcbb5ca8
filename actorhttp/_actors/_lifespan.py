"""An ASGI server's lifespan for an Application: the broker, the startup, the actors.

Under ``hypercorn -k trio module:app`` (or any ASGI server with lifespan
events) the lifespan task does what ``serve`` does around serving: the
startup connects the broker, runs ``on_startup`` and starts the app's
declared actors (this task hosts their nursery); the shutdown runs
``on_shutdown``, stops the actors (mailboxes closed, then
:data:`ACTOR_GRACE` seconds, then cancelled), runs the cleanup and lets the
broker go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable

from ._declare import ActorGroup

if TYPE_CHECKING:
    from .._app import Application

__all__ = ["ACTOR_GRACE", "asgi_lifespan"]

ACTOR_GRACE = 10.0
"""Seconds the actors get to end at the lifespan's shutdown, then they are cancelled."""


async def asgi_lifespan(
    app: Application, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Serve one lifespan scope for ``app``; see the module docstring."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await _served(app, receive, send)
            return
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
        await trio.lowlevel.checkpoint()


async def _served(app: Application, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    broker = app.broker
    try:
        await broker.__aenter__()
    except Exception as exc:
        app.logger.error("startup failed: %s", exc)
        await send({"type": "lifespan.startup.failed", "message": str(exc)})
        return
    try:
        try:
            await app.startup()
            app.freeze()
        except Exception as exc:
            app.logger.exception("startup failed")
            await app.cleanup()
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        failure: str | None = None
        async with trio.open_nursery() as nursery:
            actors = ActorGroup(app._all_actors(), broker, app)
            await nursery.start(actors.run)
            await send({"type": "lifespan.startup.complete"})
            while (await receive())["type"] != "lifespan.shutdown":
                await trio.lowlevel.checkpoint()
            app._stopping.set()
            try:
                await app.shutdown()
            except Exception as exc:
                failure = str(exc)
            await actors.stop(ACTOR_GRACE)
        try:
            await app.cleanup()
        except Exception as exc:
            failure = failure or str(exc)
        if failure is not None:
            await send({"type": "lifespan.shutdown.failed", "message": failure})
        else:
            await send({"type": "lifespan.shutdown.complete"})
    finally:
        with trio.CancelScope(shield=True):
            await broker.__aexit__(None, None, None)
