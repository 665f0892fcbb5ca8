"""UrlDispatcher: the route table, its index, and which route answers a request.

Which route answers when several could (aiohttp 3.14's rule, kept exactly):

1. Every resource has an *index key*: the literal text of its path up to the
   last ``/`` before its first ``{`` (``/users/{id}`` -> ``/users``,
   ``/files/v{n}/{name}`` -> ``/files``); for a path with no ``{}`` parts, or a
   prefix resource (static folder, sub-application), the whole path; in
   every case without trailing slashes, and ``/`` if nothing is left.
2. To resolve a request, its path is cut back one segment at a time:
   ``/users/7/posts``, then ``/users/7``, ``/users``, ``/``. At each step, the
   resources whose key is that text are tried, in the order they were added.
3. The first resource that matches the whole path *and* has the method (or
   ``*``) answers. If some resources matched the path but none had the
   method, the answer is 405, allowing every method those resources have.
   Otherwise it is 404.

So a longer literal start beats the order of adding: ``/users/{id}`` answers
``/users/7`` even when ``/{anything}`` was added first, and ``/about`` beats
``/{page}`` for ``/about``. Between resources with the same key, the one
added first wins, and a later one gets its turn when the first lacks the
method. A sub-application owns every path under its prefix: once the search
reaches it, its answer (404 and 405 too) is final.

The index (:mod:`._index`) finds each step's candidates without trying the
others, so resolving costs the same with 10 routes or 10,000.
"""

from __future__ import annotations

