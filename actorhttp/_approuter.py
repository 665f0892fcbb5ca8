"""AppRouter: an Application's router, aiohttp's ``app.router`` with its ``add_*`` methods.

The sans-IO ``UrlDispatcher`` that every lookup goes through, plus what
aiohttp's ``UrlDispatcher`` adds for building an app: views, WebSocket
routes served by actors, static files, route tables. Frozen with its
Application: from then on routes come as ``AddRoute`` commands, through
the router actor.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ._actors._named import NamedActor
from ._routing import METH_ANY, Resource, ResourceRoute, UrlDispatcher
from ._routing._dispatcher import ExpectHandler
from ._static import StaticResource
from ._web._fileresponse import DEFAULT_CHUNK_SIZE
from ._wsactor import DEFAULT_INBOX_SIZE, DEFAULT_OUTBOX_SIZE, websocket_route
from .messages import Target, WebSocketMailbox

__all__ = ["FROZEN_ROUTER", "AppRouter"]

FROZEN_ROUTER = (
    "the application is being served, so its router is frozen: add a route while serving "
    "with the AddRoute command (await server.add_route(...), or send AddRoute(...) to the "
    "server actor), which the router actor takes at once"
)


class AppRouter(UrlDispatcher[Target]):
    """``app.router``: the sans-IO route table, ``add_static``, frozen once served."""

    def __init__(self) -> None:
        super().__init__()
        self._frozen = False

    def freeze(self) -> None:
        """Refuse changes from now on (serving does this once the app's startup has run)."""
        self._frozen = True

    @property
    def frozen(self) -> bool:
        """True once the app is served: adding a resource then raises ``RuntimeError``."""
        return self._frozen

    def add_resource(self, path: str, *, name: str | None = None) -> Resource[Target]:
        """The resource for ``path``; ``RuntimeError`` naming AddRoute once the app is served."""
        if self._frozen:
            raise RuntimeError(FROZEN_ROUTER)
        return super().add_resource(path, name=name)

    def register_resource(self, resource: Resource[Target]) -> Resource[Target]:
        """Add a resource made elsewhere; ``RuntimeError`` once the app is served."""
        if self._frozen:
            raise RuntimeError(FROZEN_ROUTER)
        return super().register_resource(resource)

    def _add_resource_while_serving(
        self, path: str, *, name: str | None = None
    ) -> Resource[Target]:
        """The router actor's way in: an AddRoute command changes a served table."""
        frozen, self._frozen = self._frozen, False  # nothing runs between these lines
        try:
            return super().add_resource(path, name=name)
        finally:
            self._frozen = frozen

    def add_options(
        self,
        path: str,
        handler: Target,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[Target]:
        """OPTIONS on ``path``."""
        return self.add_route(
            "OPTIONS",
            path,
            handler,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_view(
        self,
        path: str,
        handler: Any,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[Target]:
        """A class-based view (``web.View``) for every verb on ``path`` (a ``*`` route)."""
        return self.add_route(
            METH_ANY,
            path,
            handler,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_websocket(
        self,
        path: str,
        mailbox: WebSocketMailbox,
        *,
        name: str | None = None,
        inbox_size: int = DEFAULT_INBOX_SIZE,
        outbox_size: int = DEFAULT_OUTBOX_SIZE,
        **ws_options: Any,
    ) -> ResourceRoute[Target]:
        """A WebSocket route served by an actor: each socket goes to ``mailbox`` as a message.

        The actor gets a ``WebSocketConnection`` with an ``inbox`` of the client's
        messages (``inbox_size`` at most) and an ``outbox`` for its own
        (``outbox_size`` at most); ``ws_options`` are ``WebSocketResponse``'s. A
        GET route (no HEAD); middlewares wrap it. See ``actorhttp._wsactor``.
        """
        target: object = mailbox  # typed as a mailbox, but a NamedActor is a route target too
        if isinstance(target, NamedActor):
            raise TypeError(
                f"{mailbox!r} has one incarnation in the cluster, maybe in another process, "
                "and a WebSocket cannot be forwarded there: give add_websocket an actor "
                "declared without cluster_name (a room per worker: actorhttp.open_room)"
            )
        handler = websocket_route(
            mailbox, inbox_size=inbox_size, outbox_size=outbox_size, **ws_options
        )
        return self.add_get(path, handler, name=name, allow_head=False)

    def add_routes(self, routes: Iterable[Any]) -> list[ResourceRoute[Target]]:
        """Register route definitions (``web.get(...)``, a ``RouteTableDef``...)."""
        added: list[ResourceRoute[Target]] = []
        for route_def in routes:
            added.extend(route_def.register(self))
        return added

    def add_static(
        self,
        prefix: str,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        expect_handler: ExpectHandler | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
    ) -> StaticResource:
        """Serve the files under ``path`` at ``prefix/...``; never a file outside ``path``.

        ``show_index`` lists folders as HTML; ``follow_symlinks`` lets symlinks
        lead outside the folder; ``append_version`` makes ``url_for`` add
        ``?v=<hash>``. ``ValueError`` if the folder does not exist.
        """
        if not prefix.startswith("/"):
            raise ValueError(f"static prefix must start with '/': {prefix!r}")
        if self._frozen:
            raise RuntimeError(FROZEN_ROUTER)
        resource = StaticResource(
            prefix,
            path,
            name=name,
            chunk_size=chunk_size,
            show_index=show_index,
            follow_symlinks=follow_symlinks,
            append_version=append_version,
            expect_handler=expect_handler,
        )
        self.register_resource(resource)
        return resource
