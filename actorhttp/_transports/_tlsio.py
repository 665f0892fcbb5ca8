"""HTTPS on the httptools transport: one ``ssl.SSLObject`` driven straight over the socket.

``trio.SSLStream`` is written for any stream and any number of tasks: every
call goes through a retry loop, a conflict detector, one of two inner locks
and a scheduler checkpoint, and its socket reads through ``SocketStream``.
Stacked on a metered send stream, a TLS request cost 67 us of CPU where
aiohttp's took 54 (2026-11-22, benchmarks/RESULTS.md), although the
encryption itself was cheaper. :class:`TLSStream` does what asyncio's
``sslproto`` does for aiohttp: the ``SSLObject`` reads from and writes to
two ``MemoryBIO``s, and the ciphertext moves through the plain transport's
own :class:`~._sockio.StreamIO` (direct reads, metered writes, waits only
when the kernel would block). A read or a write that need not wait is no
checkpoint, as on the plain path.

What it relies on, from ``_h1task.ConnectionTask``: one task reads at a
time (the connection's, or the handler's while it reads its body), and the
server never writes before it has read. Writes can overlap a read (a
WebSocket's writer and reader), and a read can produce ciphertext of its
own (an answer to a TLS 1.3 key update), so every byte of ciphertext leaves
through one ordered backlog, sent by one task at a time.

Semantics are ``trio.SSLStream(..., server_side=True, https_compatible=True)``'s:
a client closing without ``close_notify`` is an ordinary EOF, and any TLS
error is a ``trio.BrokenResourceError`` (from the ``ssl.SSLError``), so the
connection's handling of a vanished client covers it. Closing sends our
``close_notify`` if the kernel takes it at once, and never waits for it.
"""

from __future__ import annotations

import logging
import ssl

import trio

from ._base import Peer
from ._rate import RateMeter
from ._sockio import StreamIO

__all__ = ["UNSENT", "TLSStream"]

logger = logging.getLogger("actorhttp")
RAW_READ = 64 * 1024
"""Ciphertext read from the socket at a time: four full TLS records."""
UNSENT = b"<ciphertext waiting in the stream>"
"""What :meth:`TLSStream.write_some` returns when the kernel did not take all: a token for
:meth:`TLSStream.send_rest` (the ciphertext itself waits, in order, in the stream)."""


def _is_eof(exc: ssl.SSLError) -> bool:
    """Whether ``exc`` is the client closing its socket, with or without ``close_notify``.

    OpenSSL reports an EOF without ``close_notify`` as ``SSLEOFError``, as
    ``SSLSyscallError`` before the handshake ends, or on some builds as a
    plain ``SSLError`` whose reason says so (trio and AnyIO test the text too).
    """
    return isinstance(exc, ssl.SSLZeroReturnError | ssl.SSLEOFError | ssl.SSLSyscallError) or (
        "UNEXPECTED_EOF_WHILE_READING" in str(exc.strerror or "")
    )


