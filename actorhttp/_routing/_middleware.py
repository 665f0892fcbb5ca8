"""Middleware composition: the first middleware listed runs outermost.

A new-style middleware (marked with :func:`middleware`) is ``async def
mw(request, handler) -> response``. Anything else is an aiohttp-2-era
factory, ``async def factory(app, handler) -> handler``, awaited once when
the chain is built. Chains are built once per route, not per request (where
aiohttp calls old-style factories on every request). With sub-applications
the layers nest: the outer app's middlewares wrap the inner app's. The
``handler`` each middleware gets carries the route handler's name, docstring
and attributes, as aiohttp's ``functools.update_wrapper`` gives them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import update_wrapper
from typing import Any, TypeVar

__all__ = ["Middleware", "compose", "compose_layers", "is_new_style", "middleware"]

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Middleware = Callable[[Req, Callable[[Req], Awaitable[Resp]]], Awaitable[Resp]]
F = TypeVar("F", bound=Callable[..., Awaitable[object]])


def middleware(func: F) -> F:
    """Mark ``func`` as a new-style ``(request, handler)`` middleware, as in aiohttp."""
    func.__middleware_version__ = 1  # type: ignore[attr-defined]
    return func


def is_new_style(mw: object) -> bool:
    """True for a ``@middleware``-marked ``(request, handler)`` middleware."""
    return getattr(mw, "__middleware_version__", None) == 1


async def compose_layers(
    layers: Sequence[tuple[object, Sequence[Any]]], handler: Callable[[Req], Awaitable[Resp]]
) -> Callable[[Req], Awaitable[Resp]]:
    """``handler`` wrapped by each ``(app, middlewares)`` layer, the first layer outermost.

    Within a layer the first middleware is outermost. Old-style factories
    are awaited here with their app and the handler they wrap.
    """
    nested = len(layers) > 1
    for owner, middlewares in reversed(layers):
        for mw in reversed(middlewares):
            if is_new_style(mw):
                handler = _bind(mw, handler)
            else:
                handler = await mw(owner, handler)
        if nested:
            handler = _in_app(owner, handler)
    return handler


def _in_app(
    app: object, handler: Callable[[Req], Awaitable[Resp]]
) -> Callable[[Req], Awaitable[Resp]]:
    """``handler`` with ``request.match_info.current_app`` set to ``app`` while it runs.

    So that in a sub-application's middlewares and handler ``request.app`` is
    the sub-application, and in the parent's the parent (aiohttp's rule).
    """

    async def call(request: Req) -> Resp:
        match_info: Any = getattr(request, "match_info")  # noqa: B009 - Req is any request type
        previous = match_info.current_app
        match_info.current_app = app
        try:
            return await handler(request)
        finally:
            match_info.current_app = previous

    return update_wrapper(call, handler)


def compose(
    middlewares: Sequence[Middleware[Req, Resp]], handler: Callable[[Req], Awaitable[Resp]]
) -> Callable[[Req], Awaitable[Resp]]:
    """``handler`` wrapped by ``middlewares``, the first of them outermost."""
    for mw in reversed(middlewares):
        handler = _bind(mw, handler)
    return handler


def _bind(
    mw: Middleware[Req, Resp], handler: Callable[[Req], Awaitable[Resp]]
) -> Callable[[Req], Awaitable[Resp]]:
    # A plain function returning the middleware's awaitable: no extra coroutine frame.
    def call(request: Req) -> Awaitable[Resp]:
        return mw(request, handler)

    # As aiohttp (functools.update_wrapper): every middleware sees the handler's name,
    # docstring and attributes (``handler.annotation``...), however deep it sits.
    return update_wrapper(call, handler)
