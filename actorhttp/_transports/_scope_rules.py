"""What the hypercorn transport refuses at our layer, from what an ASGI HTTP scope shows.

hypercorn (h11/h2) lets through requests that the httptools transport
refuses; by the time the scope reaches us we can still refuse the ones
whose fault the scope shows, with the same answers and a closed
connection. What the scope cannot show stays out of reach: folded header
lines (h11 unfolds them), trailers (h11 drops them), and transfer codings
h11 itself answers (501).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._h1 import H1Limits, Refusal

__all__ = ["refusal_for"]

_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # CTLs but HTAB (RFC 9110 5.5)
_SINGLETONS = (b"host", b"content-length", b"content-type", b"transfer-encoding")
# Proxies that map "_" to "-" would read these as framing fields: refused as ambiguous.
_FRAMING_ALIASES = frozenset({b"content_length", b"transfer_encoding"})
_VERSIONS = ("1.0", "1.1", "2")


def refusal_for(
    method: str,
    raw_path: bytes,
    http_version: str,
    headers: Sequence[tuple[bytes, bytes]],
    limits: H1Limits,
) -> Refusal | None:
    """Why a request must be refused (status and reason), or None if it may go on.

    ``raw_path`` must be a path (or ``*`` for OPTIONS): an HTTP/1 absolute-form
    target is made one first (``_h1.origin_form``); HTTP/2's ``:path`` is one.
    """
    if http_version not in _VERSIONS:
        return Refusal(400, f"HTTP/{http_version} is not HTTP/1.0, HTTP/1.1 or HTTP/2")
    if not raw_path.startswith(b"/") and not (raw_path == b"*" and method == "OPTIONS"):
        return Refusal(400, "request target must be a path")
    if len(raw_path) + len(method) + 12 > limits.max_request_line:
        return Refusal(414, "request line too long")
    if len(headers) > limits.max_headers:
        return Refusal(431, f"more than {limits.max_headers} header fields")
    total = len(raw_path)
    seen: dict[bytes, int] = {}
    for name, value in headers:
        size = len(name) + len(value) + 4
        total += size
        if size > limits.max_header_line:
            return Refusal(431, f"header field {name[:64].decode('latin-1')} too large")
        if _CONTROL.search(value):
            return Refusal(400, f"control character in the value of {name.decode('latin-1')}")
        lowered = name.lower()
        if lowered in _FRAMING_ALIASES:
            return Refusal(400, f"ambiguous header name {name.decode('latin-1')}")
        seen[lowered] = seen.get(lowered, 0) + 1
    if total > limits.max_header_size:
        return Refusal(431, "request header fields too large")
    for name in _SINGLETONS:
        if seen.get(name, 0) > 1:
            return Refusal(400, f"more than one {name.decode()} field")
    if seen.get(b"content-length"):
        if seen.get(b"transfer-encoding"):
            # RFC 9112 6.1: a server MAY reject this, and MUST close the connection after.
            return Refusal(400, "both Content-Length and Transfer-Encoding")
        length = next(v for n, v in headers if n.lower() == b"content-length")
        if not length.isdigit():
            return Refusal(400, f"bad Content-Length {length[:32].decode('latin-1')!r}")
    if seen.get(b"transfer-encoding") and http_version == "1.0":
        return Refusal(400, "Transfer-Encoding in an HTTP/1.0 request")
    return None
