"""How an HTTPException becomes a Response; shared by the router and the transports."""

from __future__ import annotations

from ._exceptions import HTTPException
from .messages import Response

__all__ = ["exception_response"]


def exception_response(exc: HTTPException) -> Response:
    """The response an ``HTTPException`` stands for."""
    text = exc.text if exc.allows_body else None
    return Response(
        status=exc.status,
        reason=exc.reason,
        text=text,
        headers=exc.headers,
        content_type=exc.content_type if text else None,
    )
