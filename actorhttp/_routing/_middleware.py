"""Middleware composition: the first middleware listed runs outermost.

A middleware is ``async def mw(request, handler) -> response``. The chain is
built once per route, not per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

__all__ = ["Middleware", "compose", "middleware"]

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Middleware = Callable[[Req, Callable[[Req], Awaitable[Resp]]], Awaitable[Resp]]
F = TypeVar("F", bound=Callable[..., Awaitable[object]])


def middleware(func: F) -> F:
    """Mark ``func`` as a new-style ``(request, handler)`` middleware, as in aiohttp."""
    func.__middleware_version__ = 1  # type: ignore[attr-defined]
    return func


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

    return call
