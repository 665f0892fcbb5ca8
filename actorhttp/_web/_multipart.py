"""Forms: ``request.multipart()`` (a streaming reader) and ``request.post()``.

Parsing is python-multipart's push parser; this module only turns its
callbacks into aiohttp's pull API: ``MultipartReader.next()`` gives each
part as a ``BodyPartReader`` (``headers``, ``name``, ``filename``,
``read_chunk``, ``read``, ``text``, ``json``, ``form``, ``release``). It
reads from the request body only as parts are read, so a part streamed to
disk never sits whole in memory.

``post()`` collects a whole form: text fields as ``str``, file parts as
``FileField`` whose ``file`` is a temporary file (in memory up to
``FILE_SPOOL_MAX_SIZE``, on disk past it), all within the request's
``client_max_size`` (413 past it), as aiohttp does.
"""

from __future__ import annotations

import base64
import binascii
import json
import quopri
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from tempfile import SpooledTemporaryFile
from typing import IO, TYPE_CHECKING, Any, TypeAlias
from urllib.parse import parse_qsl

import trio
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from ._exceptions import HTTPRequestEntityTooLarge, RequestPayloadError
from ._helpers import parse_media_type
from ._streams import StreamReader

if TYPE_CHECKING:
    from ._request import BaseRequest

__all__ = [
    "FILE_SPOOL_MAX_SIZE",
    "BodyPartReader",
    "FileField",
    "MultipartReader",
    "PostValue",
    "read_post",
]

FILE_SPOOL_MAX_SIZE = 64 * 1024
"""A file part of a form stays in memory up to this size, then moves to a temporary file."""
READ_CHUNK = 64 * 1024
MAX_PART_HEADERS = 32
MAX_PART_HEADER_SIZE = 8190
POST_METHODS = frozenset({"PATCH", "POST", "PUT", "TRACE"})


@dataclass(frozen=True, slots=True)
class FileField:
    """A file part of a form, as ``request.post()`` gives it (aiohttp's ``FileField``)."""

    name: str
    filename: str
    file: IO[bytes]
    content_type: str
    headers: CIMultiDictProxy[str]


PostValue: TypeAlias = str | bytes | bytearray | FileField

# Parser events, in order: ("begin",), ("header", name, value), ("data", bytes), ("end",)
_Event = tuple[Any, ...]


class MultipartReader:
    """Reads a ``multipart/*`` body one part at a time (aiohttp's ``MultipartReader``).

    Raises ``RequestPayloadError`` (a 400) for a body that is not well-formed
    multipart, or that ends before its closing boundary. A part read whole
    (``read``, ``text``, ``json``, ``form``) is refused past
    ``client_max_size`` with ``HTTPRequestEntityTooLarge`` (413), as aiohttp
    refuses it; ``read_chunk`` streams a part of any size.
    """

    def __init__(
        self,
        headers: CIMultiDictProxy[str],
        content: StreamReader,
        *,
        client_max_size: int | None = None,
    ) -> None:
        self.headers = headers
        self._client_max_size = client_max_size
        media, params = parse_media_type(headers.get("Content-Type"))
        boundary = params.get("boundary")
        if not media.startswith("multipart/") or not boundary:
            raise RequestPayloadError(f"not a multipart body with a boundary: {media or 'none'}")
        self._content = content
        self._events: deque[_Event] = deque()
        self._field = b""
        self._value = b""
        self._finished = False
        self._current: BodyPartReader | None = None
        try:
            self._parser = MultipartParser(
                boundary.encode("latin-1"),
                {
                    "on_part_begin": lambda: self._events.append(("begin",)),
                    "on_header_field": self._on_field,
                    "on_header_value": self._on_value,
                    "on_header_end": self._on_header_end,
                    "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
                    "on_part_end": lambda: self._events.append(("end",)),
                    "on_end": self._on_end,
                },
                max_header_count=MAX_PART_HEADERS,
                max_header_size=MAX_PART_HEADER_SIZE,
            )
        except (ValueError, MultipartParseError) as exc:
            raise RequestPayloadError(f"bad multipart boundary: {exc}") from exc

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._events.append(("header", self._field, self._value))
        self._field = self._value = b""

    def _on_end(self) -> None:
        self._finished = True

    async def _next_event(self) -> _Event | None:
        """The parser's next event, reading more of the body as needed; None at the end."""
        while not self._events:
            if self._finished:
                return None
            chunk = await self._content.readany()
            if not chunk:
                raise RequestPayloadError("multipart body ended before its closing boundary")
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise RequestPayloadError(f"malformed multipart body: {exc}") from exc
        return self._events.popleft()

    async def next(self) -> BodyPartReader | None:
        """The next part (skipping what is unread of the current one), or None after the last."""
        if self._current is not None:
            await self._current.release()
            self._current = None
        event = await self._next_event()
        if event is None:
            return None
        if event[0] != "begin":
            raise RequestPayloadError(f"malformed multipart body: unexpected {event[0]}")
        headers: CIMultiDict[str] = CIMultiDict()
        while (event := await self._next_event()) is not None and event[0] == "header":
            headers.add(event[1].decode("latin-1"), event[2].decode("utf-8", "surrogateescape"))
        pending = [] if event is None else [event]
        self._current = BodyPartReader(CIMultiDictProxy(headers), self, pending)
        return self._current

    def __aiter__(self) -> AsyncIterator[BodyPartReader]:
        return self._parts()

    async def _parts(self) -> AsyncIterator[BodyPartReader]:
        while (part := await self.next()) is not None:
            yield part

    def at_eof(self) -> bool:
        """True once the closing boundary has been read and every part given out."""
        return self._finished and not self._events


