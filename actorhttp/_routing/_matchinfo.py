"""What a handler sees as ``request.match_info``: aiohttp's ``UrlMappingMatchInfo``.

A dict of the path's ``{name}`` parts, plus the ``route`` that answers, the
``apps`` the request went through (root first) and the ``current_app``:
the app whose middlewares or handler is running now. A request that no
route answers gets a :class:`SystemRoute`, whose ``http_exception`` is the
404 or 405 (``normalize_path_middleware`` looks for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SystemRoute", "UrlMappingMatchInfo"]


class SystemRoute:
    """The route of a request nothing answers: it raises ``http_exception`` (404 or 405)."""

    __slots__ = ("http_exception",)

    method = "*"
    resource = None
    name = None

    def __init__(self, http_exception: BaseException) -> None:
        self.http_exception = http_exception

    @property
    def handler(self) -> None:
        return None

    @property
    def status(self) -> int:
        return int(getattr(self.http_exception, "status", 500))

    def get_info(self) -> dict[str, Any]:
        return {"http_exception": self.http_exception}

    def __repr__(self) -> str:
        return f"<SystemRoute {self.status}: {self.http_exception}>"


class UrlMappingMatchInfo(dict[str, str]):
    """``match_info``: the decoded path parts, with the route and the apps it went through."""

    __slots__ = ("_apps", "_current_app", "_frozen", "_route")

    def __init__(
        self,
        match_dict: Mapping[str, str],
        route: Any,
        apps: tuple[Any, ...] = (),
        current_app: Any = None,
        frozen: bool = False,
    ) -> None:
        """``frozen``: ``apps`` is final (the router's, before any handler runs, as aiohttp)."""
        super().__init__(match_dict)
        self._route = route
        self._apps = apps
        self._current_app = current_app
        self._frozen = frozen

    @property
    def route(self) -> Any:
        """The route that matched (a 404 or 405 has a system route here)."""
        return self._route

    @property
    def handler(self) -> Any:
        """The matched route's handler (or mailbox), or None."""
        return getattr(self._route, "handler", None)

    @property
    def http_exception(self) -> BaseException | None:
        """The 404 or 405 of a request nothing answers; ``None`` when a route does."""
        return getattr(self._route, "http_exception", None)

    @property
    def apps(self) -> tuple[Any, ...]:
        """The apps on the request's way, the root application first."""
        return self._apps

    def add_app(self, app: Any) -> None:
        """Put ``app`` outermost; the first app added is the current one."""
        if self._frozen:
            raise RuntimeError("Cannot change apps stack after .freeze() call")
        if self._current_app is None:
            self._current_app = app
        self._apps = (app, *self._apps)

    @property
    def current_app(self) -> Any:
        """The application whose middleware or handler runs now (a sub-application inside it)."""
        return self._current_app

    @current_app.setter
    def current_app(self, app: Any) -> None:
        if app not in self._apps:
            raise RuntimeError(f"Expected one of the following apps {self._apps!r}, got {app!r}")
        self._current_app = app

    def freeze(self) -> None:
        """Refuse further changes to ``apps`` and ``current_app``."""
        self._frozen = True

    def get_info(self) -> dict[str, Any]:
        """The matched resource's description (``path`` or ``formatter`` and ``pattern``...)."""
        info = getattr(self._route, "get_info", None)
        return info() if info is not None else {}

    def __repr__(self) -> str:
        return f"<MatchInfo {dict.__repr__(self)}: {self._route!r}>"
