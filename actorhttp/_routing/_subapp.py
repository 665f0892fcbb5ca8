"""A sub-application's resource: every path under its prefix is resolved by its own table.

``app.add_subapp("/admin", admin)`` adds one :class:`PrefixedSubAppResource`
to the parent's table and puts the prefix in front of every route of the
sub-application's own table (as aiohttp does), so that a route resolves and
builds its URL with the full path. The sub-application owns its prefix: its
404 or 405 is the answer. Every resolution through it names it in ``apps``,
outermost first, so the router can wrap the route with each app's
middlewares and signals.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._dispatcher import UrlDispatcher
from ._prefix import PrefixResource
from ._resolution import Resolution

__all__ = ["PrefixedSubAppResource"]

T = TypeVar("T")


class PrefixedSubAppResource(PrefixResource[T]):
    """``prefix`` and everything under it belong to ``app``, resolved by ``dispatcher``."""

    __slots__ = ("app", "dispatcher")

    owns_prefix = True

    def __init__(self, prefix: str, app: Any, dispatcher: UrlDispatcher[T]) -> None:
        super().__init__(prefix)
        self.app = app
        self.dispatcher = dispatcher
        dispatcher.add_prefix(self.canonical)

    def resolve(self, method: str, path: str, host: str | None = None) -> Resolution[T]:
        """Resolve ``path`` (routing form, prefix included) in the sub-application's own table."""
        outcome = self.dispatcher.resolve_routing_path(method, path, host)
        return outcome._replace(apps=(self.app, *outcome.apps))

    def get_info(self) -> dict[str, Any]:
        """``{"app": app, "prefix": prefix}``, as aiohttp's."""
        return {"app": self.app, "prefix": self.canonical}

    def add_prefix(self, prefix: str) -> None:
        """Put ``prefix`` in front of this one and of every route of the sub-application."""
        super().add_prefix(prefix)
        self.dispatcher.add_prefix(prefix)  # the routes inside move with it

    def __repr__(self) -> str:
        return f"<PrefixedSubAppResource {self.canonical} -> {self.app!r}>"
