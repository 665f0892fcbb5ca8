"""FileResponse: a file streamed from disk in chunks, never read whole, as aiohttp serves it.

The Content-Type comes from the extension (``mimetypes``, with compression
suffixes taken as types, never as a Content-Encoding: a ``.tar.gz`` arrives
as stored). It answers conditional requests (ETag and Last-Modified; 304
for If-None-Match/If-Modified-Since, 412 for If-Match/If-Unmodified-Since),
ranges (206 with Content-Range; 416 when unsatisfiable), and serves a
precompressed ``.br``/``.gz`` sibling when the client accepts it. Every
filesystem call runs in a thread: they block.
"""

from __future__ import annotations

import enum
import os
import pathlib
from mimetypes import MimeTypes
from stat import S_ISREG
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any

import trio

from ._headers import LooseHeaders
from ._helpers import ETAG_ANY, ETag, must_be_empty_body
from ._response import StreamResponse

if TYPE_CHECKING:
    from ._request import BaseRequest

__all__ = ["CONTENT_TYPES", "DEFAULT_CHUNK_SIZE", "FileResponse"]

DEFAULT_CHUNK_SIZE = 256 * 1024
FALLBACK_CONTENT_TYPE = "application/octet-stream"

CONTENT_TYPES = MimeTypes()
"""Types by extension; compression suffixes are types here, never a Content-Encoding."""
_ENCODING_EXTENSIONS = MappingProxyType({".br": "br", ".gz": "gzip"})
CONTENT_TYPES.encodings_map.clear()
for _type, _extension in {
    "application/gzip": ".gz",
    "application/x-brotli": ".br",
    "application/x-bzip2": ".bz2",
    "application/x-compress": ".Z",
    "application/x-xz": ".xz",
}.items():
    CONTENT_TYPES.add_type(_type, _extension)


class _Result(enum.Enum):
    SEND_FILE = enum.auto()
    NOT_ACCEPTABLE = enum.auto()  # not a regular file (a folder, a socket...)
    PRECONDITION_FAILED = enum.auto()
    NOT_MODIFIED = enum.auto()


def _etag_match(value: str, etags: tuple[ETag, ...], *, weak: bool) -> bool:
    if len(etags) == 1 and etags[0].value == ETAG_ANY:
        return True
    return any(etag.value == value for etag in etags if weak or not etag.is_weak)


