"""How topic messages and presence entries become bytes for the broker, and back.

A codec is any object with ``encode(value) -> bytes`` and
``decode(data) -> value`` (:class:`Codec`). :class:`JsonCodec` is the
default: JSON-able values (dicts, lists, strings, numbers, booleans,
``None``), compact UTF-8. Both brokers encode every message, the
in-process one too, so a value that would not cross to Redis fails the
same way in development, and each delivery is a fresh copy.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

__all__ = ["Codec", "JsonCodec"]


@runtime_checkable
class Codec(Protocol):
    """Turns a message into bytes and back; ``encode`` raises ``TypeError`` for what it cannot."""

    def encode(self, value: Any) -> bytes:
        """The bytes for ``value``; ``TypeError`` naming it when it cannot be encoded."""
        ...

    def decode(self, data: bytes) -> Any:
        """The value ``data`` encodes (``ValueError`` when it is not one)."""
        ...


class JsonCodec:
    """JSON: compact, UTF-8, non-ASCII kept as is. Tuples come back as lists."""

    def encode(self, value: Any) -> bytes:
        """``value`` as JSON; ``TypeError`` naming the part that is not JSON-able."""
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            raise TypeError(f"a broker message must be JSON-able: {exc}") from None

    def decode(self, data: bytes) -> Any:
        """The value of the JSON in ``data``."""
        return json.loads(data)

    def __repr__(self) -> str:
        return "JsonCodec()"
