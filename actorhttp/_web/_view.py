"""Class-based views, as aiohttp's ``web.View``: one method per HTTP verb.

``app.router.add_view("/path", MyView)`` (a ``*`` route) makes a ``MyView``
per request and awaits it: the request's verb picks the method (``get``,
``post``...), and a verb the view lacks is a 405 whose ``Allow`` header
lists the verbs it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, NoReturn

from ._exceptions import HTTPMethodNotAllowed

if TYPE_CHECKING:
    from ._request import Request
    from ._response import StreamResponse

__all__ = ["METH_ALL", "AbstractView", "View"]

METH_ALL = frozenset(
    {"CONNECT", "HEAD", "GET", "DELETE", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)


class AbstractView(ABC):
    """A class-based view: constructed with the request, then awaited for the response."""

    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def request(self) -> Request:
        """The request this view answers."""
        return self._request

    @abstractmethod
    def __await__(self) -> Generator[None, None, StreamResponse]:
        """Run the view."""


class View(AbstractView):
    """aiohttp's ``web.View``: define ``async def get(self)``, ``post``... returning responses."""

    async def _iter(self) -> StreamResponse:
        method_name = self.request.method
        method: Callable[[], Awaitable[StreamResponse]] | None = None
        if method_name in METH_ALL:
            method = getattr(self, method_name.lower(), None)
        if method is None:
            self._raise_allowed_methods()
        return await method()

    def __await__(self) -> Generator[None, None, StreamResponse]:
        return self._iter().__await__()

    def _raise_allowed_methods(self) -> NoReturn:
        allowed = {m for m in METH_ALL if hasattr(self, m.lower())}
        raise HTTPMethodNotAllowed(self.request.method, allowed)
