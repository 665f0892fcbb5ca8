"""The route index: for a request path, the resources that may match it, in aiohttp's order.

aiohttp files every resource under an index key (:mod:`._segments`) and,
for a request, cuts the path back one segment at a time (``/a/b/c``,
``/a/b``, ``/a``, ``/``), trying at each step the resources filed under
that key in registration order. The dispatcher walks the keys the same way
(``RouteIndex.buckets[key]``), but within a key :meth:`Bucket.candidates`
does not try every resource: each key's bucket holds

* its plain resources in a dict by exact path;
* its dynamic resources in a **segment trie**: from each node, a literal
  segment is a dict lookup; parameter segments (``{id}``, ``r{n}``,
  ``{a}-{b}``) are grouped by their literal lead, found by dict lookups on
  the request segment's first characters, then tried with one regex per
  distinct shape (names do not matter: ``/{id}/x`` and ``/{key}/y`` share
  a node); a resource whose next part may match ``/`` (``{tail:.*}``)
  waits at its node, to be tried with its full regex;
* its prefix resources (:mod:`._prefix`).

So the work for a request depends on the path and on how many resources
really compete for it, not on the size of the table. The trie only narrows:
every candidate it yields is still checked with the resource's own
``match``, and it never leaves out a resource that would match, because
only parts proven never to match ``/`` are matched one segment at a time.

Adding a resource touches only the nodes on its own path: routes can be
added while requests are being resolved, and nothing is rebuilt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from ._prefix import PrefixResource
from ._resources import DynamicResource, PlainResource, Resource
from ._segments import Segment, index_key, layout

__all__ = ["Bucket", "RouteIndex", "key_of"]

T = TypeVar("T")


def _order(resource: Resource[Any]) -> int:
    return resource.order


def key_of(resource: Resource[Any]) -> str:
    """aiohttp's index key for ``resource``, in routing form."""
    if isinstance(resource, DynamicResource):
        return layout(resource.pattern).key
    if isinstance(resource, PlainResource | PrefixResource):
        return index_key(resource.key)
    raise TypeError(f"cannot index {resource!r}: not a plain, dynamic or prefix resource")


class _Node(Generic[T]):
    """A point in a bucket's trie, reached by matching some segments after the key."""

    __slots__ = ("ends", "lead_lengths", "led", "literal", "spanning")

    def __init__(self) -> None:
        self.literal: dict[str, _Node[T]] = {}
        # lead text -> segment regex source -> (segment regex, child)
        self.led: dict[str, dict[str, tuple[re.Pattern[str], _Node[T]]]] = {}
        self.lead_lengths: tuple[int, ...] = ()  # the distinct lengths of the leads in `led`
        self.spanning: list[Resource[T]] = []  # tried with their full regex from here
        self.ends: list[Resource[T]] = []  # whose pattern ends here

    def child(self, segment: Segment) -> _Node[T]:
        """The node after ``segment``, made if new."""
        if isinstance(segment, str):
            node = self.literal.get(segment)
            if node is None:
                node = self.literal[segment] = _Node()
            return node
        group = self.led.setdefault(segment.lead, {})
        entry = group.get(segment.regex.pattern)
        if entry is None:
            entry = group[segment.regex.pattern] = (segment.regex, _Node())
            self.lead_lengths = tuple(sorted({*self.lead_lengths, len(segment.lead)}))
        return entry[1]

    def gather(self, segments: list[str], i: int, found: list[Resource[T]]) -> None:
        """Add to ``found`` the resources that may match from ``segments[i]`` on."""
        node = self
        while True:
            if node.spanning:
                found.extend(node.spanning)
            if i == len(segments):
                found.extend(node.ends)
                return
            segment = segments[i]
            i += 1
            if node.led:
                for length in node.lead_lengths:
                    group = node.led.get(segment[:length])
                    if group is not None:
                        for regex, child in group.values():
                            if regex.fullmatch(segment) is not None:
                                child.gather(segments, i, found)
            next_node = node.literal.get(segment)
            if next_node is None:
                return
            node = next_node


class Bucket(Generic[T]):
    """The resources filed under one index key."""

    __slots__ = ("plain", "prefixes", "root")

    def __init__(self) -> None:
        self.plain: dict[str, list[Resource[T]]] = {}  # routing-form path -> resources
        self.root: _Node[T] | None = None
        self.prefixes: list[Resource[T]] = []

    def candidates(self, path: str, key: str) -> Sequence[Resource[T]]:
        """This bucket's resources that may match ``path``, in registration order.

        ``key`` is this bucket's key. A plain or dynamic resource in the result
        must still be checked with its ``match``, a prefix resource with its
        ``resolve``. The result may be the bucket's own list: do not change it.
        """
        plain = self.plain.get(path, ())
        if self.root is None and not self.prefixes:
            return plain  # the common case for a plain path: nothing to merge
        found = list(plain)
        if self.root is not None:
            # What follows the key starts with "/" (or is empty); under "/", the whole path.
            rest = path if key == "/" else path[len(key) :]
            self.root.gather(rest.split("/"), 1, found)
        found += self.prefixes
        if len(found) > 1:
            found.sort(key=_order)
        return found


class RouteIndex(Generic[T]):
    """Resources filed by aiohttp's index key; see the module docstring."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[str, Bucket[T]] = {}

    def add(self, resource: Resource[T]) -> None:
        """File ``resource`` (its ``order`` already set); touches only its own path."""
        if isinstance(resource, DynamicResource):
            shape = layout(resource.pattern)
            bucket = self._bucket(shape.key)
            node = bucket.root
            if node is None:
                node = bucket.root = _Node()
            for segment in shape.segments:
                node = node.child(segment)
            (node.spanning if shape.spans else node.ends).append(resource)
        elif isinstance(resource, PlainResource):
            bucket = self._bucket(key_of(resource))
            bucket.plain.setdefault(resource.key, []).append(resource)
        else:
            self._bucket(key_of(resource)).prefixes.append(resource)

    @property
    def buckets(self) -> Mapping[str, Bucket[T]]:
        """The buckets by index key (read only: add resources with :meth:`add`)."""
        return self._buckets

    def _bucket(self, key: str) -> Bucket[T]:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket()
        return bucket
