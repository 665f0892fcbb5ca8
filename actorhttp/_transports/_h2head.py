"""An HTTP/2 request's header block, read and checked in one pass (RFC 9113 8.2, 8.3).

h2 can check a header block itself (``validate_inbound_headers``), with a
chain of generators that took a fifth of a request's time, and answers what
it refuses with a GOAWAY for the whole connection. :func:`read_head` checks
the same rules while it picks the fields out, and the limits an HTTP/1.1
head has (``H1Limits``, what ``_scope_rules.refusal_for`` checks for the
other transports) in the same pass; a malformed or oversized request costs
only its stream (RFC 9113 8.1.1): :class:`Malformed` carries the answer. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from ._h1 import H1Limits, Refusal

__all__ = ["Head", "Malformed", "read_head"]


class Malformed(Exception):
    """A header block RFC 9113 8.2 and 8.3 call malformed, or past a limit: its answer
    (400, 414, 417, 431 or 501) on its stream."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.refusal = Refusal(status, reason)


_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")  # a field name: a token, lowercase (8.2.1)
_METHOD = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # CTLs but HTAB (RFC 9110 5.5)
_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path", b":protocol"})
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
# Proxies that map "_" to "-" would read these as framing fields: refused as ambiguous.
_FRAMING_ALIASES = frozenset({b"content_length", b"transfer_encoding"})
_WHITESPACE = (0x20, 0x09)


class Head(NamedTuple):
    """A request's header block, read and checked (a tuple: cheap to make)."""

    method: str
    path: bytes  # :path as sent (path and query)
    headers: list[tuple[bytes, bytes]]  # no pseudo-headers; Host first, from :authority
    content_length: int | None
    expect_continue: bool  # Expect: 100-continue
    size: int  # bytes of the path and fields, as HTTP/1.1 lines (what max_header_size bounds)


def read_head(fields: Iterable[tuple[bytes, bytes]], limits: H1Limits) -> Head:
    """A request's method, path, fields (Host first), declared length and ``Expect: 100-continue``.

    Checks what RFC 9113 asks of a request's header block: field names are
    lowercase tokens, values have no surrounding whitespace nor control
    characters, no connection-specific fields, pseudo-header fields known,
    once each and first, ``:method``, ``:scheme`` and a ``:path`` present, a
    Host that agrees with ``:authority``, one Content-Length (digits) and one
    Content-Type. Cookie fields are joined into one (8.2.3). And ``limits``,
    as for an HTTP/1.1 head (the request line being method and path): 414
    for a long path, 431 for too many fields, one too large, or too many
    bytes in all. Raises :class:`Malformed`.
    """
    pseudo: dict[bytes, bytes] = {}
    headers: list[tuple[bytes, bytes]] = [(b"host", b"")]  # Host's place: first
    host: bytes | None = None
    cookies: list[bytes] = []
    length: bytes | None = None
    content_type = False
    expect = False
    regular = False
    name_ok = _NAME.fullmatch
    control = _CONTROL.search
    line_limit = limits.max_header_line
    total = 0  # bytes of the regular fields, as HTTP/1.1 lines ("name: value\r\n")
    for name, value in fields:
        if name[:1] == b":":
            if regular or name not in _PSEUDO or name in pseudo:
                raise Malformed(400, f"misplaced, unknown or repeated {name[:32]!r}")
            pseudo[name] = value
            continue
        regular = True
        if name_ok(name) is None:
            raise Malformed(400, f"invalid field name {name[:64]!r}")
        size = len(name) + len(value) + 4
        if size > line_limit:
            raise Malformed(431, f"header field {name[:64].decode('latin-1')} too large")
        total += size
        if value and (value[0] in _WHITESPACE or value[-1] in _WHITESPACE):
            raise Malformed(400, f"whitespace around the value of {name.decode('ascii')}")
        if control(value):
            raise Malformed(400, f"control character in the value of {name.decode('ascii')}")
        if name in _HOP_BY_HOP or (name == b"te" and value != b"trailers"):
            raise Malformed(400, f"{name.decode('ascii')} is connection-specific: not in HTTP/2")
        if name == b"host":
            if host is not None:
                raise Malformed(400, "more than one host field")
            host = value
            continue
        if name == b"cookie":
            cookies.append(value)
            continue
        if name == b"content-length":
            if length is not None:
                raise Malformed(400, "more than one content-length field")
            length = value
        elif name == b"content-type":
            if content_type:
                raise Malformed(400, "more than one content-type field")
            content_type = True
        elif name == b"expect":
            if value.lower() != b"100-continue":
                raise Malformed(417, f"cannot meet Expect: {value.decode('latin-1')}")
            expect = True
        elif name in _FRAMING_ALIASES:
            raise Malformed(400, f"ambiguous header name {name.decode('ascii')}")
        headers.append((name, value))
    if b":protocol" in pseudo:
        raise Malformed(501, "extended CONNECT is not supported")
    method = pseudo.get(b":method", b"")
    path = pseudo.get(b":path", b"")
    if _METHOD.fullmatch(method) is None or not path or b":scheme" not in pseudo:
        raise Malformed(400, "a request needs :method, :scheme and :path")
    if path[:1] != b"/" and not (path == b"*" and method == b"OPTIONS"):
        raise Malformed(400, "request target must be a path")
    if len(path) + len(method) + 12 > limits.max_request_line:
        raise Malformed(414, "request line too long")
    authority = pseudo.get(b":authority")
    if authority is not None and host is not None and host != authority:
        raise Malformed(400, "Host differs from :authority")
    if authority is not None and host is None:
        if control(authority):
            raise Malformed(400, "control character in the value of host")
        total += len(authority) + 8  # counted as the Host line it stands for
    headers[0] = (b"host", authority if authority is not None else host or b"")
    if cookies:
        cookie = b"; ".join(cookies)
        if len(cookie) + 10 > line_limit:
            raise Malformed(431, "header field cookie too large")
        headers.append((b"cookie", cookie))
    if len(headers) > limits.max_headers:
        raise Malformed(431, f"more than {limits.max_headers} header fields")
    total += len(path)
    if total > limits.max_header_size:
        raise Malformed(431, "request header fields too large")
    declared: int | None = None
    if length is not None:
        if not length.isdigit():
            raise Malformed(400, f"bad Content-Length {length[:32].decode('latin-1')!r}")
        declared = int(length)
    return Head(method.decode("ascii"), path, headers, declared, expect, total)
