"""Application: the route table, middlewares, settings and lifecycle hooks of one app.

It is also a plain ASGI application, so ``hypercorn -k trio module:app``
serves it; :func:`actorhttp.serve` serves it through the server actor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from ._router import Router
from ._routing import Middleware, ResourceRoute, UrlDispatcher
from ._static import static_handler
from ._transports import AsgiBridge
from ._web._request import Request
from ._web._response import StreamResponse
from .messages import Target

__all__ = ["AppRouter", "Application"]

logger = logging.getLogger("actorhttp")
Hook = Callable[["Application"], Awaitable[None]]


class AppRouter(UrlDispatcher[Target]):
    """``app.router``: the sans-IO route table plus ``add_static``."""

    def add_static(
        self,
        prefix: str,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        follow_symlinks: bool = False,
    ) -> ResourceRoute[Target]:
        """Serve the files under ``path`` at ``prefix/...``; never a file outside ``path``."""
        prefix = prefix.rstrip("/")
        if not prefix.startswith("/"):
            raise ValueError(f"static prefix must start with '/': {prefix!r}")
        handler = static_handler(path, follow_symlinks=follow_symlinks)
        return self.add_get(prefix + "/{filename:.+}", handler, name=name)


class Application(MutableMapping[str, Any]):
    """aiohttp's ``web.Application`` for trio.

    ``middlewares`` wrap every handler, the first listed outermost;
    ``client_max_size`` bounds request bodies (413 past it). ``app["key"]``
    holds shared state; ``on_startup`` and ``on_cleanup`` hooks run around
    serving.
    """

    def __init__(
        self,
        *,
        middlewares: Iterable[Middleware[Request, StreamResponse]] = (),
        client_max_size: int | None = 1024**2,
    ) -> None:
        self.middlewares = tuple(middlewares)
        for mw in self.middlewares:
            if not callable(mw):
                raise TypeError(f"middleware {mw!r} is not callable")
        if client_max_size is not None and (
            isinstance(client_max_size, bool)
            or not isinstance(client_max_size, int)
            or client_max_size <= 0
        ):
            raise ValueError(
                f"client_max_size must be a positive int or None, not {client_max_size!r}"
            )
        self.client_max_size = client_max_size
        self.router = AppRouter()
        self.on_startup: list[Hook] = []
        self.on_cleanup: list[Hook] = []
        self._state: dict[str, Any] = {}
        self._asgi: AsgiBridge | None = None

    # -- state -------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    def __repr__(self) -> str:
        return f"<Application {len(self.router.resources())} resources>"

    # -- lifecycle -----------------------------------------------------------

    def make_router(self) -> Router:
        """A router actor for this app: its route table, middlewares, and ``request.app``."""
        return Router(self.router, middlewares=self.middlewares, app=self)

    async def startup(self) -> None:
        for hook in self.on_startup:
            await hook(self)

    async def cleanup(self) -> None:
        """Run every cleanup hook, last added first, even if one fails; then raise its error."""
        errors: list[Exception] = []
        for hook in reversed(self.on_cleanup):
            try:
                await hook(self)
            except Exception as exc:
                logger.exception("cleanup hook %r failed", hook)
                errors.append(exc)
        if errors:
            raise ExceptionGroup("on_cleanup hooks failed", errors)

    # -- ASGI ----------------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """ASGI entry: hypercorn's own workers serve the app through this."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._asgi is None:
            # Under a plain ASGI server each request already has its own task: run inline.
            self._asgi = AsgiBridge(
                self.make_router().respond, client_max_size=self.client_max_size
            )
        await self._asgi(scope, receive, send)

    async def _lifespan(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.cleanup()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return
            await trio.lowlevel.checkpoint()