class BodyPartReader:
    """One part of a multipart body; read it with ``read_chunk``/``read``/``text``/``json``."""

    def __init__(
        self, headers: CIMultiDictProxy[str], reader: MultipartReader, pending: list[_Event]
    ) -> None:
        self.headers = headers
        self._reader = reader
        self._pending = deque(pending)
        self._buffer = b""
        self._at_eof = False
        self.name, self.filename = _disposition(headers.get("Content-Disposition", ""))

    async def read_chunk(self, size: int = READ_CHUNK) -> bytes:
        """Up to ``size`` bytes of this part, as sent (not decoded); ``b""`` at its end."""
        while len(self._buffer) < size and not self._at_eof:
            event = self._pending.popleft() if self._pending else await self._reader._next_event()
            if event is None or event[0] == "end":
                self._at_eof = True
            elif event[0] == "data":
                self._buffer += event[1]
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    async def read(self, *, decode: bool = False) -> bytes:
        """The whole part; with ``decode``, its transfer and content encodings undone.

        ``HTTPRequestEntityTooLarge`` (413) when the part, as sent or decoded,
        is larger than the request's ``client_max_size``.
        """
        limit = self._reader._client_max_size
        data = bytearray()
        while chunk := await self.read_chunk():
            data += chunk
            if limit and len(data) > limit:
                raise HTTPRequestEntityTooLarge(limit, len(data))
        if not decode:
            return bytes(data)
        decoded = self.decode(bytes(data))
        if limit and len(decoded) > limit:
            raise HTTPRequestEntityTooLarge(limit, len(decoded))
        return decoded

    async def release(self) -> None:
        """Skip the rest of this part."""
        while await self.read_chunk():
            pass

    def at_eof(self) -> bool:
        """True once this part has been read to its end."""
        return self._at_eof and not self._buffer

    def get_charset(self, default: str) -> str:
        """The ``charset`` of the part's Content-Type, else ``default``."""
        _, params = parse_media_type(self.headers.get("Content-Type"))
        return params.get("charset", default)

    async def text(self, *, encoding: str | None = None) -> str:
        """The whole part, decoded, as text (its charset, UTF-8 by default); 413 past the limit."""
        data = await self.read(decode=True)
        return data.decode(encoding or self.get_charset("utf-8"))

    async def json(self, *, encoding: str | None = None) -> Any:
        """The whole part parsed as JSON (``None`` when empty); 413 past the limit."""
        data = await self.read(decode=True)
        return json.loads(data.decode(encoding or self.get_charset("utf-8"))) if data else None

    async def form(self, *, encoding: str | None = None) -> list[tuple[str, str]]:
        """The whole part as urlencoded ``(name, value)`` pairs; 413 past the limit."""
        data = await self.read(decode=True)
        return parse_qsl(
            data.rstrip().decode(encoding or self.get_charset("utf-8")), keep_blank_values=True
        )

    def decode(self, data: bytes) -> bytes:
        """Undo the Content-Transfer-Encoding (base64, quoted-printable) and Content-Encoding."""
        transfer = self.headers.get("Content-Transfer-Encoding", "").lower()
        try:
            if transfer == "base64":
                data = base64.b64decode(data, validate=False)
            elif transfer == "quoted-printable":
                data = quopri.decodestring(data)
            elif transfer not in ("", "binary", "8bit", "7bit"):
                raise RequestPayloadError(f"unknown Content-Transfer-Encoding {transfer!r}")
            coding = self.headers.get("Content-Encoding", "").lower()
            if coding in ("gzip", "deflate"):
                wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
                data = zlib.decompress(data, wbits)
            elif coding not in ("", "identity"):
                raise RequestPayloadError(f"unknown Content-Encoding {coding!r}")
        except (binascii.Error, zlib.error) as exc:
            raise RequestPayloadError(f"cannot decode a multipart part: {exc}") from exc
        return data