import re
from collections.abc import (
    Awaitable,
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, Generic, TypeVar

from ._index import RouteIndex
from ._pattern import routing_path
from ._prefix import PrefixResource
from ._resolution import NOT_FOUND, Match, MethodNotAllowed, NotFound, Resolution
from ._resources import (
    Resource,
    ResourceRoute,
    check_expect_handler,
    check_timeout,
    make_resource,
)

__all__ = ["Match", "MethodNotAllowed", "NotFound", "Resolution", "UrlDispatcher"]

T = TypeVar("T")
ExpectHandler = Callable[[Any], Awaitable[Any]]
"""aiohttp's ``expect_handler``: ``async def f(request)``, a response or None."""
_ROUTE_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*([.:-][_a-zA-Z][_a-zA-Z0-9]*)*\Z")


def _first_answer(
    candidates: Iterable[Resource[T]],
    method: str,
    path: str,
    allowed: set[str],
    host: str | None,
) -> Resolution[T] | None:
    """The answer of the first of ``candidates`` to match ``path`` with ``method``, if any.

    Adds to ``allowed`` the methods of those that match the path but lack the
    method. A prefix resource that owns its prefix answers whatever it finds.
    """
    for resource in candidates:
        if isinstance(resource, PrefixResource):
            outcome: Resolution[T] = resource.resolve(method, path, host)
            if isinstance(outcome, Match) or resource.owns_prefix:
                return outcome
            if isinstance(outcome, MethodNotAllowed):
                allowed |= outcome.allowed
            continue
        match_info = resource.match(path)
        if match_info is None:
            continue
        route = resource.route_for(method)
        if route is not None:
            return Match(route, match_info)
        allowed |= resource.allowed_methods
    return None


class UrlDispatcher(Generic[T]):
    """aiohttp's ``app.router``: ``add_get("/hello/{name}", handler)`` and friends."""

    def __init__(self) -> None:
        self._resources: list[Resource[T]] = []
        self._named: dict[str, Resource[T]] = {}
        self._index: RouteIndex[T] = RouteIndex()
        self._by_host: list[Any] = []  # add_domain's resources, tried first (see _domain)

    # -- building --------------------------------------------------------

    def add_resource(self, path: str, *, name: str | None = None) -> Resource[T]:
        """The resource for ``path``: the last one added when it has the same path and name.

        As in aiohttp only the *last* resource is reused, and only when both
        its path and its name (``None`` included) are the same; otherwise a
        new resource is added after the others.
        """
        if self._resources:
            last = self._resources[-1]
            if last.name == name and not isinstance(last, PrefixResource) and last.raw_match(path):
                return last
        return self.register_resource(make_resource(path, name=name))

    def register_resource(self, resource: Resource[T]) -> Resource[T]:
        """Add ``resource`` (built elsewhere, such as a prefix resource) after the others.

        ``ValueError`` for a bad or duplicate name. The index is updated for
        this resource alone, so this is fine while requests are being resolved.
        """
        name = resource.name
        if name is not None and (not isinstance(name, str) or not _ROUTE_NAME.match(name)):
            raise ValueError(f"bad route name {name!r}: use identifiers joined by . : -")
        if name is not None and name in self._named:
            raise ValueError(f"duplicate route name {name!r}: already {self._named[name]!r}")
        resource.order = len(self._resources)
        if resource.indexed:
            self._index.add(resource)  # before the list: a resource it cannot file is not added
        else:
            self._by_host.append(resource)
        self._resources.append(resource)
        if name is not None:
            self._named[name] = resource
        return resource

    def add_route(
        self,
        method: str,
        path: str,
        target: T,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """Add one method on ``path``; ``RuntimeError`` if that resource already has it.

        ``handler_timeout`` (seconds) overrides the application's for this route;
        ``expect_handler`` is aiohttp's (see ``ResourceRoute``).
        """
        check_timeout("handler_timeout", handler_timeout)  # before the resource is added
        check_expect_handler(expect_handler)
        resource = self.add_resource(path, name=name)
        return resource.add_route(
            method, target, handler_timeout=handler_timeout, expect_handler=expect_handler
        )

    def add_get(
        self,
        path: str,
        target: T,
        *,
        name: str | None = None,
        allow_head: bool = True,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """GET, and HEAD too unless ``allow_head=False``."""
        check_timeout("handler_timeout", handler_timeout)
        check_expect_handler(expect_handler)
        resource = self.add_resource(path, name=name)
        options: dict[str, Any] = {
            "handler_timeout": handler_timeout,
            "expect_handler": expect_handler,
        }
        if allow_head:
            resource.add_route("HEAD", target, **options)
        return resource.add_route("GET", target, **options)

    def add_head(
        self,
        path: str,
        target: T,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """HEAD on ``path``."""
        return self.add_route(
            "HEAD",
            path,
            target,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_post(
        self,
        path: str,
        target: T,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """POST on ``path``."""
        return self.add_route(
            "POST",
            path,
            target,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_put(
        self,
        path: str,
        target: T,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """PUT on ``path``."""
        return self.add_route(
            "PUT",
            path,
            target,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_patch(
        self,
        path: str,
        target: T,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """PATCH on ``path``."""
        return self.add_route(
            "PATCH",
            path,
            target,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_delete(
        self,
        path: str,
        target: T,
        *,
        name: str | None = None,
        handler_timeout: float | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute[T]:
        """DELETE on ``path``."""
        return self.add_route(
            "DELETE",
            path,
            target,
            name=name,
            handler_timeout=handler_timeout,
            expect_handler=expect_handler,
        )

    def add_prefix(self, prefix: str) -> None:
        """Mount this table under ``prefix``: every resource's path gets it, and is re-indexed.

        What ``app.add_subapp(prefix, subapp)`` does to the sub-application's
        table, as aiohttp does: its routes then resolve (and build URLs) with
        the full path.
        """
        if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
            raise ValueError(f"a prefix starts with '/' and does not end with it: {prefix!r}")
        self._index = RouteIndex()
        for resource in self._resources:
            resource.add_prefix(prefix)
            if resource.indexed:
                self._index.add(resource)

    # -- resolving -------------------------------------------------------

    @property
    def wants_host(self) -> bool:
        """True when resolving needs the request's Host: a domain here or in a sub-app."""
        return bool(self._by_host) or any(
            getattr(getattr(resource, "dispatcher", None), "wants_host", False)
            for resource in self._resources
        )

    def resolve(self, method: str, raw_path: str, host: str | None = None) -> Resolution[T]:
        """The route and ``match_info`` for a request, or why there is none.

        ``host`` (the request's Host field) is what ``add_domain``'s resources match.
        """
        return self.resolve_routing_path(method, routing_path(raw_path), host)

    def resolve_routing_path(
        self, method: str, path: str, host: str | None = None
    ) -> Resolution[T]:
        """:meth:`resolve` for a ``path`` already in routing form (see ``routing_path``).

        What a sub-application's prefix resource calls, so that nothing is
        decoded twice.
        """
        for resource in self._by_host:  # aiohttp tries these before any path
            answer: Resolution[T] | None = resource.resolve_host(method, path, host)
            if answer is not None:
                return answer
        buckets = self._index.buckets
        bucket = buckets.get(path)
        if bucket is not None and bucket.root is None and not bucket.prefixes:
            # The path is a key whose bucket holds only plain resources: the common
            # case of a plain route, settled without the general walk when its first
            # resource has the method (the walk would try that resource first too).
            plain = bucket.plain.get(path)
            if plain:
                route = plain[0].route_for(method)
                if route is not None:
                    return Match(route, {})
        allowed: set[str] = set()
        key = path
        while key:  # the path, then cut back one segment at a time down to "/"
            bucket = buckets.get(key)
            if bucket is not None:
                found = _first_answer(bucket.candidates(path, key), method, path, allowed, host)
                if found is not None:
                    return found
            if key == "/":
                break
            key = key.rpartition("/")[0] or "/"
        if allowed:
            return MethodNotAllowed(method, frozenset(allowed))
        return NOT_FOUND

    # -- looking up ------------------------------------------------------

    def __getitem__(self, name: str) -> Resource[T]:
        return self._named[name]

    def __contains__(self, name: object) -> bool:
        return name in self._named

    def __iter__(self) -> Iterator[str]:
        return iter(self._named)

    def __len__(self) -> int:
        return len(self._named)

    # aiohttp's router is a Mapping of its named resources: the same reading methods.
    def keys(self) -> KeysView[str]:
        """The names of the named resources."""
        return self._named.keys()

    def values(self) -> ValuesView[Resource[T]]:
        """The named resources."""
        return self._named.values()

    def items(self) -> ItemsView[str, Resource[T]]:
        """The named resources with their names."""
        return self._named.items()

    def get(self, name: str, default: Resource[T] | None = None) -> Resource[T] | None:
        """The resource named ``name``, else ``default``."""
        return self._named.get(name, default)

    def named_resources(self) -> Mapping[str, Resource[T]]:
        """A copy of the named resources, by name."""
        return dict(self._named)

    def resources(self) -> tuple[Resource[T], ...]:
        """Every resource, in the order added."""
        return tuple(self._resources)

    def routes(self) -> tuple[ResourceRoute[T], ...]:
        """Every route of every resource, in the order added."""
        return tuple(route for resource in self._resources for route in resource.routes)
