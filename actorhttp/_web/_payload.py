"""Response bodies that are not bytes, as aiohttp's payload system takes them.

``Response(body=...)`` (and :func:`get_payload`) turns a value into a
:class:`Payload`: an async iterable of the body's bytes that also says what
the response's head should carry. The rules are aiohttp's ``payload.py``:

| body | Content-Type | Content-Disposition | length |
|---|---|---|---|
| ``io.StringIO`` | ``text/plain; charset=utf-8`` | none | known (read at once) |
| an open text file | ``text/plain; charset=utf-8`` | ``attachment; filename=...`` | chunked |
| an open binary file | guessed from its name | ``attachment; filename=...`` | what is left |
| ``io.BytesIO`` | ``application/octet-stream`` | none | what is left |
| a part of ``multipart()`` | ``application/octet-stream`` | ``attachment; name=...`` | chunked |
| ``request.content`` | ``application/octet-stream`` | none | chunked |

(``bytes``, ``str`` and plain async iterables are ``Response``'s own.) A
Content-Type or Content-Disposition the response already has wins over
the payload's, as in aiohttp. Files are read from where they stand, in
pieces, in a thread (disk reads block), and closed once the body is sent
(or, for HEAD and the statuses without a body, not sent); an in-memory
``BytesIO`` is left open. A text file's length is not declared: its bytes
are only known once encoded, so it goes chunked (aiohttp declares the
file's size, which is wrong for any encoding but the file's own).
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
import stat
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

import trio
from multidict import CIMultiDict

from ._streams import StreamReader

if TYPE_CHECKING:
    from ._multipart import BodyPartReader

__all__ = ["CHUNK_SIZE", "Payload", "content_disposition_header", "get_payload"]

CHUNK_SIZE = 256 * 1024
"""The most read from a file (or a part) per piece of the body."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_QCONTENT = frozenset(chr(i) for i in range(0x20, 0x7F)) | {"\t"}
_NOT_QTEXT = re.compile(r"[^\041\043-\133\135-\176]")


def content_disposition_header(
    disptype: str, quote_fields: bool = True, _charset: str = "utf-8", **params: str
) -> str:
    """A ``Content-Disposition`` value, as aiohttp's helper writes it (RFC 2183, RFC 7578).

    ``filename`` is percent-encoded in quotes; another parameter is a quoted
    string, or ``name*=utf-8''...`` when it is not 7-bit. ``ValueError`` for
    a type or parameter name that is not a token.
    """
    if not disptype or not _TOKEN.match(disptype):
        raise ValueError(f"bad content disposition type {disptype!r}")
    pairs = []
    for key, value in params.items():
        if not key or not _TOKEN.match(key):
            raise ValueError(f"bad content disposition parameter {key!r}={value!r}")
        if not quote_fields:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            pairs.append(f'{key}="{escaped}"')
        elif key.lower() == "filename":
            pairs.append(f'{key}="{quote(value, "", encoding=_charset)}"')
        elif set(value) <= _QCONTENT:
            escaped = _NOT_QTEXT.sub(lambda match: "\\" + match.group(0), value)
            pairs.append(f'{key}="{escaped}"')
        else:
            pairs.append(f"{key}*={_charset}''{quote(value, '', encoding=_charset)}")
    return "; ".join([disptype, *pairs])


class Payload:
    """A response body with what its head needs: ``headers``, ``content_type``, ``size``.

    Iterate it (``async for``) for the body's bytes, once; :meth:`aclose`
    releases what it holds (a file), and ending the iteration does too.
    Make one with :func:`get_payload`.
    """

    _default_content_type = "application/octet-stream"

    def __init__(
        self,
        value: Any,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        encoding: str | None = None,
    ) -> None:
        self._value = value
        self._filename = filename
        self._encoding = encoding
        self._headers: CIMultiDict[str] = CIMultiDict()
        if content_type is None and filename is not None:
            content_type = mimetypes.guess_type(filename)[0]
        self._headers["Content-Type"] = content_type or self._default_content_type
        if headers:
            self._headers.update(headers)

    @property
    def size(self) -> int | None:
        """The body's length in bytes, when known before it is sent (then Content-Length)."""
        return None

    @property
    def filename(self) -> str | None:
        """The name it is sent under (Content-Disposition's ``filename``), if any."""
        return self._filename

    @property
    def headers(self) -> CIMultiDict[str]:
        """The fields it brings to the response's head (Content-Type, Content-Disposition)."""
        return self._headers

    @property
    def content_type(self) -> str:
        """Its ``Content-Type``."""
        return self._headers["Content-Type"]

    @property
    def encoding(self) -> str | None:
        """The text encoding its bytes were made with, for text."""
        return self._encoding

    def set_content_disposition(
        self, disptype: str, quote_fields: bool = True, _charset: str = "utf-8", **params: str
    ) -> None:
        """Set ``Content-Disposition`` (see :func:`content_disposition_header`)."""
        self._headers["Content-Disposition"] = content_disposition_header(
            disptype, quote_fields, _charset, **params
        )

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._read()
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def _read(self) -> bytes:
        """The next piece of the body; ``b""`` at its end."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the body holds (an open file); nothing to do by default."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.content_type} size={self.size}>"


class _BytesPayload(Payload):
    def __init__(self, value: bytes, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._sent = False

    @property
    def size(self) -> int:
        return len(self._value)

    async def _read(self) -> bytes:
        if self._sent:
            return b""
        self._sent = True
        data: bytes = self._value
        return data


def _filename_of(value: object) -> str | None:
    """The file's own name, as aiohttp's ``guess_filename`` (``<stdin>`` and such: none)."""
    name = getattr(value, "name", None)
    if isinstance(name, str) and name and name[0] != "<" and name[-1] != ">":
        return Path(name).name
    return None


def _left_in(value: IO[Any]) -> int | None:
    """Bytes from the file's position to its end, when that can be known without reading."""
    try:
        if isinstance(value, io.BytesIO):
            return len(value.getbuffer()) - value.tell()
        if isinstance(value, io.FileIO | io.BufferedReader | io.BufferedRandom):
            info = os.fstat(value.fileno())
            return max(info.st_size - value.tell(), 0) if stat.S_ISREG(info.st_mode) else None
        if value.seekable():  # a spooled temporary file, say: asking its fileno moves it to disk
            here = value.tell()
            end = value.seek(0, os.SEEK_END)
            value.seek(here)
            return max(end - here, 0)
    except (OSError, AttributeError, ValueError):
        pass
    return None


