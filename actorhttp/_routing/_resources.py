"""Resources and routes, as in aiohttp: a resource is a path, a route is a method on it."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping
from functools import wraps
from typing import Any, ClassVar, Generic, TypeVar, cast

from yarl import URL

from ._pattern import Pattern, parse_pattern, routing_path

__all__ = [
    "AbstractResource",
    "AbstractRoute",
    "METH_ANY",
    "DynamicResource",
    "PlainResource",
    "Resource",
    "ResourceRoute",
    "check_expect_handler",
    "check_method",
    "check_timeout",
]

T = TypeVar("T")
METH_ANY = "*"
_METHOD_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def check_method(method: str) -> str:
    """``method`` upper-cased; ``ValueError`` unless it is an HTTP method token (or ``*``)."""
    upper = method.upper() if isinstance(method, str) else ""
    if not upper or not set(upper) <= _METHOD_CHARS:
        raise ValueError(f"{method!r} is not an HTTP method")
    return upper


def check_timeout(name: str, value: float | None) -> float | None:
    """``value`` as seconds, or ``None``; ``ValueError`` naming ``name`` unless positive."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds or None, not {value!r}")
    return float(value)


def _is_bare_function(target: object) -> bool:
    """A plain ``def`` handler (aiohttp accepts one, deprecated): not async, a view or a mailbox."""
    if not callable(target) or isinstance(target, type) or inspect.iscoroutinefunction(target):
        return False
    # An object whose ``__call__`` is ``async def`` is an async handler too.
    return not inspect.iscoroutinefunction(type(target).__call__)


