"""The server side of the WebSocket handshake, as aiohttp checks it: no I/O.

:func:`handshake` looks at a request and either raises ``HTTPBadRequest``
saying what is wrong (aiohttp's texts) or returns the 101's fields, the
subprotocol chosen and permessage-deflate as negotiated (wsproto's
extension object, which the httptools transport then frames with).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import generate_accept_token, split_comma_header

from ._exceptions import HTTPBadRequest
from ._helpers import HttpVersion11

if TYPE_CHECKING:
    from ._request import BaseRequest, RawHeaders

__all__ = ["handshake"]

logger = logging.getLogger("actorhttp")
_VERSIONS = frozenset({"13", "8", "7"})
_HANDSHAKE_FIELDS = frozenset(
    {
        b"upgrade",
        b"connection",
        b"sec-websocket-protocol",
        b"sec-websocket-version",
        b"sec-websocket-key",
        b"sec-websocket-extensions",
    }
)


def handshake(
    request: BaseRequest, protocols: Sequence[str], *, compress: bool
) -> tuple[dict[str, str], str | None, PerMessageDeflate | None]:
    """The 101's fields, the subprotocol and the deflate extension; ``HTTPBadRequest`` if invalid.

    The subprotocol is the client's first that ``protocols`` has (none in
    common is logged as a warning, as aiohttp does, and is not an error).
    """
    if request.method != "GET" or request.version < HttpVersion11:
        raise HTTPBadRequest(
            text=f"A WebSocket handshake is an HTTP/1.1 GET, not {request.method} "
            f"HTTP/{request.version.major}.{request.version.minor}"
        )
    fields = _fields(request.raw_headers)
    upgrade = _first(fields, b"upgrade")
    if (upgrade or "").lower().strip() != "websocket":
        raise HTTPBadRequest(
            text=f'No WebSocket UPGRADE hdr: {upgrade}\n Can "Upgrade" only to "WebSocket".'
        )
    connection = fields.get(b"connection", ())
    tokens = {token.strip().lower() for value in connection for token in value.split(",")}
    if "upgrade" not in tokens:
        raise HTTPBadRequest(text=f"No CONNECTION upgrade hdr: {_first(fields, b'connection')}")

    protocol: str | None = None
    asked_for = _first(fields, b"sec-websocket-protocol")
    if asked_for is not None:
        asked = [p.strip() for p in asked_for.split(",")]
        protocol = next((p for p in asked if p in protocols), None)
        if protocol is None:
            logger.warning(
                "%s: Client protocols %r don't overlap server-known ones %r",
                request.remote,
                asked,
                tuple(protocols),
            )

    version = _first(fields, b"sec-websocket-version") or ""
    if version not in _VERSIONS:
        raise HTTPBadRequest(text=f"Unsupported version: {version}")
    key = _first(fields, b"sec-websocket-key")
    try:
        if not key or len(base64.b64decode(key)) != 16:
            raise HTTPBadRequest(text=f"Handshake error: {key!r}")
    except binascii.Error:
        raise HTTPBadRequest(text=f"Handshake error: {key!r}") from None

    answer = {
        "Upgrade": "websocket",
        "Connection": "upgrade",
        "Sec-WebSocket-Accept": generate_accept_token(key.encode("latin-1")).decode("ascii"),
    }
    extension: PerMessageDeflate | None = None
    if compress:
        offers = [
            offer
            for value in fields.get(b"sec-websocket-extensions", ())
            for offer in split_comma_header(value.encode("latin-1"))
        ]
        if offers:  # (most clients offer it: a browser always does)
            deflate = PerMessageDeflate()
            accepted = server_extensions_handshake(offers, [deflate])
            if accepted is not None:
                answer["Sec-WebSocket-Extensions"] = accepted.decode("ascii")
                extension = deflate
    if protocol:
        answer["Sec-WebSocket-Protocol"] = protocol
    return answer, protocol, extension


def _fields(raw: RawHeaders) -> dict[bytes, list[str]]:
    """The handshake's fields from the raw header lines, decoded as ``request.headers`` does.

    Read here rather than through ``request.headers``, which would build (and keep,
    with each of 10,000 sockets) the whole case-insensitive dictionary.
    """
    found: dict[bytes, list[str]] = {}
    for name, value in raw:
        lowered = name.lower()
        if lowered in _HANDSHAKE_FIELDS:
            found.setdefault(lowered, []).append(value.decode("utf-8", "surrogateescape"))
    return found


def _first(fields: dict[bytes, list[str]], name: bytes) -> str | None:
    values = fields.get(name)
    return values[0] if values else None
