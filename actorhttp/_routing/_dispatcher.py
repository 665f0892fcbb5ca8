"""UrlDispatcher: the route table and its index; ``resolve`` returns misses as values.

Resources are tried in the order they were added, as in aiohttp. The index
only narrows the candidates (by exact path for plain resources, by literal
first segment for dynamic ones) without changing that order.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._pattern import routing_path
from ._resources import (
    DynamicResource,
    PlainResource,
    Resource,
    ResourceRoute,
    make_resource,
)

__all__ = ["Match", "MethodNotAllowed", "NotFound", "Resolution", "UrlDispatcher"]

T = TypeVar("T")
_ROUTE_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*([.:-][_a-zA-Z][_a-zA-Z0-9]*)*\Z")


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    route: ResourceRoute[T]
    match_info: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """Some resource has the path but not the method; ``allowed`` is what it has."""

    method: str
    allowed: frozenset[str]


@dataclass(frozen=True, slots=True)
class NotFound:
    """No resource has the path."""


Resolution = Match[T] | MethodNotAllowed | NotFound
_NOT_FOUND = NotFound()


def _ORDER(resource: Resource[Any]) -> int:
    return resource.order


def _first_segment(path: str) -> str:
    return path[1:].partition("/")[0]


class UrlDispatcher(Generic[T]):
    """aiohttp's ``app.router``: ``add_get("/hello/{name}", handler)`` and friends."""

    def __init__(self) -> None:
        self._resources: list[Resource[T]] = []
        self._named: dict[str, Resource[T]] = {}
        self._plain: dict[str, list[Resource[T]]] = {}
        self._by_segment: dict[str, list[Resource[T]]] = {}
        self._anywhere: list[Resource[T]] = []  # dynamic, first segment not literal

    # -- building --------------------------------------------------------

    def add_resource(self, path: str, *, name: str | None = None) -> Resource[T]:
        """The resource for ``path``: the last one added when it has the same path and name.

        As in aiohttp only the *last* resource is reused, so a route added
        after other resources never jumps ahead of them: first added, first tried.
        """
        if name is not None and (not isinstance(name, str) or not _ROUTE_NAME.match(name)):
            raise ValueError(f"bad route name {name!r}: use identifiers joined by . : -")
        if self._resources:
            last = self._resources[-1]
            if last.canonical == path and (name is None or last.name == name):
                return last
        if name is not None and name in self._named:
            raise ValueError(f"duplicate route name {name!r}: already {self._named[name]!r}")
        resource: Resource[T] = make_resource(path, name=name)
        resource.order = len(self._resources)
        self._resources.append(resource)
        if name is not None:
            self._named[name] = resource
        if isinstance(resource, PlainResource):
            self._plain.setdefault(resource.key, []).append(resource)
        elif isinstance(resource, DynamicResource):
            first = resource.pattern.first_segment
            bucket = self._anywhere if first is None else self._by_segment.setdefault(first, [])
            bucket.append(resource)
        return resource

    def add_route(
        self, method: str, path: str, target: T, *, name: str | None = None
    ) -> ResourceRoute[T]:
        """Add one method on ``path``; ``RuntimeError`` if that resource already has it."""
        return self.add_resource(path, name=name).add_route(method, target)

    def add_get(
        self, path: str, target: T, *, name: str | None = None, allow_head: bool = True
    ) -> ResourceRoute[T]:
        """GET, and HEAD too unless ``allow_head=False``."""
        resource = self.add_resource(path, name=name)
        if allow_head:
            resource.add_route("HEAD", target)
        return resource.add_route("GET", target)

    def add_head(self, path: str, target: T, *, name: str | None = None) -> ResourceRoute[T]:
        return self.add_route("HEAD", path, target, name=name)

    def add_post(self, path: str, target: T, *, name: str | None = None) -> ResourceRoute[T]:
        return self.add_route("POST", path, target, name=name)

    def add_put(self, path: str, target: T, *, name: str | None = None) -> ResourceRoute[T]:
        return self.add_route("PUT", path, target, name=name)

    def add_patch(self, path: str, target: T, *, name: str | None = None) -> ResourceRoute[T]:
        return self.add_route("PATCH", path, target, name=name)

    def add_delete(self, path: str, target: T, *, name: str | None = None) -> ResourceRoute[T]:
        return self.add_route("DELETE", path, target, name=name)

    # -- resolving -------------------------------------------------------

    def _candidates(self, path: str) -> Iterable[Resource[T]]:
        plain = self._plain.get(path)
        dynamic = self._by_segment.get(_first_segment(path)) if self._by_segment else None
        present = [lst for lst in (plain, dynamic, self._anywhere) if lst]
        if len(present) <= 1:
            return present[0] if present else ()
        return heapq.merge(*present, key=_ORDER)

    def resolve(self, method: str, raw_path: str) -> Resolution[T]:
        """The route and ``match_info`` for a request, or why there is none."""
        path = routing_path(raw_path)
        allowed: set[str] = set()
        for resource in self._candidates(path):
            match_info = resource.match(path)
            if match_info is None:
                continue
            route = resource.route_for(method)
            if route is not None:
                return Match(route, match_info)
            allowed |= resource.allowed_methods
        if allowed:
            return MethodNotAllowed(method, frozenset(allowed))
        return _NOT_FOUND

    # -- looking up ------------------------------------------------------

    def __getitem__(self, name: str) -> Resource[T]:
        return self._named[name]

    def __contains__(self, name: object) -> bool:
        return name in self._named

    def __iter__(self) -> Iterator[str]:
        return iter(self._named)

    def __len__(self) -> int:
        return len(self._named)

    def named_resources(self) -> Mapping[str, Resource[T]]:
        return dict(self._named)

    def resources(self) -> tuple[Resource[T], ...]:
        return tuple(self._resources)

    def routes(self) -> tuple[ResourceRoute[T], ...]:
        return tuple(route for resource in self._resources for route in resource.routes)
