"""How a response goes on the wire: the one place both transports ask.

:func:`frame` takes a handed-over response and what the request said
(method, HTTP version, Accept-Encoding) and decides everything the server
owns: whether a body is sent at all (never for HEAD, 1xx, 204, 304), its
length or that it is streamed (chunked on HTTP/1.1, close-delimited on
HTTP/1.0, DATA frames on HTTP/2), compression, the ``Set-Cookie`` lines,
and whether the connection must close afterwards. ``Content-Length``,
``Transfer-Encoding`` and ``Connection`` are never taken from the user's
headers as they are: a declared length is honoured and enforced, the rest
is computed.

The transports then only serialise: HTTP/1.1 bytes (``_h1conn``) or ASGI
messages (``_hypercorn``). No I/O here.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .._pipe import BodyPipe
from .._web._helpers import must_be_empty_body
from .._web._response import ContentCoding, Response, StreamResponse

__all__ = ["Wire", "frame"]

_OWNED = frozenset({"content-length", "transfer-encoding", "connection"})
_CODINGS = (ContentCoding.deflate, ContentCoding.gzip)  # aiohttp's order of preference


@dataclass(slots=True, eq=False)
class Wire:
    """A response as it will be sent; see :func:`frame`."""

    status: int
    reason: str
    headers: list[tuple[str, str]]  # the user's fields, Set-Cookie, Content-Length / -Encoding
    body: bytes  # a whole body (compressed if asked); b"" when streamed or not sent
    pipe: BodyPipe | None  # a streamed body, read until b""
    send_body: bool  # False: HEAD, 1xx, 204, 304 (a stream is then drained unsent)
    length: int | None  # the Content-Length sent, or None
    chunked: bool  # HTTP/1.1 chunked transfer coding for a stream of unknown length
    close: bool  # the connection must end after this response
    has_date: bool  # the user set Date; the transport adds one otherwise
    compressor: zlib._Compress | None = None
    sent: int = 0  # body bytes taken so far (against a declared length)

    def encode(self, data: bytes) -> bytes:
        """A streamed piece as it goes out: compressed if asked (framing is the transport's).

        Raises ``ValueError`` past a declared Content-Length: sending more would
        corrupt the connection, so the transport cuts it instead.
        """
        self.sent += len(data)
        if self.length is not None and self.compressor is None and self.sent > self.length:
            raise ValueError(
                f"streamed body longer than its Content-Length {self.length} ({self.sent} bytes)"
            )
        if self.compressor is not None:
            return self.compressor.compress(data)
        return data

    def finish(self) -> bytes:
        """What is left to send at the end of a stream (the compressor's tail).

        Raises ``ValueError`` if a declared Content-Length was not reached.
        """
        if self.length is not None and self.compressor is None and self.sent != self.length:
            raise ValueError(
                f"streamed body shorter than its Content-Length {self.length} ({self.sent} bytes)"
            )
        if self.compressor is not None:
            return self.compressor.flush()
        return b""


def _coding(response: StreamResponse, accept_encoding: str | None) -> ContentCoding | None:
    forced = response._compression_force
    if forced is not None:
        return None if forced is ContentCoding.identity else forced
    accepted = (accept_encoding or "").lower()
    for coding in _CODINGS:
        if coding.value in accepted:
            return coding
    return None


def _compressor(coding: ContentCoding, strategy: int | None) -> zlib._Compress:
    wbits = 16 + zlib.MAX_WBITS if coding is ContentCoding.gzip else zlib.MAX_WBITS
    return zlib.compressobj(wbits=wbits, strategy=strategy or zlib.Z_DEFAULT_STRATEGY)


def frame(
    response: StreamResponse,
    method: str,
    *,
    http10: bool = False,
    framed_below: bool = False,
    accept_encoding: str | None = None,
) -> Wire:
    """The wire form of a handed-over ``response`` to a ``method`` request.

    ``http10``: the client speaks HTTP/1.0. ``framed_below``: the server below frames
    streams itself (hypercorn: h11 chunks, h2 sends DATA frames), so no
    Transfer-Encoding here.
    """
    status = response._status
    headers: list[tuple[str, str]] = []
    close = response._keep_alive is False
    has_date = False
    declared: int | None = None
    for name, value in response._headers.items():
        lowered = name.lower()
        if lowered in _OWNED:
            if lowered == "connection":
                close = close or "close" in value.lower()
            elif lowered == "content-length" and value.isdigit():
                declared = int(value)
            continue
        if lowered == "date":
            has_date = True
        headers.append((name, value))
    for line in response._wire_cookies:
        headers.append(("Set-Cookie", line))
    empty = must_be_empty_body(method, status)
    pipe = response._pipe
    # A HEAD gets the Content-Encoding (and compressed length) a GET would (RFC 9110 9.3.2).
    no_content = status < 200 or status in (204, 304)
    coding = (
        _coding(response, accept_encoding) if response._compression and not no_content else None
    )
    if coding is not None:
        headers.append(("Content-Encoding", coding.value))

    if pipe is None:
        # A whole body: a Response, or a StreamResponse returned without writing a byte.
        body = response._body if isinstance(response, Response) else None
        data = bytes(body) if body else b""
        if coding is not None:
            whole = _compressor(coding, response._compression_strategy)
            data = whole.compress(data) + whole.flush()
        length: int | None = len(data)
        if status < 200 or status in (204, 304):
            length = None  # RFC 9110 8.6: no Content-Length on these
        elif empty and not data and declared is not None:
            length = declared  # a HEAD answered with the length a GET would have
        if length is not None:
            headers.append(("Content-Length", str(length)))
        return Wire(
            status,
            response._reason,
            headers,
            b"" if empty else data,
            None,
            not empty,
            length,
            False,
            close,
            has_date,
        )

    # A stream: its declared length if any (kept only uncompressed), else chunked or close.
    compressor = _compressor(coding, response._compression_strategy) if coding else None
    length = declared if compressor is None and not response._chunked else None
    chunked = False
    if empty:
        if length is not None and not (status < 200 or status in (204, 304)):
            headers.append(("Content-Length", str(length)))
        length = None
    elif length is not None:
        headers.append(("Content-Length", str(length)))
    elif http10:
        close = True  # HTTP/1.0 has no chunks: the end of the connection ends the body
    elif not framed_below:
        chunked = True
        headers.append(("Transfer-Encoding", "chunked"))
    return Wire(
        status,
        response._reason,
        headers,
        b"",
        pipe,
        not empty,
        length,
        chunked,
        close,
        has_date,
        compressor,
    )
