"""Fast reads and writes on a connection's socket: on its descriptor, waiting only when told.

trio's ``SocketStream`` makes every ``receive_some``/``send_all`` go through
a conflict detector, error translation and a scheduler round trip even
when the kernel could answer at once. Measured on a bare HTTP loop that
answers a canned response, that costs 7.4 us of CPU per request (19.2 us
against 11.8 us). :class:`StreamIO` reads and writes the descriptor
directly and waits (``trio.lowlevel.wait_readable``/``wait_writable``) only
when the kernel says it would block, so a read is a checkpoint only when it
has to wait, and a write that the kernel takes whole is none. A connection
still yields once per request: its task parks on the reply.

Errors are trio's: a reset or closed peer is ``trio.BrokenResourceError``,
a closed socket ``trio.ClosedResourceError``. Streams that are not plain
sockets (TLS, in-memory test streams) go through the stream as usual.

A send given a :class:`~._rate.RateMeter` waits on the client only as long
as the minimum response rate allows, then raises
:class:`~._rate.SlowClientError`. What counts as moved is what the client's
kernel acknowledged (the send queue's size, ``TIOCOUTQ``, shrinking), not
what ours took: our kernel buffers megabytes for a fast client, and counted
as sent they would let a client that stops reading hold its connection for
hours at 240 bytes/s. Where the kernel cannot say (not Linux), what it took
counts, as Kestrel counts what reaches its transport.
"""

from __future__ import annotations

import errno
import logging
import os
import struct
from collections.abc import Callable

import trio

from ._eofgate import EofGate
from ._rate import RateMeter, SlowClientError

__all__ = ["SerialSendStream", "StreamIO", "send_all_metered", "unacknowledged"]

logger = logging.getLogger("actorhttp")
_CLOSED = frozenset({errno.EBADF, errno.ENOTSOCK})
PROBE_EVERY = 16
"""While reads wait first, one read in this many tries first (see ``receive_some``)."""
METERED_SLICE = 64 * 1024
"""A metered send to a stream that is not a socket goes in slices of this size, so that
each slice's wait is measured (a socket's writes are measured as the kernel takes them)."""


def _send_queue_probe() -> Callable[[int], bytes] | None:
    """Linux's TIOCOUTQ (SIOCOUTQ) ioctl on a socket, or None where there is none."""
    try:
        from fcntl import ioctl
        from termios import TIOCOUTQ  # type: ignore[attr-defined,unused-ignore]  # not macOS
    except ImportError:  # Windows, macOS: what the kernel took counts as sent
        return None
    return lambda fd: ioctl(fd, TIOCOUTQ, b"\0\0\0\0")


_probe = _send_queue_probe()


def unacknowledged(fd: int) -> int:
    """Bytes in ``fd``'s send queue that the peer has not acknowledged; 0 if unknown."""
    if _probe is None:
        return 0
    try:
        answer = _probe(fd)
    except OSError:
        return 0
    count: int = struct.unpack("i", answer)[0]
    return count


def _translate(exc: OSError) -> Exception:
    if exc.errno in _CLOSED:
        return trio.ClosedResourceError("this socket was already closed")
    return trio.BrokenResourceError(f"socket connection broken: {exc}")