class _FilePayload(Payload):
    """A binary file or in-memory stream, read from where it stands."""

    def __init__(
        self, value: IO[bytes], disposition: str | None = "attachment", **kwargs: Any
    ) -> None:
        kwargs.setdefault("filename", _filename_of(value))
        super().__init__(value, **kwargs)
        if (
            self._filename is not None
            and disposition is not None
            and "Content-Disposition" not in self._headers
        ):
            self.set_content_disposition(disposition, filename=self._filename)
        self._in_memory = isinstance(value, io.BytesIO)
        self._left = _left_in(value)
        self._size = self._left
        self._closed = False

    @property
    def size(self) -> int | None:
        return self._size

    async def _read(self) -> bytes:
        if self._closed or self._left == 0:
            return b""
        want = CHUNK_SIZE if self._left is None else min(CHUNK_SIZE, self._left)
        if self._in_memory:
            data: bytes = self._value.read(want)
        else:
            data = await trio.to_thread.run_sync(self._value.read, want)
        if self._left is not None:
            self._left -= len(data)
        return data

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._in_memory:
            await trio.to_thread.run_sync(self._value.close)


class _TextFilePayload(_FilePayload):
    """A text file, encoded as it is read (so its length is not declared)."""

    def __init__(
        self,
        value: IO[str],
        *,
        encoding: str | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        if encoding is None:
            encoding = "utf-8"
            if content_type is not None:
                match = re.search(r"charset=([^;\s]+)", content_type, re.IGNORECASE)
                encoding = match.group(1).strip('"') if match else encoding
        if content_type is None:
            content_type = f"text/plain; charset={encoding}"
        super().__init__(value, encoding=encoding, content_type=content_type, **kwargs)  # type: ignore[arg-type]
        self._size = self._left = None

    async def _read(self) -> bytes:
        if self._closed:
            return b""
        text: str = await trio.to_thread.run_sync(self._value.read, CHUNK_SIZE)
        return text.encode(self._encoding or "utf-8")


class _BodyPartPayload(Payload):
    """A part of a multipart request body: its bytes, decoded, under its name."""

    def __init__(self, value: BodyPartReader, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        params = {}
        if value.name is not None:
            params["name"] = value.name
        if value.filename is not None:
            params["filename"] = value.filename
        if params and "Content-Disposition" not in self._headers:
            self._headers["Content-Disposition"] = content_disposition_header(
                "attachment", True, "utf-8", **params
            )
        headers = value.headers
        # Encoded parts (base64, gzip...) are decoded whole, within client_max_size.
        self._whole = any(
            headers.get(name, "identity").lower() not in ("identity", "binary", "7bit", "8bit")
            for name in ("Content-Transfer-Encoding", "Content-Encoding")
        )

    async def _read(self) -> bytes:
        part: BodyPartReader = self._value
        if self._whole:
            self._whole = False
            return await part.read(decode=True)
        return await part.read_chunk(CHUNK_SIZE)


class _StreamPayload(Payload):
    """An async iterable of bytes (``request.content`` piece by piece)."""

    def __init__(self, value: AsyncIterable[bytes], **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._chunks = aiter(value.iter_any() if isinstance(value, StreamReader) else value)

    async def _read(self) -> bytes:
        async for chunk in self._chunks:
            if chunk:
                return bytes(chunk)
        return b""

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def get_payload(value: Any, **kwargs: Any) -> Payload:
    """``value`` as a :class:`Payload` by the rules above (a Payload is given back as it is).

    ``kwargs``: ``content_type``, ``filename``, ``headers``, ``encoding``
    (and ``disposition`` for a file). ``LookupError`` for a value no rule
    takes.
    """
    if isinstance(value, Payload):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return _BytesPayload(bytes(value), **kwargs)
    if isinstance(value, str | io.StringIO):
        text = value if isinstance(value, str) else value.read()
        encoding = kwargs.pop("encoding", None) or "utf-8"
        kwargs.setdefault("content_type", f"text/plain; charset={encoding}")
        return _BytesPayload(text.encode(encoding), encoding=encoding, **kwargs)
    if isinstance(value, io.TextIOBase):
        return _TextFilePayload(value, **kwargs)  # type: ignore[arg-type]
    if isinstance(value, io.IOBase):
        return _FilePayload(value, **kwargs)  # type: ignore[arg-type]
    from ._multipart import BodyPartReader  # here: the forms need the exceptions, which need us

    if isinstance(value, BodyPartReader):
        return _BodyPartPayload(value, **kwargs)
    if isinstance(value, AsyncIterable):
        return _StreamPayload(value, **kwargs)
    raise LookupError(f"no payload for {type(value).__name__}: {value!r:.60}")