def _disposition(value: str) -> tuple[str | None, str | None]:
    """The ``name`` and ``filename`` of a Content-Disposition, as aiohttp reads them.

    Quoted values may hold UTF-8, as browsers send them; an RFC 6266
    ``filename*=UTF-8''...`` wins over a plain ``filename``. Parsed by the
    standard library's ``email`` (python-multipart's parser takes latin-1
    only and knows no ``filename*``).
    """
    message = Message()
    message["Content-Disposition"] = value
    plain: dict[str, str] = {}
    extended: dict[str, str] = {}
    # typeshed says str values only; RFC 2231 ones (filename*) come as (charset, lang, text).
    params: list[tuple[str, object]] = list(message.get_params((), header="content-disposition"))
    for key, param in params[1:]:
        if isinstance(param, tuple):
            extended.setdefault(key, collapse_rfc2231_value(param))
        elif isinstance(param, str):
            plain.setdefault(key, param)
    return extended.get("name", plain.get("name")), extended.get("filename", plain.get("filename"))


async def read_post(request: BaseRequest) -> MultiDictProxy[PostValue]:
    """The form of ``request``; empty for other methods and media types, as in aiohttp."""
    out: MultiDict[PostValue] = MultiDict()
    if request.method not in POST_METHODS:
        return MultiDictProxy(out)
    content_type = request.content_type
    if content_type == "multipart/form-data":
        await _read_multipart_form(request, out)
    elif content_type in ("", "application/x-www-form-urlencoded"):
        data = await request.read()
        charset = request.charset or "utf-8"
        for name, value in parse_qsl(
            data.rstrip().decode(charset), keep_blank_values=True, encoding=charset
        ):
            out.add(name, value)
    return MultiDictProxy(out)


async def _read_multipart_form(request: BaseRequest, out: MultiDict[PostValue]) -> None:
    limit = request.client_max_size
    content = request.content
    declared = content.declared_length
    if limit and declared is not None and declared > limit:
        raise HTTPRequestEntityTooLarge(limit, declared)

    def check_size() -> None:
        if limit and content.total_bytes > limit:
            raise HTTPRequestEntityTooLarge(limit, content.total_bytes)

    reader = await request.multipart()
    try:
        await _read_parts(reader, out, check_size)
    except BaseException:
        # Refused part-way (413, a malformed part, a cancel): nobody gets these files.
        for value in out.values():
            if isinstance(value, FileField):
                value.file.close()
        raise


async def _read_parts(
    reader: MultipartReader, out: MultiDict[PostValue], check_size: Callable[[], None]
) -> None:
    while (part := await reader.next()) is not None:
        check_size()
        if part.name is None:
            raise RequestPayloadError("a multipart form field has no name")
        field_type = part.headers.get("Content-Type")
        if part.filename:
            file = await _spool(part, check_size)
            out.add(
                part.name,
                FileField(
                    part.name,
                    part.filename,
                    file,
                    field_type or "application/octet-stream",
                    part.headers,
                ),
            )
            continue
        raw = bytearray()
        while chunk := await part.read_chunk():
            raw += chunk
            check_size()
        value = part.decode(bytes(raw))
        if field_type is None or field_type.startswith("text/"):
            out.add(part.name, value.decode(part.get_charset("utf-8")))
        else:
            out.add(part.name, value)


async def _spool(part: BodyPartReader, check_size: Callable[[], None]) -> IO[bytes]:
    """The part's decoded bytes in a temporary file, at its start; disk writes off the loop."""
    file: IO[bytes] = SpooledTemporaryFile(FILE_SPOOL_MAX_SIZE)  # noqa: SIM115 - handed on
    on_disk = False
    try:
        while chunk := await part.read_chunk():
            check_size()
            on_disk = on_disk or file.tell() + len(chunk) > FILE_SPOOL_MAX_SIZE
            await _io(on_disk, file.write, chunk)
        if "Content-Transfer-Encoding" in part.headers or "Content-Encoding" in part.headers:
            # Encoded parts (base64, gzip...) are rare in forms: decode them whole, once.
            await _io(on_disk, file.seek, 0)
            decoded = part.decode(await _io(on_disk, file.read))
            await _io(on_disk, file.seek, 0)
            await _io(on_disk, file.truncate)
            await _io(on_disk or len(decoded) > FILE_SPOOL_MAX_SIZE, file.write, decoded)
        await _io(on_disk, file.seek, 0)
    except BaseException:
        file.close()
        raise
    return file


async def _io(on_disk: bool, call: Callable[..., Any], *args: Any) -> Any:
    """Run a file operation: in a thread once the file is on disk (it may block)."""
    if on_disk:
        return await trio.to_thread.run_sync(call, *args)
    return call(*args)
