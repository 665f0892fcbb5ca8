"""What resolving a request gives: a route, or why there is none (405 or 404), as values.

Kept apart from the dispatcher so that a resource that resolves for itself
(a prefix resource, such as a sub-application's) can return the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from ._resources import ResourceRoute

__all__ = ["NOT_FOUND", "Match", "MethodNotAllowed", "NotFound", "Resolution"]

T = TypeVar("T")


# NamedTuples, not frozen dataclasses: one is made for every request, and a frozen
# dataclass's __init__ (a setattr per field through object.__setattr__) cost more.


class Match(NamedTuple, Generic[T]):
    """The route that answers, and the path's parts (``match_info``), fully decoded.

    ``apps`` are the sub-applications the path went through, outermost first
    (empty for a route of the root table).
    """

    route: ResourceRoute[T]
    match_info: Mapping[str, str]
    apps: tuple[Any, ...] = ()


class MethodNotAllowed(NamedTuple):
    """Some resource has the path but not the method; ``allowed`` is what it has."""

    method: str
    allowed: frozenset[str]
    apps: tuple[Any, ...] = ()


class NotFound(NamedTuple):
    """No resource has the path (``apps``: the sub-applications that owned it)."""

    apps: tuple[Any, ...] = ()


Resolution = Match[T] | MethodNotAllowed | NotFound
NOT_FOUND = NotFound()