class FileResponse(StreamResponse):
    """Send the file at ``path``, ``chunk_size`` bytes at a time."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        status: int = 200,
        reason: str | None = None,
        headers: LooseHeaders | None = None,
    ) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, not {chunk_size}")
        self._path = pathlib.Path(path)
        self._chunk_size = chunk_size

    def _stat_encoding(
        self, accept_encoding: str
    ) -> tuple[pathlib.Path | None, os.stat_result, str | None]:
        for extension, encoding in _ENCODING_EXTENSIONS.items():
            if encoding not in accept_encoding:
                continue
            compressed = self._path.with_suffix(self._path.suffix + extension)
            try:
                st = compressed.lstat()
            except OSError:
                continue
            if S_ISREG(st.st_mode):
                return compressed, st, encoding
        st = self._path.stat()
        return (self._path if S_ISREG(st.st_mode) else None), st, None

    def _open(
        self, request: BaseRequest, accept_encoding: str
    ) -> tuple[_Result, IO[bytes] | None, os.stat_result, str | None]:
        """Stat, check the preconditions, open: one thread hop for all of it."""
        path, st, encoding = self._stat_encoding(accept_encoding)
        if path is None:
            return _Result.NOT_ACCEPTABLE, None, st, None
        etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
        if_match = request.if_match
        if if_match is not None and not _etag_match(etag, if_match, weak=False):
            return _Result.PRECONDITION_FAILED, None, st, encoding
        unmodified_since = request.if_unmodified_since
        if (
            if_match is None
            and unmodified_since is not None
            and st.st_mtime > unmodified_since.timestamp()
        ):
            return _Result.PRECONDITION_FAILED, None, st, encoding
        if_none_match = request.if_none_match
        if if_none_match is not None and _etag_match(etag, if_none_match, weak=True):
            return _Result.NOT_MODIFIED, None, st, encoding
        modified_since = request.if_modified_since
        if (
            if_none_match is None
            and modified_since is not None
            and st.st_mtime <= modified_since.timestamp()
        ):
            return _Result.NOT_MODIFIED, None, st, encoding
        file = path.open("rb")
        try:
            st = os.fstat(file.fileno())
        except OSError:
            pass
        return _Result.SEND_FILE, file, st, encoding

    async def prepare(self, request: BaseRequest) -> None:
        """Evaluate the request against the file and send it (or 304/412/416/403/404)."""
        if self._sent:
            return
        accept_encoding = request.headers.get("Accept-Encoding", "").lower()
        try:
            result, file, st, encoding = await trio.to_thread.run_sync(
                self._open, request, accept_encoding
            )
        except OSError as exc:
            self.set_status(403 if isinstance(exc, PermissionError) else 404)
            await self._prepare_empty(request)
            return
        if result is _Result.SEND_FILE:
            assert file is not None
            try:
                await self._send_open_file(request, file, st, encoding)
            finally:
                await trio.to_thread.run_sync(file.close)
        elif result is _Result.NOT_MODIFIED:
            self.set_status(304)
            self.etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
            self.last_modified = st.st_mtime
            await StreamResponse.prepare(self, request)
        else:
            self.set_status(412 if result is _Result.PRECONDITION_FAILED else 403)
            await self._prepare_empty(request)

    async def _prepare_empty(self, request: BaseRequest) -> None:
        self.content_length = 0
        await StreamResponse.prepare(self, request)

    async def _send_open_file(
        self, request: BaseRequest, file: IO[bytes], st: os.stat_result, encoding: str | None
    ) -> None:
        size, count, start = st.st_size, st.st_size, None
        if_range = request.if_range
        if if_range is None or st.st_mtime <= if_range.timestamp():
            try:
                wanted = request.http_range
            except ValueError:
                await self._unsatisfiable(request, size)
                return
            start, end = wanted.start, wanted.stop
            if start is not None:
                if start < 0 and end is None:  # the last bytes
                    start = max(start + size, 0)
                    count = size - start
                else:
                    count = min(end if end is not None else size, size) - start
                if start >= size:
                    await self._unsatisfiable(request, size)
                    return
                self.set_status(206)
        if "Content-Type" not in self._headers:
            self.content_type = (
                CONTENT_TYPES.guess_type(str(self._path))[0] or FALLBACK_CONTENT_TYPE
            )
        if encoding:
            self._headers["Content-Encoding"] = encoding
            self._headers["Vary"] = "Accept-Encoding"
            self._compression = False  # already compressed on disk
        self.etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
        self.last_modified = st.st_mtime
        self.content_length = count
        self._headers["Accept-Ranges"] = "bytes"
        if self._status == 206:
            assert start is not None
            self._headers["Content-Range"] = f"bytes {start}-{start + count - 1}/{size}"
        await StreamResponse.prepare(self, request)
        if count == 0 or must_be_empty_body(request.method, self._status):
            return
        await self._send_chunks(file, start or 0, count)

    async def _send_chunks(self, file: IO[bytes], offset: int, count: int) -> None:
        chunk_size = self._chunk_size
        chunk = await trio.to_thread.run_sync(_seek_and_read, file, offset, min(chunk_size, count))
        while chunk:
            await self.write(chunk)
            count -= len(chunk)
            if count <= 0:
                break
            chunk = await trio.to_thread.run_sync(file.read, min(chunk_size, count))
        if count > 0:
            # The file shrank while it was sent: the declared length cannot be met.
            raise RuntimeError(f"{self._path} shrank while it was being sent")

    async def _unsatisfiable(self, request: BaseRequest, size: int) -> None:
        self._headers["Content-Range"] = f"bytes */{size}"
        self.set_status(416)
        await self._prepare_empty(request)


def _seek_and_read(file: IO[bytes], offset: int, size: int) -> Any:
    file.seek(offset)
    return file.read(size)
