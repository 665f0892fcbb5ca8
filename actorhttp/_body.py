"""BodyReader: a request body streamed from the connection, counted against a limit.

The transport hands in a ``receive`` coroutine that returns the next chunk
and ``b""`` at the end. Nothing is read until a handler asks, so a handler
that refuses a request never pulls its body in, and no more than the limit
is ever held: the chunk that crosses it raises 413 and is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from ._exceptions import HTTPRequestEntityTooLarge

__all__ = ["EMPTY_BODY", "BodyReader"]

Receive = Callable[[], Awaitable[bytes]]


async def _no_body() -> bytes:
    return b""


class BodyReader:
    """The body of one request; read it once, in chunks or whole.

    ``max_size`` (``None`` for no limit) bounds the total; a declared
    ``Content-Length`` above it fails on the first read, before any byte is
    read. Reads after a failure raise the same 413 again.
    """

    __slots__ = ("_declared", "_eof", "_failed", "_max_size", "_pending", "_receive", "_received")

    def __init__(
        self,
        receive: Receive | None = None,
        *,
        max_size: int | None = None,
        declared_length: int | None = None,
    ) -> None:
        self._receive: Receive = receive or _no_body
        self._max_size = max_size
        self._declared = declared_length
        self._received = 0
        self._eof = receive is None or declared_length == 0
        self._failed: HTTPRequestEntityTooLarge | None = None
        self._pending = b""  # the unread tail of a chunk split by read(n)

    @property
    def received(self) -> int:
        """Bytes taken from the connection so far."""
        return self._received

    def at_eof(self) -> bool:
        """True once the whole body has been read (always for a request without one)."""
        return self._eof and not self._pending

    async def readany(self) -> bytes:
        """The next chunk as it arrived, or ``b""`` at the end."""
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        if self._failed is not None:
            raise self._failed
        if self._eof:
            return b""
        limit = self._max_size
        if limit is not None and self._declared is not None and self._declared > limit:
            self._failed = HTTPRequestEntityTooLarge(limit, self._declared)
            raise self._failed
        while True:
            chunk = await self._receive()
            if not chunk:
                self._eof = True
                return b""
            self._received += len(chunk)
            if limit is not None and self._received > limit:
                self._failed = HTTPRequestEntityTooLarge(limit, self._received)
                raise self._failed
            return chunk

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (the rest of the body when ``n`` is negative)."""
        if n < 0:
            parts = [chunk async for chunk in self.iter_any()]
            return b"".join(parts)
        chunk = await self.readany()
        if len(chunk) > n:
            chunk, self._pending = chunk[:n], chunk[n:]
        return chunk

    async def iter_any(self) -> AsyncIterator[bytes]:
        """Each chunk as it arrives, until the end of the body."""
        while chunk := await self.readany():
            yield chunk

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        """Chunks of exactly ``n`` bytes (the last may be shorter)."""
        if n <= 0:
            raise ValueError(f"chunk size must be positive, not {n}")
        buffer = bytearray()
        async for chunk in self.iter_any():
            buffer += chunk
            while len(buffer) >= n:
                yield bytes(buffer[:n])
                del buffer[:n]
        if buffer:
            yield bytes(buffer)


EMPTY_BODY = BodyReader()
"""The body of every request that has none: it never changes, so one serves all."""
