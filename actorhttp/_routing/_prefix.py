"""Prefix resources: one resource for every path under a prefix (static folders, sub-apps).

aiohttp's ``StaticResource`` (``add_static``) and ``PrefixedSubAppResource``
(``add_subapp``) both take every path that is their prefix or starts with the
prefix and a ``/``. The route index files them under the prefix, so they take
their turn in aiohttp's order (longest index key first, then registration
order); when the index reaches one it asks it to :meth:`~PrefixResource.resolve`
the request.

Two behaviours, as in aiohttp, chosen by :attr:`PrefixResource.owns_prefix`:

* a static folder (``owns_prefix = False``) answers only with a match: when it
  lacks the method its methods count towards the 405 and the search goes on;
* a sub-application (``owns_prefix = True``) owns its prefix: whatever it
  answers, 404 and 405 included, is the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeVar
from urllib.parse import quote

from yarl import URL

from ._pattern import finish_decoding, routing_path
from ._resolution import NOT_FOUND, Match, MethodNotAllowed, Resolution
from ._resources import Resource

__all__ = ["PrefixResource"]

T = TypeVar("T")


class PrefixResource(Resource[T]):
    """A resource for ``prefix`` itself and every path under ``prefix + "/"``.

    ``prefix`` must start with ``/``; trailing slashes are dropped, so ``/``
    (kept as ``""``, as aiohttp does) covers every path. It is compared in
    routing form. Subclasses override :meth:`match` (a static folder refusing
    paths that climb out of it) or :meth:`resolve` (a sub-application asking
    its own dispatcher), and set :attr:`owns_prefix`.
    """

    __slots__ = ("_prefix", "_under", "key")

    #: A sub-application's prefix is its own: its 404 or 405 ends the search.
    owns_prefix: ClassVar[bool] = False

    def __init__(self, prefix: str, *, name: str | None = None) -> None:
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError(f"prefix must start with '/': {prefix!r}")
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"a prefix is literal text, without {{}} parts: {prefix!r}")
        super().__init__(name=name)
        self._prefix = prefix.rstrip("/")
        self.key = routing_path(self._prefix)  # "" for the root
        self._under = self.key + "/"

    @property
    def canonical(self) -> str:
        return self._prefix

    def rest(self, path: str) -> str | None:
        """What follows ``prefix + "/"`` in a routing-form ``path``, still in routing form.

        ``""`` for the prefix itself (and for ``prefix + "/"``); ``None`` when
        ``path`` is not under the prefix.
        """
        if path.startswith(self._under):
            return path[len(self._under) :]
        return "" if path == self.key else None

    def match(self, path: str) -> Mapping[str, str] | None:
        """``{"tail": rest}`` (fully decoded) for a path under the prefix, else ``None``."""
        rest = self.rest(path)
        return None if rest is None else {"tail": finish_decoding(rest)}

    def url_for(self, **parts: str) -> URL:
        """The prefix, or with ``tail=...`` a path under it (quoted, ``/`` kept)."""
        tail = parts.pop("tail", "")
        if parts:
            raise ValueError(f"url_for({self._prefix!r}) takes only tail, got {sorted(parts)}")
        if not tail:
            return URL.build(path=self._prefix or "/", encoded=True)
        return URL.build(path=f"{self._prefix}/{quote(tail, safe='/')}", encoded=True)

    def add_prefix(self, prefix: str) -> None:
        self._prefix = prefix + self._prefix
        self.key = routing_path(self._prefix)
        self._under = self.key + "/"

    def resolve(self, method: str, path: str, host: str | None = None) -> Resolution[T]:
        """This resource's answer for a routing-form ``path`` the index brought here.

        (``host``, the request's Host, matters to a sub-application's own domains.)

        A :class:`Match` when the path is under the prefix and a route has the
        method (or ``*``); :class:`MethodNotAllowed` when the path is but no
        route has the method; otherwise :class:`NotFound`.
        """
        match_info = self.match(path)
        if match_info is None:
            return NOT_FOUND
        route = self.route_for(method)
        if route is not None:
            return Match(route, match_info)
        allowed = self.allowed_methods
        return MethodNotAllowed(method, allowed) if allowed else NOT_FOUND
