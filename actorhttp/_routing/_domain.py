"""Sub-applications chosen by the request's Host: ``app.add_domain(domain, subapp)``.

aiohttp's ``Domain`` and ``MaskDomain`` rules and ``MatchedSubAppResource``,
kept exactly:

* ``Domain("example.com")`` matches the ``Host`` field ``example.com``
  (case-insensitive); a port other than 80 is part of the domain
  (``example.com:8080``). ``MaskDomain("*.example.com")``: each ``*`` is any
  text, dots included. A domain that is empty, has a scheme, or a label that
  is not a DNS label is a ``ValueError``.
* These resources are tried *before* the path index, in the order added: a
  sub-application whose rule matches the Host owns the request, and its
  answer (its 404 and 405 too) is final; otherwise the search goes on.
  The sub-application's routes keep their paths (no prefix).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from yarl import URL

from ._dispatcher import UrlDispatcher
from ._resolution import Resolution
from ._resources import Resource

__all__ = ["Domain", "MaskDomain", "MatchedSubAppResource"]

T = TypeVar("T")


class Domain:
    """The Host a sub-application answers: ``example.com``, or ``example.com:8080``."""

    _label = re.compile(r"(?!-)[a-z\d-]{1,63}(?<!-)")

    def __init__(self, domain: str) -> None:
        self._domain = self._validate(domain)

    def _validate(self, domain: str) -> str:
        if not isinstance(domain, str):
            raise TypeError("Domain must be str")
        domain = domain.rstrip(".").lower()
        if not domain:
            raise ValueError("Domain cannot be empty")
        if "://" in domain:
            raise ValueError("Scheme not supported")
        try:
            url = URL("http://" + domain)
        except ValueError as exc:
            raise ValueError(f"Domain not valid: {domain!r}") from exc
        host = url.raw_host
        if not host or not all(self._label.fullmatch(label) for label in host.split(".")):
            raise ValueError(f"Domain not valid: {domain!r}")
        return host if url.port == 80 else f"{host}:{url.port}"

    @property
    def canonical(self) -> str:
        """The domain as matched (lowercased, the port kept unless 80)."""
        return self._domain

    def match_domain(self, host: str) -> bool:
        """Whether a request's ``Host`` is this domain."""
        return host.lower() == self._domain

    def get_info(self) -> dict[str, Any]:
        """``{"domain": ...}``, as aiohttp's."""
        return {"domain": self._domain}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.canonical}>"


class MaskDomain(Domain):
    """A Host pattern: each ``*`` matches any text (``*.example.com``)."""

    _label = re.compile(r"(?!-)[a-z\d\*-]{1,63}(?<!-)")

    def __init__(self, domain: str) -> None:
        super().__init__(domain)
        self._mask = re.compile(self._domain.replace(".", r"\.").replace("*", ".*"))

    @property
    def canonical(self) -> str:
        """The regex the Host must match in full."""
        return self._mask.pattern

    def match_domain(self, host: str) -> bool:
        return self._mask.fullmatch(host.lower()) is not None


class MatchedSubAppResource(Resource[T]):
    """A sub-application that answers the requests whose Host its ``rule`` matches."""

    __slots__ = ("app", "dispatcher", "rule")

    #: Not in the path index: the dispatcher tries these first (see the module docs).
    indexed: ClassVar[bool] = False

    def __init__(self, rule: Domain, app: Any, dispatcher: UrlDispatcher[T]) -> None:
        super().__init__()
        self.rule = rule
        self.app = app
        self.dispatcher = dispatcher

    @property
    def canonical(self) -> str:
        return self.rule.canonical

    def match(self, path: str) -> Mapping[str, str] | None:
        return None  # matched by Host, not by path: see resolve_host

    def url_for(self, **parts: str) -> URL:
        """``RuntimeError``, as aiohttp's: build URLs from the sub-application's routes."""
        raise RuntimeError(".url_for() is not supported by sub-application root")

    def add_prefix(self, prefix: str) -> None:
        """Mounted under a prefix itself: its routes move with it."""
        self.dispatcher.add_prefix(prefix)

    def resolve_host(self, method: str, path: str, host: str | None) -> Resolution[T] | None:
        """The sub-application's answer when ``host`` matches the rule, else None."""
        if not host or not self.rule.match_domain(host):
            return None
        outcome = self.dispatcher.resolve_routing_path(method, path, host)
        return outcome._replace(apps=(self.app, *outcome.apps))

    def get_info(self) -> dict[str, Any]:
        """``{"app": ..., "rule": ...}``, as aiohttp's."""
        return {"app": self.app, "rule": self.rule}

    def __repr__(self) -> str:
        return f"<MatchedSubAppResource {self.rule.canonical} -> {self.app!r}>"
