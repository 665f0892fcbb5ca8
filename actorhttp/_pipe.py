"""BodyPipe: a streamed response's bytes on their way from a handler to its connection.

The handler's task writes (``StreamResponse.write``), the connection task
reads and sends. It is bounded by bytes: a write that leaves more than
``limit`` bytes waiting parks its writer until the connection has taken
them, so a client that reads slowly slows the writer, never the server's
memory. It is one-way and has one reader; it never loses or reorders bytes.

Endings:

* ``close()`` (the writer's ``write_eof``): the reader gets ``b""`` after
  the last byte;
* ``abort(exc)`` (the handler failed part-way): the reader gets
  :class:`PipeAborted` and must cut the connection so the client sees an
  incomplete body;
* ``break_()`` (the reader's side: the client went away, the stop's grace
  ran out): every write, pending or later, raises ``ConnectionResetError``,
  and a read, pending or later, :class:`PipeAborted`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import trio

__all__ = [
    "DEFAULT_PIPE_LIMIT",
    "BodyPipe",
    "ClientDisconnectedError",
    "RUNNING",
    "HandlerTurn",
    "PipeAborted",
    "before_handler_waits",
]

DEFAULT_PIPE_LIMIT = 64 * 1024
"""Bytes a streamed response may have waiting before its writer parks (aiohttp's high-water)."""


class ClientDisconnectedError(ConnectionResetError):
    """The client went away (or the server cut the connection): a write cannot reach it.

    A ``ConnectionResetError``, as aiohttp raises for a write to a closed
    transport; the router logs it at DEBUG, as the client's doing.
    """


class PipeAborted(Exception):
    """The writer aborted the body part-way; ``__cause__`` is why."""


class BodyPipe:
    """A bounded, one-reader byte pipe; see the module docstring for its endings."""

    __slots__ = (
        "_aborted",
        "_broken",
        "_chunks",
        "_done",
        "_eof",
        "_limit",
        "_reader",
        "_size",
        "_writers",
        "bytes_written",
        "discard",
    )

    def __init__(self, limit: int = DEFAULT_PIPE_LIMIT, *, discard: bool = False) -> None:
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._aborted: BaseException | None = None
        self._broken: str | None = None
        self._reader = trio.lowlevel.ParkingLot()
        self._writers = trio.lowlevel.ParkingLot()
        self._done = trio.lowlevel.ParkingLot()
        self.bytes_written = 0
        # A body that must not be sent (HEAD, 204, 304): writes are counted, then dropped.
        self.discard = discard

    # -- the writer's side -------------------------------------------------

    def _check_writable(self) -> None:
        if self._broken is not None:
            raise ClientDisconnectedError(self._broken)
        if self._eof or self._aborted is not None:
            raise RuntimeError("Cannot call write() after write_eof()")

    async def write(self, data: bytes) -> None:
        """Queue ``data``; park while over the limit. ``ConnectionResetError`` if broken."""
        self._check_writable()
        if data and not self.discard:
            self._chunks.append(data)
            self._size += len(data)
            self._reader.unpark_all()
        self.bytes_written += len(data)
        if self._size > self._limit:
            await self._writers.park()
            if self._broken is not None:
                raise ClientDisconnectedError(self._broken)
        else:
            await trio.lowlevel.checkpoint()

    async def drain(self) -> None:
        """Wait until the connection has taken every byte written so far."""
        while self._size and self._broken is None:
            await self._writers.park()
        if self._broken is not None:
            raise ClientDisconnectedError(self._broken)
        await trio.lowlevel.checkpoint()

    def close(self) -> None:
        """The end of the body: the reader gets ``b""`` once it has every byte."""
        if not self._eof and self._aborted is None:
            self._eof = True
            self._reader.unpark_all()
            self._done.unpark_all()

    def abort(self, exc: BaseException) -> None:
        """The body cannot be completed: the reader cuts the connection."""
        if not self._eof and self._aborted is None:
            self._aborted = exc
            self._reader.unpark_all()
            self._done.unpark_all()

    @property
    def closed(self) -> bool:
        """True once the writer has ended the body (closed or aborted)."""
        return self._eof or self._aborted is not None

    # -- the reader's side -------------------------------------------------

    async def read(self) -> bytes:
        """Everything waiting, joined; ``b""`` at the end.

        :class:`PipeAborted` if the writer aborted, or if the pipe was broken
        (by another task of the reader's side: a reader must not wait forever).
        """
        while not self._chunks:
            if self._broken is not None:
                raise PipeAborted(f"the pipe was broken: {self._broken}")
            if self._aborted is not None:
                raise PipeAborted("the response body was aborted part-way") from self._aborted
            if self._eof:
                await trio.lowlevel.checkpoint()
                return b""
            await self._reader.park()
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._size = 0
        self._writers.unpark_all()
        return data

    def break_(self, reason: str = "the client went away") -> None:
        """The reader will take no more: writers get ``ConnectionResetError(reason)``."""
        if self._broken is None:
            self._broken = reason
            self._chunks = []
            self._size = 0
            self._writers.unpark_all()
            self._reader.unpark_all()
            self._done.unpark_all()

    async def wait_finished(self) -> None:
        """Wait until the writer has ended the body, or the reader has broken the pipe."""
        while not (self._eof or self._aborted is not None or self._broken is not None):
            await self._done.park()
        await trio.lowlevel.checkpoint()

    @property
    def broken(self) -> bool:
        return self._broken is not None


class HandlerTurn:
    """A handler's run in its worker: what to do just before its task next waits.

    The router's pool runs each handler as one (``_pool._InContext``), which is
    :data:`RUNNING`'s while the handler's own code runs (trio runs one task at
    a time, so no other task's code runs meanwhile), and calls :meth:`run_due`
    each time the handler is about to give the scheduler back, and when it
    ends. A connection uses it to write what the handler sent in one go
    rather than message by message (a WebSocket's echoes to one batch of
    messages leave in one write), never holding bytes past the handler's
    next wait.
    """

    __slots__ = ("callbacks",)

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] | None = None

    def run_due(self) -> None:
        """Run (once) what was deferred; called in the handler's task, before it waits."""
        callbacks = self.callbacks
        if callbacks is not None:
            self.callbacks = None
            for callback in callbacks:
                callback()


class _Running:
    """Which turn's handler code is running right now (an instance attribute: setting it
    at every step of every handler must not touch a class's dictionary)."""

    __slots__ = ("turn",)

    def __init__(self) -> None:
        self.turn: HandlerTurn | None = None


RUNNING: Final = _Running()
"""``RUNNING.turn``: the turn whose handler's code is running right now, if any."""


def before_handler_waits(callback: Callable[[], None]) -> bool:
    """Have ``callback()`` run when the running handler next waits (or ends).

    False, and nothing deferred, when no handler's code is running (an
    actor's task, or a task a handler started: each runs on its own).
    """
    turn = RUNNING.turn
    if turn is None:
        return False
    if turn.callbacks is None:
        turn.callbacks = [callback]
    else:
        turn.callbacks.append(callback)
    return True