class StreamIO:
    """``receive_some`` and ``send_all`` for one connection's stream; see the module docstring."""

    __slots__ = ("_reads", "_socket", "_wait_first", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._wait_first = False
        self._reads = 0

    async def receive_some(self, max_bytes: int) -> bytes:
        """The next bytes from the peer; ``b""`` at its EOF.

        After a read that found nothing, the following reads wait before
        reading: a client that sends its next request only once it has read the
        answer to the last (most do) has sent nothing yet, and trying anyway
        costs a failed system call and an exception per request. Every
        :data:`PROBE_EVERY` reads one tries first again, so a connection whose
        client starts to send ahead (pipelining) goes back to reading first.
        """
        sock = self._socket
        if sock is None:
            return bytes(await self.stream.receive_some(max_bytes))
        self._reads += 1
        wait_first = self._wait_first and self._reads % PROBE_EVERY != 0
        while True:
            fd = sock.fileno()  # -1 once closed: never a descriptor reused by another socket
            if fd < 0:
                raise trio.ClosedResourceError("this socket was already closed")
            if wait_first:
                # Closing the socket meanwhile wakes this with ClosedResourceError (trio's
                # notify_closing): past the wait, fd is still this connection's.
                await trio.lowlevel.wait_readable(fd)
            try:
                data = os.read(fd, max_bytes)
            except BlockingIOError:
                self._wait_first = wait_first = True
                continue
            except OSError as exc:
                raise _translate(exc) from exc
            if not wait_first:
                self._wait_first = False  # there was something to read at once
            return data

    def fileno(self) -> int:
        """The plain socket's descriptor (-1 once closed, or for a stream that is not one)."""
        sock = self._socket
        return -1 if sock is None else sock.fileno()

    def write_some(self, data: bytes) -> bytes:
        """Write what the kernel takes of ``data`` now, without waiting; return the rest.

        All of ``data`` comes back for a stream that is not a plain socket.
        Raises as :meth:`send_all` does.
        """
        sock = self._socket
        if sock is None:
            return data
        sent = _write_now(sock, data)
        return data[sent:] if sent < len(data) else b""

    async def send_all(self, data: bytes, meter: RateMeter | None = None) -> None:
        """Send every byte of ``data``; waits only while the kernel's buffer is full.

        With a ``meter``, each wait lasts at most what the minimum rate allows;
        past it, ``SlowClientError``. A send the kernel takes whole at once
        starts the meter again: the client is keeping up.
        """
        sock = self._socket
        if sock is None:
            if meter is None:
                await self.stream.send_all(data)
            else:
                await send_all_metered(self.stream, data, meter)
            return
        sent = _write_now(sock, data)
        if sent == len(data):
            if meter is not None:
                meter.reset()
            return  # the common case: all of it, at once
        fd = sock.fileno()
        if meter is not None:
            meter.queued = unacknowledged(fd)  # from here on, the client's pace counts
        view = memoryview(data)[sent:]
        while view:
            if meter is None:
                await trio.lowlevel.wait_writable(fd)
            else:
                await _wait_writable_metered(fd, meter)
            written = _write_now(sock, view)  # raises if the socket closed while we waited
            view = view[written:]
            if meter is not None:
                meter.queued += written

    send_rest = send_all
    """Send what :meth:`write_some` left of its data (for a plain socket, those very bytes)."""


def _write_now(sock: trio.socket.SocketType, data: bytes | memoryview) -> int:
    """Write what the kernel takes of ``data`` now: how many bytes (0 when it takes none).

    ``trio.ClosedResourceError`` if the socket was closed (by another task
    while this one waited), and a reset or broken pipe translated as trio's
    streams raise them.
    """
    fd = sock.fileno()
    if fd < 0:
        raise trio.ClosedResourceError("this socket was already closed")
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        raise _translate(exc) from exc


async def _wait_writable_metered(fd: int, meter: RateMeter) -> None:
    """Wait until ``fd`` is writable, no longer than ``meter`` allows; record what the client
    took meanwhile. ``SlowClientError`` once it took too little for the time waited.

    The kernel wakes a writer only once a third of its buffer is free, which a
    slow honest client may take long to make: so a wait that reaches the
    meter's budget looks at the acknowledged bytes, and goes on if they earned
    more time.
    """
    start = trio.current_time()
    with trio.move_on_at(start + meter.budget()) as scope:
        await trio.lowlevel.wait_writable(fd)
    queued = unacknowledged(fd)
    meter.record(trio.current_time() - start, max(meter.queued - queued, 0))
    meter.queued = queued
    if scope.cancelled_caught and meter.budget() <= 0:
        raise SlowClientError(meter.describe("the client read the response"))


async def send_all_metered(
    stream: trio.abc.SendStream, data: bytes | bytearray | memoryview, meter: RateMeter
) -> None:
    """``stream.send_all(data)``, cut with ``SlowClientError`` when the client reads too slowly.

    For streams that are not plain sockets: the data goes in slices, each
    given what the meter allows. A slice cut part-way leaves the stream
    broken, as trio's ``send_all`` does on cancellation: the caller closes it.
    """
    view = memoryview(data)
    for offset in range(0, len(view), METERED_SLICE):
        piece = view[offset : offset + METERED_SLICE]
        start = trio.current_time()
        with trio.move_on_at(start + meter.budget()) as scope:
            await stream.send_all(piece)
        meter.record(trio.current_time() - start, 0 if scope.cancelled_caught else len(piece))
        if scope.cancelled_caught:
            raise SlowClientError(meter.describe("the client read the response"))


class SerialSendStream(trio.abc.HalfCloseableStream):
    """A socket stream whose sends are metered, and whose ``send_eof`` waits for a send.

    What a protocol layer above runs on: hypercorn, with or without its
    ``trio.SSLStream`` (the httptools transport has its own TLS stream,
    ``_tlsio.TLSStream``, which meters the socket through :class:`StreamIO`).
    Sends go through :class:`StreamIO` with the connection's minimum response
    rate, measured on the socket itself (what the client acknowledged): a
    client that stops reading is cut with ``SlowClientError`` (a
    ``BrokenResourceError``: the layer above sees a vanished client, and a
    streaming writer gets ``ConnectionResetError``) and its socket is closed
    (hypercorn would otherwise wait on it for the client's next request).
    For hypercorn this is the one place that can do it: it shields its sends
    from cancellation, so nothing above the stream can bound them.

    hypercorn's ``TCPServer._close()`` calls ``send_eof()`` without taking the
    send lock its ``protocol_send`` holds around ``send_all``. When a client
    closes right after reading an answer (a refused upload, say), the last
    ``send_all`` can still be running: trio's conflict detector then fails
    that send with ``BusyResourceError``, which hypercorn reports as "Error
    in ASGI Framework" (hypercorn 0.18 does it with any ASGI app). Serialising
    both behind one lock here makes ``send_eof`` happen after the send, as it
    should. The ``socket`` attribute is what TCPServer reads the addresses from.
    With an ``eof_gate``, the client's EOF waits on it (``_eofgate``).
    """

    def __init__(
        self,
        stream: trio.SocketStream,
        meter: RateMeter | None = None,
        peer: tuple[str, int] | None = None,
    ) -> None:
        self.stream = stream
        self.peer = peer
        self.socket = stream.socket
        self._io = StreamIO(stream)
        self._meter = meter
        self._send_lock = trio.StrictFIFOLock()
        self.eof_gate: EofGate | None = None

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        async with self._send_lock:
            try:
                await self._io.send_all(
                    data if isinstance(data, bytes) else bytes(data), self._meter
                )
            except SlowClientError as exc:
                logger.info("connection from %s cut: %s", self.peer, exc)
                self.stream.socket.close()  # wakes hypercorn's read of it: the connection ends
                raise

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        async with self._send_lock:
            await self.stream.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.stream.receive_some(max_bytes)
        if not data and self.eof_gate is not None:
            await self.eof_gate.wait()  # see _eofgate: the answer in flight goes out first
        return data

    async def aclose(self) -> None:
        await self.stream.aclose()
