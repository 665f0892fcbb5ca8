"""Middlewares aiohttp ships: ``normalize_path_middleware``.

It redirects a request that no route answers to the path that one would,
once slashes are merged or a trailing slash added or removed; it only acts
on 404/405 (a request whose ``match_info.route`` is a ``SystemRoute``).
"""

from __future__ import annotations

import re

from ._routing import Match, middleware
from ._routing._matchinfo import SystemRoute
from ._web._exceptions import HTTPMove, HTTPPermanentRedirect
from ._web._request import Request
from ._web._response import StreamResponse
from .messages import Handler

__all__ = ["SlashConflictError", "normalize_path_middleware"]

_SLASHES = re.compile("//+")


class SlashConflictError(ValueError, AssertionError):
    """``normalize_path_middleware(append_slash=True, remove_slash=True)``: they conflict.

    A ``ValueError``, and the ``AssertionError`` aiohttp raises for it.
    """


def normalize_path_middleware(
    *,
    append_slash: bool = True,
    remove_slash: bool = False,
    merge_slashes: bool = True,
    redirect_class: type[HTTPMove] = HTTPPermanentRedirect,
) -> Handler:
    """A middleware redirecting (``redirect_class``, 308 by default) to the normalized path.

    Tried in aiohttp's order: slashes merged; a slash appended (or removed);
    both. The first candidate that some route answers is where it
    redirects, the query string kept. ``append_slash`` and ``remove_slash``
    exclude each other: :class:`SlashConflictError`, a ``ValueError`` that is
    also the ``AssertionError`` aiohttp raises (raised, not asserted, so
    ``python -O`` keeps it).
    """
    if append_slash and remove_slash:
        raise SlashConflictError("Cannot both remove and append slash")

    @middleware
    async def impl(request: Request, handler: Handler) -> StreamResponse:
        if isinstance(getattr(request.match_info, "route", None), SystemRoute):
            path, query = request.raw_target_path, request.raw_query_string
            candidates: list[str] = []
            if merge_slashes:
                candidates.append(_SLASHES.sub("/", path))
            if append_slash and not path.endswith("/"):
                candidates.append(path + "/")
            if remove_slash and path.endswith("/"):
                candidates.append(path[:-1])
            if merge_slashes and append_slash:
                candidates.append(_SLASHES.sub("/", path + "/"))
            if merge_slashes and remove_slash:
                candidates.append(_SLASHES.sub("/", path)[:-1])
            router = request.app.router
            for candidate in candidates:
                # Never a redirect to "//host": a protocol-relative URL would leave the site.
                candidate = re.sub("^//+", "/", candidate)
                if (
                    candidate
                    and candidate != path
                    and isinstance(router.resolve(request.method, candidate), Match)
                ):
                    raise redirect_class(candidate + ("?" + query if query else ""))
        return await handler(request)

    return impl  # type: ignore[return-value]
