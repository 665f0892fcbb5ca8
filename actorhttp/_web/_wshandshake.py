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
    from ._request import BaseRequest

__all__ = ["handshake"]

logger = logging.getLogger("actorhttp")
_VERSIONS = frozenset({"13", "8", "7"})


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
    headers = request.headers
    upgrade = headers.get("Upgrade")
    if (upgrade or "").lower().strip() != "websocket":
        raise HTTPBadRequest(
            text=f'No WebSocket UPGRADE hdr: {upgrade}\n Can "Upgrade" only to "WebSocket".'
        )
    tokens = {
        token.strip().lower()
        for value in headers.getall("Connection", ())
        for token in value.split(",")
    }
    if "upgrade" not in tokens:
        raise HTTPBadRequest(text=f"No CONNECTION upgrade hdr: {headers.get('Connection')}")

    protocol: str | None = None
    if "Sec-WebSocket-Protocol" in headers:
        asked = [p.strip() for p in headers["Sec-WebSocket-Protocol"].split(",")]
        protocol = next((p for p in asked if p in protocols), None)
        if protocol is None:
            logger.warning(
                "%s: Client protocols %r don't overlap server-known ones %r",
                request.remote,
                asked,
                tuple(protocols),
            )

    version = headers.get("Sec-WebSocket-Version", "")
    if version not in _VERSIONS:
        raise HTTPBadRequest(text=f"Unsupported version: {version}")
    key = headers.get("Sec-WebSocket-Key")
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
            for value in headers.getall("Sec-WebSocket-Extensions", ())
            for offer in split_comma_header(value.encode("latin-1"))
        ]
        deflate = PerMessageDeflate()
        accepted = server_extensions_handshake(offers, [deflate]) if offers else None
        if accepted is not None:
            answer["Sec-WebSocket-Extensions"] = accepted.decode("ascii")
            extension = deflate
    if protocol:
        answer["Sec-WebSocket-Protocol"] = protocol
    return answer, protocol, extension
