"""A raw HTTP/2 client for the tests: h2's client side over a loopback socket (h2c or TLS).

It does what a test tells it to, well-behaved or not: open streams and
reset them, flood PINGs, send frames built with hyperframe, never open a
window. Every read is bounded by the caller's ``trio.fail_after``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import trio


def get_headers(
    path: str = "/", method: str = "GET", scheme: str = "http"
) -> list[tuple[bytes, bytes]]:
    return [
        (b":method", method.encode()),
        (b":scheme", scheme.encode()),
        (b":authority", b"127.0.0.1"),
        (b":path", path.encode()),
    ]


class H2Client:
    """One connection; ``conn`` is h2's client connection, ``events`` all it reported so far."""

    def __init__(
        self, stream: trio.abc.Stream, *, window: int | None = None, acknowledge: bool = True
    ) -> None:
        """``window``: the initial window we announce; ``acknowledge=False``: never reopen it."""
        self.stream = stream
        self.acknowledge = acknowledge
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.events: list[h2.events.Event] = []
        self.closed = False
        self.raw = b""  # everything the server sent

    @classmethod
    async def connect(
        cls,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        window: int | None = None,
        acknowledge: bool = True,
    ) -> H2Client:
        stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", port)
        if tls is not None:
            stream = trio.SSLStream(stream, tls, server_hostname="127.0.0.1")
        client = cls(stream, window=window, acknowledge=acknowledge)
        await client.flush()
        return client

    async def flush(self, extra: bytes = b"") -> None:
        """Send what h2 has queued (and ``extra``, raw bytes of frames built by hand)."""
        data = self.conn.data_to_send() + extra
        if data:
            await self.stream.send_all(data)

    async def receive(self) -> bool:
        """One read; its events go to :attr:`events`. False once the server has closed."""
        try:
            data = await self.stream.receive_some(65536)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.raw += data
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return False
        self.events += events
        for event in events:
            if self.acknowledge and isinstance(event, h2.events.DataReceived):
                try:
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length or 0, event.stream_id or 0
                    )
                except h2.exceptions.StreamClosedError:
                    pass
        try:
            await self.flush()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        return True

    async def until(self, done: Callable[[], bool]) -> None:
        """Read until ``done()`` or the server closes."""
        while not done() and await self.receive():
            pass

    async def request(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        body: bytes = b"",
        extra: Sequence[tuple[bytes, bytes]] = (),
    ) -> int:
        """Open a stream for a request (sent whole); its id."""
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, [*get_headers(path, method), *extra], end_stream=not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=True)
        await self.flush()
        return stream_id

    def ended(self, stream_id: int) -> bool:
        """Whether the stream has ended (answered whole, or reset)."""
        return any(
            isinstance(e, h2.events.StreamEnded | h2.events.StreamReset)
            and e.stream_id == stream_id
            for e in self.events
        )

    def status(self, stream_id: int) -> int | None:
        for e in self.events:
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream_id:
                return int(dict(e.headers or [])[b":status"])
        return None

    def body(self, stream_id: int) -> bytes:
        return b"".join(
            e.data or b""
            for e in self.events
            if isinstance(e, h2.events.DataReceived) and e.stream_id == stream_id
        )

    def reset_code(self, stream_id: int) -> int | None:
        for e in self.events:
            if isinstance(e, h2.events.StreamReset) and e.stream_id == stream_id:
                return e.error_code
        return None

    def goaway(self) -> h2.events.ConnectionTerminated | None:
        for e in self.events:
            if isinstance(e, h2.events.ConnectionTerminated):
                return e
        return None

    async def get(self, path: str = "/") -> tuple[int | None, bytes]:
        """A whole GET: its status and body."""
        stream_id = await self.request(path)
        await self.until(lambda: self.ended(stream_id))
        return self.status(stream_id), self.body(stream_id)

    async def aclose(self) -> None:
        await self.stream.aclose()
