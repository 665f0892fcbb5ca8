"""StreamReader: ``request.content``, a request body read as the handler asks for it.

The transport hands in a ``receive`` coroutine that returns the next piece
of the body and ``b""`` at its end (raising ``RequestPayloadError`` if the
client cuts it short, ``HTTPRequestTimeout`` if it is too slow). Nothing is
read from the connection until a handler asks, which is the backpressure:
a handler that does not read leaves the client's bytes in the kernel.

The API is aiohttp's ``StreamReader``: ``read(n)``, ``readany``,
``readchunk``, ``readline``, ``readuntil``, ``readexactly``, ``read_nowait``,
``iter_chunked``, ``iter_any``, ``iter_chunks``, line iteration,
``at_eof``, ``is_eof``, ``exception``, ``total_bytes``. It holds at most
one received piece beyond what has been returned, plus what ``readline``
or ``readexactly`` must gather.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["DEFAULT_LIMIT", "EMPTY_PAYLOAD", "Receive", "StreamReader"]

Receive = Callable[[], Awaitable[bytes]]
DEFAULT_LIMIT = 2**16


async def _no_body() -> bytes:
    return b""


class StreamReader:
    """A request body as a stream; read it in any of aiohttp's ways, once."""

    __slots__ = ("_buffer", "_declared", "_eof", "_exception", "_limit", "_receive", "total_bytes")

    def __init__(
        self,
        receive: Receive | None = None,
        *,
        declared_length: int | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        self._receive: Receive = receive or _no_body
        self._declared = declared_length
        self._limit = limit
        self._buffer = bytearray()
        self._eof = receive is None or declared_length == 0
        self._exception: BaseException | None = None
        self.total_bytes = 0
        """Bytes taken from the connection so far."""

    @property
    def declared_length(self) -> int | None:
        """The ``Content-Length`` the client announced (``None`` when chunked)."""
        return self._declared

    def get_read_buffer_limits(self) -> tuple[int, int]:
        """aiohttp's ``(low, high)`` water marks: ``read_bufsize`` and twice it."""
        return self._limit, 2 * self._limit

    def exception(self) -> BaseException | None:
        """What made reading fail, if it did."""
        return self._exception

    def is_eof(self) -> bool:
        """True once the end of the body has been received (data may still be buffered)."""
        return self._eof

    def at_eof(self) -> bool:
        """True once the whole body has been received and returned."""
        return self._eof and not self._buffer

    async def _fill(self) -> bool:
        """Append the next received piece to the buffer; False at the end of the body."""
        if self._exception is not None:
            raise self._exception
        if self._eof:
            return False
        try:
            chunk = await self._receive()
        except Exception as exc:
            self._exception = exc
            raise
        if not chunk:
            self._eof = True
            return False
        self.total_bytes += len(chunk)
        self._buffer += chunk
        return True

    def _take(self, n: int) -> bytes:
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    async def readany(self) -> bytes:
        """What is buffered, or the next piece as it arrives; ``b""`` at the end."""
        if not self._buffer:
            if self._exception is not None:
                raise self._exception
            if self._eof:
                return b""
            # The common case: hand the piece on without copying it through the buffer.
            try:
                chunk = await self._receive()
            except Exception as exc:
                self._exception = exc
                raise
            if not chunk:
                self._eof = True
            self.total_bytes += len(chunk)
            return chunk
        return self._take(len(self._buffer))

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (the rest of the body when ``n`` is negative)."""
        if n < 0:
            parts = [bytes(self._buffer)]
            self._buffer.clear()
            while chunk := await self.readany():
                parts.append(chunk)
            return b"".join(parts)
        if n == 0:
            return b""
        if not self._buffer and not await self._fill():
            return b""
        return self._take(n)

    async def readchunk(self) -> tuple[bytes, bool]:
        """The next piece, and False: ``(b"", False)`` at the end, as aiohttp.

        The flag would mark the end of an HTTP chunk; the transports do not
        pass chunk boundaries on, so it is always False, as aiohttp's is for
        a body that is not chunked. aiohttp's loops end on ``(b"", False)``.
        """
        return await self.readany(), False

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; ``asyncio.IncompleteReadError`` if the body ends first."""
        while len(self._buffer) < n:
            if not await self._fill():
                partial = self._take(len(self._buffer))
                raise asyncio.IncompleteReadError(partial, n)
        return self._take(n)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Up to and including ``separator`` (the rest at the end).

        ``ValueError`` for a piece longer than twice the limit (``read_bufsize``):
        aiohttp's high-water mark.
        """
        if not separator:
            raise ValueError("Separator should be at least one-byte string")
        start = 0
        high_water = 2 * self._limit
        while True:
            found = self._buffer.find(separator, start)
            if found >= 0:
                if found + len(separator) > high_water:
                    raise ValueError("Chunk too big")
                return self._take(found + len(separator))
            if len(self._buffer) > high_water:
                raise ValueError("Chunk too big")
            start = max(0, len(self._buffer) - len(separator) + 1)
            if not await self._fill():
                return self._take(len(self._buffer))

    async def readline(self) -> bytes:
        """One line, with its ``\\n``."""
        return await self.readuntil(b"\n")

    def read_nowait(self, n: int = -1) -> bytes:
        """What is buffered now, without waiting (at most ``n`` bytes)."""
        return self._take(len(self._buffer) if n < 0 else n)

    async def iter_any(self) -> AsyncIterator[bytes]:
        """Each piece as it arrives, until the end of the body."""
        while chunk := await self.readany():
            yield chunk

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        """``(data, end_of_chunk)`` pairs, as aiohttp's ``iter_chunks``."""
        while True:
            chunk, end = await self.readchunk()
            if not chunk:
                return
            yield chunk, end

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        """Pieces of at most ``n`` bytes, as they arrive (aiohttp's ``iter_chunked``)."""
        if n <= 0:
            raise ValueError(f"chunk size must be positive, not {n}")
        while chunk := await self.read(n):
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Line by line, as aiohttp's StreamReader iterates."""
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while line := await self.readline():
            yield line

    def __repr__(self) -> str:
        state = "eof" if self.at_eof() else f"{self.total_bytes} bytes read"
        return f"<StreamReader {state}>"


EMPTY_PAYLOAD = StreamReader()
"""The body of every request that has none: it never changes, so one serves all."""
