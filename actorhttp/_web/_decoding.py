"""Request bodies sent with a ``Content-Encoding``, decoded as the handler reads them.

As aiohttp's server does (``auto_decompress=True``, its default), a body
whose ``Content-Encoding`` is ``gzip``, ``deflate`` (zlib-wrapped, or raw as
some clients send it), ``br`` (with the ``brotli`` package, 1.2 or later) or
``zstd`` (with ``compression.zstd``, Python 3.14, or ``backports.zstd``)
reaches ``request.content`` decoded; any other coding, or a list of codings,
is passed on as it came. Concatenated gzip members and zstd frames are
decoded one after the other.

Decoding never runs ahead of the reader: each call gives at most ``piece``
decoded bytes (64 KiB, or ``read_bufsize`` if larger), keeping the rest of
the compressed input for the next call. So a small compressed body that
inflates to gigabytes (a zip bomb) costs at most one piece of memory at a
time, and ``read()``/``post()`` refuse it with 413 once it passes
``client_max_size``, as they refuse any body.

Compressed data that does not decode, a body that ends before its
compressed stream does, and a coding whose library is not installed are a
:class:`RequestPayloadError` (400 if the handler lets it through).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, Protocol

from ._exceptions import RequestPayloadError
from ._streams import Receive, StreamReader

__all__ = ["DECODED_PIECE", "body_stream", "decoding"]

DECODED_PIECE = 64 * 1024
"""The most one read of a compressed body decodes (``read_bufsize`` when that is larger)."""

_CODINGS = frozenset({"gzip", "deflate", "br", "zstd"})

try:  # the zstd decoder: standard from Python 3.14, else the backport
    from compression import zstd as _zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from backports import zstd as _zstd  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        _zstd = None

try:
    import brotli as _brotli
except ImportError:  # pragma: no cover - the br tests need it installed
    _brotli = None


class _Inflater(Protocol):
    """One coding's decoder: ``feed`` input (``b""`` to go on), at most ``limit`` bytes out."""

    def feed(self, data: bytes, limit: int) -> bytes: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def finished(self) -> bool: ...


