"""WebSocket value types, as aiohttp's: message types, close codes, messages, errors.

``WSMessage`` is what ``WebSocketResponse.receive()`` returns: a named tuple
``(type, data, extra)``. For TEXT ``data`` is a ``str``; for BINARY, PING and
PONG ``bytes``; for CLOSE the close code (an ``int``) with the reason in
``extra``; for ERROR the exception. CLOSING and CLOSED carry nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, NamedTuple

__all__ = [
    "WS_CLOSED_MESSAGE",
    "WS_CLOSING_MESSAGE",
    "WSCloseCode",
    "WSMessage",
    "WSMessageTypeError",
    "WSMsgType",
    "WebSocketError",
    "WebSocketReady",
]


class WSCloseCode(IntEnum):
    """RFC 6455 close codes (aiohttp's enum)."""

    OK = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    ABNORMAL_CLOSURE = 1006
    INVALID_TEXT = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014


class WSMsgType(IntEnum):
    """Frame opcodes, and aiohttp's own CLOSING, CLOSED and ERROR."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    PING = 0x9
    PONG = 0xA
    CLOSE = 0x8

    CLOSING = 0x100
    CLOSED = 0x101
    ERROR = 0x102

    text = TEXT
    binary = BINARY
    ping = PING
    pong = PONG
    close = CLOSE
    closing = CLOSING
    closed = CLOSED
    error = ERROR


class WSMessage(NamedTuple):
    """One message: ``type``, ``data`` (see the module docstring) and ``extra``."""

    type: WSMsgType
    data: Any
    extra: str | None

    def json(self, *, loads: Callable[[Any], Any] = json.loads) -> Any:
        """``data`` parsed as JSON."""
        return loads(self.data)


WS_CLOSED_MESSAGE: Final = WSMessage(WSMsgType.CLOSED, None, None)
WS_CLOSING_MESSAGE: Final = WSMessage(WSMsgType.CLOSING, None, None)


class WebSocketError(Exception):
    """The client broke the protocol: ``code`` is the close code the server answered with.

    It arrives as the ``data`` of an ERROR message (1002 for a protocol
    error, 1007 for text that is not UTF-8, 1009 for a message over
    ``max_msg_size``).
    """

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(code, message)

    def __str__(self) -> str:
        return str(self.args[1])


class WSMessageTypeError(TypeError):
    """``receive_str``/``receive_bytes`` got a message of another type."""


@dataclass(frozen=True, slots=True)
class WebSocketReady:
    """What ``WebSocketResponse.can_prepare`` says: true if the handshake would succeed."""

    ok: bool
    protocol: str | None

    def __bool__(self) -> bool:
        return self.ok
