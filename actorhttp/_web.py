"""Response helpers users reach for beside Response: json_response."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .messages import Response

__all__ = ["json_response"]

_MISSING: Any = object()


def json_response(
    data: Any = _MISSING,
    *,
    text: str | None = None,
    body: bytes | None = None,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    content_type: str = "application/json",
    dumps: Callable[[Any], str] = json.dumps,
) -> Response:
    """A JSON response: ``data`` serialised with ``dumps``, or ready-made ``text``/``body``."""
    if data is not _MISSING:
        if text is not None or body is not None:
            raise ValueError("give data, text or body, only one")
        text = dumps(data)
    if body is not None:
        return Response(
            body=body, status=status, reason=reason, headers=headers, content_type=content_type
        )
    return Response(
        text=text or "", status=status, reason=reason, headers=headers, content_type=content_type
    )
