"""Route definitions, as aiohttp's ``web_routedef``: ``RouteTableDef`` and ``web.get(...)``.

A route definition only records what to add; ``register(router)`` adds it
(``app.add_routes(...)`` does that for each) and returns the routes added.
No I/O, nothing resolved here.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

__all__ = [
    "AbstractRouteDef",
    "RouteDef",
    "RouteTableDef",
    "StaticDef",
    "WebSocketDef",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "route",
    "static",
    "view",
]

H = TypeVar("H")
METH_ANY = "*"


class AbstractRouteDef(abc.ABC):
    """Something ``app.add_routes`` can register."""

    __slots__ = ()

    @abc.abstractmethod
    def register(self, router: Any) -> list[Any]:
        """Add this definition to ``router``; the routes it added."""


def _describe(kwargs: dict[str, Any]) -> str:
    return "".join(f", {name}={value!r}" for name, value in sorted(kwargs.items()))


@dataclass(frozen=True, slots=True, repr=False)
class RouteDef(AbstractRouteDef):
    """``method`` on ``path`` leads to ``handler`` (a handler, a ``web.View`` or a mailbox)."""

    method: str
    path: str
    handler: Any
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        name = getattr(self.handler, "__name__", repr(self.handler))
        return f"<RouteDef {self.method} {self.path} -> {name!r}{_describe(self.kwargs)}>"

    def register(self, router: Any) -> list[Any]:
        """Add the route to ``router`` (``app.add_routes`` calls this); the routes added."""
        add = getattr(router, "add_" + self.method.lower(), None)
        if add is not None and self.method != METH_ANY:
            return [add(self.path, self.handler, **self.kwargs)]
        if self.method == METH_ANY and _is_view(self.handler):
            return [router.add_view(self.path, self.handler, **self.kwargs)]
        return [router.add_route(self.method, self.path, self.handler, **self.kwargs)]


def _is_view(handler: object) -> bool:
    return isinstance(handler, type) and hasattr(handler, "__await__")


@dataclass(frozen=True, slots=True, repr=False)
class StaticDef(AbstractRouteDef):
    """Files under ``path`` served at ``prefix``."""

    prefix: str
    path: str | os.PathLike[str]
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        return f"<StaticDef {self.prefix} -> {self.path}{_describe(self.kwargs)}>"

    def register(self, router: Any) -> list[Any]:
        """Add the static resource to ``router``; its routes."""
        resource = router.add_static(self.prefix, self.path, **self.kwargs)
        routes = getattr(resource, "routes", None)
        return list(routes) if routes is not None else [resource]


@dataclass(frozen=True, slots=True, repr=False)
class WebSocketDef(AbstractRouteDef):
    """A WebSocket route at ``path`` served by the actor whose mailbox is ``mailbox``."""

    path: str
    mailbox: Any
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        return f"<WebSocketDef {self.path} -> {self.mailbox!r}{_describe(self.kwargs)}>"

    def register(self, router: Any) -> list[Any]:
        return [router.add_websocket(self.path, self.mailbox, **self.kwargs)]


def route(method: str, path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """``method`` on ``path`` to ``handler``, for ``app.add_routes([...])``; ``"*"``: any method.

    ``kwargs`` are ``add_route``'s (``name``, ``handler_timeout``); nothing is
    checked until the definition is registered.
    """
    return RouteDef(method, path, handler, kwargs)


def head(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """A HEAD route definition: ``route("HEAD", path, handler, **kwargs)``."""
    return route("HEAD", path, handler, **kwargs)


def options(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """An OPTIONS route definition: ``route("OPTIONS", path, handler, **kwargs)``."""
    return route("OPTIONS", path, handler, **kwargs)


def get(
    path: str, handler: Any, *, name: str | None = None, allow_head: bool = True, **kwargs: Any
) -> RouteDef:
    """A GET route definition; it answers HEAD too unless ``allow_head=False``."""
    return route("GET", path, handler, name=name, allow_head=allow_head, **kwargs)


def post(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """A POST route definition: ``route("POST", path, handler, **kwargs)``."""
    return route("POST", path, handler, **kwargs)


def put(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """A PUT route definition: ``route("PUT", path, handler, **kwargs)``."""
    return route("PUT", path, handler, **kwargs)


def patch(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """A PATCH route definition: ``route("PATCH", path, handler, **kwargs)``."""
    return route("PATCH", path, handler, **kwargs)


def delete(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """A DELETE route definition: ``route("DELETE", path, handler, **kwargs)``."""
    return route("DELETE", path, handler, **kwargs)


def view(path: str, handler: Any, **kwargs: Any) -> RouteDef:
    """A ``web.View`` class on ``path``: each HTTP method goes to the view's method of that name."""
    return route(METH_ANY, path, handler, **kwargs)


def static(prefix: str, path: str | os.PathLike[str], **kwargs: Any) -> StaticDef:
    """The files under the folder ``path`` served at ``prefix`` (``add_static``'s ``kwargs``)."""
    return StaticDef(prefix, path, kwargs)


class RouteTableDef(Sequence[AbstractRouteDef]):
    """Routes declared with decorators (``@routes.get("/")``), added with ``app.add_routes``."""

    def __init__(self) -> None:
        self._items: list[AbstractRouteDef] = []

    def __repr__(self) -> str:
        return f"<RouteTableDef count={len(self._items)}>"

    @overload
    def __getitem__(self, index: int) -> AbstractRouteDef: ...
    @overload
    def __getitem__(self, index: slice) -> list[AbstractRouteDef]: ...
    def __getitem__(self, index: int | slice) -> AbstractRouteDef | list[AbstractRouteDef]:
        return self._items[index]

    def __iter__(self) -> Iterator[AbstractRouteDef]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def route(self, method: str, path: str, **kwargs: Any) -> Callable[[H], H]:
        """A decorator: the decorated handler (or ``web.View``) serves ``method`` on ``path``.

        It returns the handler unchanged. ``kwargs`` are ``add_route``'s.
        """

        def inner(handler: H) -> H:
            self._items.append(RouteDef(method, path, handler, kwargs))
            return handler

        return inner

    def head(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.head(path)``: the decorated handler serves HEAD."""
        return self.route("HEAD", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.get(path)``: GET, and HEAD too unless ``allow_head=False``."""
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.post(path)``: the decorated handler serves POST."""
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.put(path)``: the decorated handler serves PUT."""
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.patch(path)``: the decorated handler serves PATCH."""
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.delete(path)``: the decorated handler serves DELETE."""
        return self.route("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.options(path)``: the decorated handler serves OPTIONS."""
        return self.route("OPTIONS", path, **kwargs)

    def view(self, path: str, **kwargs: Any) -> Callable[[H], H]:
        """``@routes.view(path)`` on a ``web.View`` class: every method it defines."""
        return self.route(METH_ANY, path, **kwargs)

    def static(self, prefix: str, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Serve the files under the folder ``path`` at ``prefix`` (``add_static``'s ``kwargs``)."""
        self._items.append(StaticDef(prefix, path, kwargs))

    def websocket(self, path: str, mailbox: Any, **kwargs: Any) -> None:
        """A WebSocket route served by an actor (``app.router.add_websocket``'s arguments)."""
        self._items.append(WebSocketDef(path, mailbox, kwargs))