class TLSStream(trio.abc.Stream):
    """The server side of one TLS connection over an accepted socket; see the module docstring.

    The handshake happens in the first :meth:`receive_some`, so it is bound
    by whatever deadline the caller reads under. Sends wait on the client no
    longer than ``meter`` (the minimum response rate, measured on the socket:
    what the client acknowledged, in ciphertext) allows, then raise
    ``SlowClientError``. The stream owns the socket: :meth:`aclose` closes it.

    Errors: ``trio.BrokenResourceError`` for a TLS failure (handshake,
    corrupt record, renegotiation, a send cut part-way: the stream is then
    unusable), a reset connection or a slow client;
    ``trio.ClosedResourceError`` once closed.
    """

    __slots__ = (
        "_backlog",
        "_closed",
        "_error",
        "_hold",
        "_incoming",
        "_io",
        "_meter",
        "_outgoing",
        "_peer",
        "_send_lock",
        "_ssl",
        "_started",
        "transport",
    )

    def __init__(
        self,
        transport: trio.SocketStream,
        context: ssl.SSLContext,
        meter: RateMeter | None = None,
        peer: Peer = None,
    ) -> None:
        self.transport = transport
        self._io = StreamIO(transport)
        self._meter = meter
        self._peer = peer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._started = False  # the handshake is complete
        self._hold = False  # TLS 1.3 session tickets wait in _outgoing for the first answer
        self._error: str | None = None  # why the stream is broken
        self._closed = False
        self._backlog = b""  # ciphertext made and not yet given to the kernel, oldest first
        # Held by the task sending the backlog; taken without a checkpoint when free.
        self._send_lock = trio.StrictFIFOLock()

    @property
    def ssl_object(self) -> ssl.SSLObject:
        """The connection's TLS state (peer certificate, cipher, ALPN): ``request.transport``'s."""
        return self._ssl

    @property
    def alpn_protocol(self) -> str | None:
        """The protocol ALPN chose in the handshake (``"h2"``, ``"http/1.1"``), or None."""
        return self._ssl.selected_alpn_protocol()

    def _check(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("this TLS stream was already closed")
        if self._error is not None:
            raise trio.BrokenResourceError(self._error)

    def _break(self, why: str) -> None:
        if self._error is None:
            self._error = why

    # -- reading ---------------------------------------------------------------

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next plaintext from the client, at most ``max_bytes``; ``b""`` at its EOF.

        The first call performs the handshake; a client that leaves during it
        is an EOF too. Raises ``trio.BrokenResourceError`` for a failed
        handshake or a corrupt record (logged at debug level: the client's
        fault, not the server's).
        """
        self._check()
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        if not self._started and not await self._handshake():
            return b""
        # A read returns one record's data (16 KiB at most): never allocate megabytes for it.
        size = min(max_bytes, RAW_READ) if max_bytes else RAW_READ
        sslobj = self._ssl
        while True:
            try:
                data = sslobj.read(size)
            except ssl.SSLWantReadError:
                # What a read may have made (a key update's answer, a refusal alert)
                # goes out before we wait: the client may be waiting on it.
                if self._outgoing.pending and not self._hold:
                    await self._send_output()
                await self._fill()
                continue
            except ssl.SSLError as exc:
                if _is_eof(exc):
                    return b""  # https_compatible: no close_notify needed
                self._break(f"TLS error: {exc}")
                logger.debug("TLS connection from %s failed: %s", self._peer, exc)
                raise trio.BrokenResourceError(f"TLS error: {exc}") from exc
            if self._outgoing.pending and not self._hold:
                await self._send_output()
            return data

    async def _fill(self) -> None:
        """Read ciphertext from the socket into the incoming BIO; its EOF at the client's."""
        data = await self._io.receive_some(RAW_READ)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def _handshake(self) -> bool:
        """Complete the handshake; False when the client closed during it (an EOF).

        Raises ``trio.BrokenResourceError`` when it fails, after giving the
        kernel OpenSSL's alert if it takes it at once (a plain HTTP client
        gets an alert it cannot read, and a closed connection).
        """
        sslobj = self._ssl
        while True:
            try:
                sslobj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if self._outgoing.pending:
                    await self._send_output()
                await self._fill()
            except ssl.SSLError as exc:
                self._break(f"TLS handshake failed: {exc}")
                self._write_now()
                if _is_eof(exc):
                    logger.debug("%s closed during the TLS handshake", self._peer)
                    return False
                logger.debug("TLS handshake with %s failed: %s", self._peer, exc)
                raise trio.BrokenResourceError(f"TLS handshake failed: {exc}") from exc
        self._started = True
        if sslobj.version() == "TLSv1.3":
            # OpenSSL writes TLS 1.3 session tickets as the handshake ends; sent now they
            # can reach a client that only sends (and reset its connection when it closes
            # with them unread). They go with our first answer, as trio does.
            self._hold = True
        elif self._outgoing.pending:
            await self._send_output()  # TLS 1.2: our Finished, which the client waits for
        return True

    # -- writing ---------------------------------------------------------------

    def _encrypt(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt ``data`` onto the end of the backlog (with anything held before it)."""
        self._check()
        if not self._started:
            raise trio.BrokenResourceError("nothing can be sent before the TLS handshake")
        if data:  # SSLObject.write(b"") is refused by OpenSSL: nothing to send anyway
            try:
                self._ssl.write(data)
            except ssl.SSLWantReadError as exc:
                # Only a renegotiation makes a write wait for the client, and that client
                # waits for our answer: refuse (our own contexts set OP_NO_RENEGOTIATION).
                why = "the client asked for a TLS renegotiation, which this server does not do"
                self._break(why)
                logger.debug("TLS connection from %s failed: %s", self._peer, why)
                raise trio.BrokenResourceError(why) from exc
            except ssl.SSLError as exc:
                self._break(f"TLS error: {exc}")
                raise trio.BrokenResourceError(f"TLS error: {exc}") from exc
        self._hold = False
        self._take_output()

    def _take_output(self) -> None:
        out = self._outgoing.read()
        if out:
            self._backlog = self._backlog + out if self._backlog else out

    async def _send_output(self) -> None:
        """Send what the ``SSLObject`` made by itself (handshake, alerts, key updates)."""
        self._take_output()
        await self._flush(None)

    async def send_all(
        self, data: bytes | bytearray | memoryview, meter: RateMeter | None = None
    ) -> None:
        """Encrypt and send all of ``data``; waits only while the client's window is full.

        ``meter`` bounds those waits (``SlowClientError`` past it); the
        stream's own when None. A send cancelled or cut part-way leaves the
        stream broken, as trio's do: the caller closes it.
        """
        self._encrypt(data)
        await self._flush(meter)

    def fileno(self) -> int:
        """Always -1: what is read and written here is not the socket's own bytes."""
        return -1

    def write_some(self, data: bytes) -> bytes:
        """Encrypt ``data`` and write what the kernel takes now, without waiting.

        Returns ``b""`` when all of it is on the wire; otherwise :data:`UNSENT`,
        for :meth:`send_rest` (the ciphertext left waits here, in order, since
        only whole records may follow it). Raises as :meth:`send_all`.
        """
        self._encrypt(data)
        if self._send_lock.locked():
            return UNSENT  # another task is sending: ours goes after its bytes
        backlog, self._backlog = self._backlog, b""
        try:
            rest = self._io.write_some(backlog)
        except BaseException:
            self._break("a write failed part-way")
            raise
        if rest:
            self._backlog = rest
            return UNSENT
        if self._meter is not None:
            self._meter.reset()  # the kernel took it all: the client is keeping up
        return b""

    async def send_rest(self, rest: bytes, meter: RateMeter | None = None) -> None:
        """Send what :meth:`write_some` left (``rest`` is what it returned)."""
        if rest:
            await self._flush(meter)

    async def _flush(self, meter: RateMeter | None) -> None:
        """Give the backlog to the kernel, oldest bytes first, one task at a time."""
        lock = self._send_lock
        try:
            lock.acquire_nowait()  # the common case: nobody sends, and no checkpoint
        except trio.WouldBlock:
            # Another task is sending older bytes: ours are behind them in the backlog,
            # and it or we send them once it is done (the lock is FIFO).
            await lock.acquire()
        try:
            while self._backlog:
                self._check()
                data, self._backlog = self._backlog, b""
                await self._io.send_all(data, meter if meter is not None else self._meter)
        except BaseException:
            # Cancelled, cut for a slow client or reset: some unknown part of a record
            # is on the wire, and nothing can follow it.
            self._break("a send was cut part-way")
            raise
        finally:
            lock.release()

    async def wait_send_all_might_not_block(self) -> None:
        async with self._send_lock:
            await self.transport.wait_send_all_might_not_block()

    # -- closing ---------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection: our ``close_notify`` if the kernel takes it now, then the socket.

        Never waits on the client, and is a checkpoint as trio's ``aclose``
        must be. Closing wakes a task waiting to read or write this stream
        with ``trio.ClosedResourceError``.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        if self._started and self._error is None and not self._send_lock.locked():
            try:
                self._ssl.unwrap()  # writes close_notify; the client's answer is not awaited
            except ssl.SSLError:
                pass  # SSLWantReadError: the answer has not come, which is fine
            self._write_now()
        self._closed = True
        await self.transport.aclose()

    def _write_now(self) -> None:
        """Best effort: give the kernel what the backlog and the BIO hold, if it takes it now."""
        self._take_output()
        backlog, self._backlog = self._backlog, b""
        if not backlog:
            return
        try:
            self._io.write_some(backlog)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