def _bare_function_handler(function: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
    """``function`` as an async handler (its name and attributes kept), as aiohttp wraps it."""

    @wraps(function)
    async def bare_function(request: Any) -> Any:
        result = function(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    return bare_function


def check_expect_handler(expect_handler: object) -> None:
    """``TypeError`` unless ``expect_handler`` is ``None`` or an ``async def``, as aiohttp."""
    if expect_handler is not None and not inspect.iscoroutinefunction(expect_handler):
        raise TypeError(f"Coroutine is expected, got {expect_handler!r}")


class ResourceRoute(Generic[T]):
    """One method of one resource, leading to ``target`` (a handler or an actor's mailbox).

    ``handler_timeout`` (seconds, or ``None`` for the application's) bounds the
    time the target may take to answer. ``expect_handler`` (aiohttp's) is an
    ``async def f(request)`` run before the middlewares for a request with an
    ``Expect`` field: a response it returns (or an ``HTTPException`` it
    raises) is the answer, and the body is never asked for; ``None`` lets the
    request go on. A plain ``def`` handler is accepted with aiohttp's
    ``DeprecationWarning`` and called as if it were ``async``.
    """

    __slots__ = ("expect_handler", "handler_timeout", "method", "resource", "target")

    def __init__(
        self,
        method: str,
        target: T,
        resource: Resource[T],
        *,
        handler_timeout: float | None = None,
        expect_handler: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> None:
        check_expect_handler(expect_handler)
        if _is_bare_function(target):
            warnings.warn(
                "Bare functions are deprecated, use async ones", DeprecationWarning, stacklevel=4
            )
            target = cast(T, _bare_function_handler(cast(Callable[[Any], Any], target)))
        self.method = method
        self.target = target
        self.resource = resource
        self.handler_timeout = check_timeout("handler_timeout", handler_timeout)
        self.expect_handler = expect_handler

    @property
    def handler(self) -> T:
        """The route's target: a handler, a ``web.View`` class, or an actor's mailbox."""
        return self.target

    @property
    def name(self) -> str | None:
        """The resource's name (``app.router[name]``), or None."""
        return self.resource.name

    def url_for(self, **parts: str) -> URL:
        """The resource's URL with ``parts`` filled in; ``ValueError`` for a bad part."""
        return self.resource.url_for(**parts)

    def get_info(self) -> dict[str, Any]:
        """The resource's description (see :meth:`Resource.get_info`), as aiohttp's."""
        return self.resource.get_info()

    def __repr__(self) -> str:
        return f"<ResourceRoute {self.method} {self.resource.canonical} -> {self.target!r}>"


class Resource(Generic[T]):
    """A path in the route table, holding at most one route per method."""

    __slots__ = ("_routes", "name", "order")

    #: Filed in the path index; a resource matched otherwise (by Host) says False.
    indexed: ClassVar[bool] = True

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name
        self.order = 0  # registration order, set by the dispatcher
        self._routes: dict[str, ResourceRoute[T]] = {}

    @property
    def canonical(self) -> str:
        """The path as added, prefix included; a part as ``{name}``, without its regex."""
        raise NotImplementedError

    def match(self, path: str) -> Mapping[str, str] | None:
        """``match_info`` for a routing-form path, or ``None``."""
        raise NotImplementedError

    def raw_match(self, path: str) -> bool:
        """True when ``path`` is this resource's path as it was added (aiohttp's test for
        "this path is already routed"); a prefix resource never raw-matches."""
        return False

    def get_info(self) -> dict[str, Any]:
        """What aiohttp's ``get_info()`` gives: ``{"path": ...}`` for a fixed path,
        ``{"formatter": ..., "pattern": ...}`` for a dynamic one, and so on."""
        raise NotImplementedError

    def url_for(self, **parts: str) -> URL:
        """The URL of this resource with ``parts`` filled in (a yarl.URL: ``.with_query`` works).

        ``ValueError`` for a missing, unexpected or non-matching part.
        """
        raise NotImplementedError

    def add_prefix(self, prefix: str) -> None:
        """Put ``prefix`` in front of this resource's path (mounting a sub-application)."""
        raise NotImplementedError

    def add_route(
        self,
        method: str,
        target: T,
        *,
        handler_timeout: float | None = None,
        expect_handler: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> ResourceRoute[T]:
        """Add ``method``; ``RuntimeError`` if this resource already has it."""
        method = check_method(method)
        check_timeout("handler_timeout", handler_timeout)
        if method in self._routes:
            raise RuntimeError(
                f"added route will never be executed: method {method} is already "
                f"registered on {self.canonical!r}"
            )
        route = ResourceRoute(
            method, target, self, handler_timeout=handler_timeout, expect_handler=expect_handler
        )
        self._routes[method] = route
        return route

    def route_for(self, method: str) -> ResourceRoute[T] | None:
        """The route for ``method``, else the ``*`` route, else None."""
        return self._routes.get(method) or self._routes.get(METH_ANY)

    @property
    def allowed_methods(self) -> frozenset[str]:
        """The methods this resource has routes for (a 405's ``Allow``)."""
        return frozenset(self._routes)

    @property
    def routes(self) -> tuple[ResourceRoute[T], ...]:
        """This resource's routes, in the order they were added."""
        return tuple(self._routes.values())

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[ResourceRoute[T]]:
        return iter(tuple(self._routes.values()))  # a copy: adding while iterating is safe

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<{type(self).__name__}{name} {self.canonical}>"


class PlainResource(Resource[T]):
    """A fixed path, matched by equality in routing form (so ``/caf%C3%A9`` is ``/café``)."""

    __slots__ = ("_path", "key")

    def __init__(self, path: str, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._path = path
        self.key = routing_path(path)

    @property
    def canonical(self) -> str:
        return self._path

    def match(self, path: str) -> Mapping[str, str] | None:
        return {} if path == self.key else None

    def raw_match(self, path: str) -> bool:
        """True when ``path`` is this path."""
        return path == self._path

    def get_info(self) -> dict[str, Any]:
        """``{"path": path}``."""
        return {"path": self._path}

    def url_for(self, **parts: str) -> URL:
        """The path itself; ``ValueError`` if any part is given."""
        if parts:
            raise ValueError(f"url_for({self._path!r}) takes no parts, got {sorted(parts)}")
        return URL.build(path=self._path, encoded=True)

    def add_prefix(self, prefix: str) -> None:
        self._path = prefix + self._path
        self.key = routing_path(self._path)


class DynamicResource(Resource[T]):
    """A path with ``{name}`` or ``{name:regex}`` parts."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: Pattern, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.pattern = pattern

    @property
    def canonical(self) -> str:
        """The path with each part as ``{name}`` (``/items/{id}`` for ``/items/{id:\\d+}``)."""
        return self.pattern.formatter

    def match(self, path: str) -> Mapping[str, str] | None:
        return self.pattern.match(path)

    def raw_match(self, path: str) -> bool:
        """True when ``path`` is this pattern as it was written (``/users/{id:\\d+}``)."""
        return path == self.pattern.path

    @property
    def formatter(self) -> str:
        """The path with each part as ``{name}``, regexes left out (``/users/{id}``)."""
        return self.pattern.formatter

    def get_info(self) -> dict[str, Any]:
        """``{"formatter": ..., "pattern": ...}``: the path with ``{name}`` parts, and the
        compiled regex that matches it (on the decoded path)."""
        return {"formatter": self.formatter, "pattern": self.pattern.regex}

    def url_for(self, **parts: str) -> URL:
        """The path with each ``{name}`` filled in, percent-encoded.

        ``ValueError`` for a missing or unexpected part, or one its regex refuses.
        """
        return URL.build(path=self.pattern.format(parts), encoded=True)

    def add_prefix(self, prefix: str) -> None:
        pattern = parse_pattern(prefix + self.pattern.path)
        assert pattern is not None  # the prefix is literal: still dynamic
        self.pattern = pattern


AbstractResource = Resource
"""aiohttp's name for the base of every resource."""
AbstractRoute = ResourceRoute
"""aiohttp's name for the base of every route."""


def make_resource(path: str, *, name: str | None = None) -> Resource[T]:
    pattern = parse_pattern(path)
    if pattern is None:
        return PlainResource(path, name=name)
    return DynamicResource(pattern, name=name)