class _ZlibInflater:
    """gzip or deflate; each gzip member (or deflate stream) after the last, too."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
        self._started = False
        self._obj = zlib.decompressobj(self._wbits)

    def feed(self, data: bytes, limit: int) -> bytes:
        if not self._started and data:
            self._started = True
            if self._coding == "deflate" and data[0] & 0x0F != 8:
                # Not zlib's header: raw deflate, as some clients send "deflate".
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
        obj = self._obj
        out = obj.decompress(obj.unconsumed_tail + data, limit)
        if obj.eof and obj.unused_data and len(out) < limit:
            rest = obj.unused_data
            self._obj = zlib.decompressobj(self._wbits)  # the next member
            out += self.feed(rest, limit - len(out))
        return out

    @property
    def needs_input(self) -> bool:
        obj = self._obj
        return not obj.unconsumed_tail and not (obj.eof and obj.unused_data)

    @property
    def finished(self) -> bool:
        return self._obj.eof and not self._obj.unused_data


class _ZstdInflater:
    """zstd; each frame after the last, too."""

    def __init__(self) -> None:
        self._obj: Any = _zstd.ZstdDecompressor()
        self._pending = b""  # input zstd has not been given yet (it takes it all at once)

    def feed(self, data: bytes, limit: int) -> bytes:
        self._pending += data
        obj = self._obj
        if obj.eof:
            if not self._pending:
                return b""
            self._obj = obj = _zstd.ZstdDecompressor()  # the next frame
        chunk = b""
        if obj.needs_input:
            chunk, self._pending = self._pending, b""
        out: bytes = obj.decompress(chunk, limit)
        if obj.eof:
            self._pending = obj.unused_data + self._pending
        return out

    @property
    def needs_input(self) -> bool:
        obj = self._obj
        return not self._pending and (obj.eof or obj.needs_input)

    @property
    def finished(self) -> bool:
        return bool(self._obj.eof) and not self._pending


class _BrotliInflater:
    """br. brotli says when it wants input only once its output is drained, so an empty
    output (after the limit was not reached) is what says so, as in aiohttp."""

    def __init__(self) -> None:
        self._obj: Any = _brotli.Decompressor()
        self._drained = True

    def feed(self, data: bytes, limit: int) -> bytes:
        out: bytes = self._obj.process(data, output_buffer_limit=limit)
        self._drained = not out
        return out

    @property
    def needs_input(self) -> bool:
        return self._drained or self.finished

    @property
    def finished(self) -> bool:
        return bool(self._obj.is_finished())


def _inflater(coding: str) -> _Inflater:
    if coding == "br":
        if _brotli is None or not hasattr(_brotli.Decompressor, "can_accept_more_data"):
            raise RequestPayloadError(
                "cannot decode Content-Encoding: br: the server has no brotli >= 1.2 "
                "(pip install 'actorhttp[compression]')"
            )
        return _BrotliInflater()
    if coding == "zstd":
        if _zstd is None:
            raise RequestPayloadError(
                "cannot decode Content-Encoding: zstd: the server has no zstd module "
                "(pip install 'actorhttp[compression]')"
            )
        return _ZstdInflater()
    return _ZlibInflater(coding)


def _decode_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [zlib.error]
    if _brotli is not None:
        errors.append(_brotli.error)
    if _zstd is not None:
        errors.append(_zstd.ZstdError)
    return tuple(errors)


_DECODE_ERRORS = _decode_errors()


class _Decoder:
    """A ``receive`` that gives the body decoded, a piece at a time (see the module docs)."""

    __slots__ = ("_coding", "_ended", "_inflater", "_piece", "_receive", "_received")

    def __init__(self, receive: Receive, coding: str, piece: int) -> None:
        self._receive = receive
        self._coding = coding
        self._piece = piece
        self._inflater: _Inflater | None = None
        self._ended = False
        self._received = 0

    async def __call__(self) -> bytes:
        inflater = self._inflater
        if inflater is None:
            inflater = self._inflater = _inflater(self._coding)
        while True:
            if not inflater.needs_input:
                out = self._feed(inflater, b"")
                if out:
                    return out
            if self._ended:
                return b""
            chunk = await self._receive()
            if not chunk:
                self._ended = True
                if self._received and not inflater.finished:
                    raise RequestPayloadError(
                        f"the {self._coding} request body ended before its compressed data did"
                    )
                return b""
            self._received += len(chunk)
            out = self._feed(inflater, chunk)
            if out:
                return out

    def _feed(self, inflater: _Inflater, data: bytes) -> bytes:
        try:
            return inflater.feed(data, self._piece)
        except _DECODE_ERRORS as exc:
            raise RequestPayloadError(
                f"cannot decode the request body's Content-Encoding {self._coding}: {exc}"
            ) from exc


def decoding(
    receive: Receive, headers: Sequence[tuple[bytes, bytes]], *, read_bufsize: int
) -> Receive:
    """``receive``, decoding the body by the request's ``Content-Encoding`` if it names one
    of the codings above; else ``receive`` itself."""
    coding = None
    for name, value in headers:
        if name.lower() == b"content-encoding":
            coding = value.strip().lower().decode("latin-1")
    if coding not in _CODINGS:
        return receive
    return _Decoder(receive, coding, max(DECODED_PIECE, read_bufsize))


def body_stream(
    receive: Receive,
    headers: Sequence[tuple[bytes, bytes]],
    *,
    declared_length: int | None,
    auto_decompress: bool,
    read_bufsize: int,
) -> StreamReader:
    """A request's ``content``, as every transport makes it: decoded if asked, buffered
    by ``read_bufsize``."""
    if auto_decompress:
        receive = decoding(receive, headers, read_bufsize=read_bufsize)
    return StreamReader(receive, declared_length=declared_length, limit=read_bufsize)
