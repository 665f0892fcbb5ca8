"""aiohttp's abstract base classes, ``aiohttp.abc`` for actorhttp, as aiohttp programs import them.

``AbstractView`` is the base of ``web.View`` and ``AbstractAccessLogger``
the base of the access loggers (the very classes). ``AbstractRouter`` and
``AbstractMatchInfo`` are what ``isinstance`` checks against
``app.router`` and ``request.match_info``: actorhttp's ``UrlDispatcher``
and ``UrlMappingMatchInfo`` are registered as their subclasses.

Left out, with no meaning on actorhttp's server: aiohttp's client-side
ABCs (``AbstractResolver``, ``ResolveResult``, ``AbstractCookieJar``) and
``AbstractStreamWriter``, the asyncio payload writer a response writes
through (actorhttp's responses write through a bounded pipe owned by the
server). Under ``actorhttp.aiohttp_patch``, ``aiohttp.abc`` still offers
them, from aiohttp.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ._accesslog import AbstractAccessLogger
from ._routing._dispatcher import UrlDispatcher
from ._routing._matchinfo import UrlMappingMatchInfo
from ._web._view import AbstractView

__all__ = ["AbstractAccessLogger", "AbstractMatchInfo", "AbstractRouter", "AbstractView"]


class AbstractRouter(ABC):
    """What ``app.router`` is: ``isinstance(app.router, AbstractRouter)`` holds.

    actorhttp's router resolves inside the router actor, sans-IO
    (``UrlDispatcher.resolve(method, path)``); a program cannot replace it
    with a router of its own, so this class is for ``isinstance`` checks
    and annotations only.
    """

    @property
    @abstractmethod
    def frozen(self) -> bool:
        """True once the application is served and its routes can no longer change."""

    @abstractmethod
    def resolve(self, *args: Any) -> Any:
        """The route for a request (actorhttp's: ``resolve(method, raw_path)``)."""


class AbstractMatchInfo(ABC):
    """What ``request.match_info`` is: ``handler``, ``http_exception``, ``apps``, ``get_info()``."""

    @property
    @abstractmethod
    def handler(self) -> Any:
        """The matched route's handler."""

    @property
    @abstractmethod
    def http_exception(self) -> BaseException | None:
        """The 404 or 405 of a request no route answers, else ``None``."""

    @abstractmethod
    def get_info(self) -> dict[str, Any]:
        """The matched resource's description."""

    @property
    @abstractmethod
    def apps(self) -> tuple[Any, ...]:
        """The applications on the request's way, the root first."""

    @abstractmethod
    def add_app(self, app: Any) -> None:
        """Put ``app`` outermost (``RuntimeError`` once frozen)."""

    @abstractmethod
    def freeze(self) -> None:
        """Refuse further changes to ``apps``."""


AbstractRouter.register(UrlDispatcher)
AbstractMatchInfo.register(UrlMappingMatchInfo)
