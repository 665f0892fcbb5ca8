"""A WebSocket client for tests: trio streams and wsproto, with nothing done behind our back.

It answers no ping by itself (so a test can play a client that ignores
heartbeats), can send raw bytes (frames wsproto would refuse to make), and
reports every event as wsproto gives it. ``frame()`` builds raw client
frames.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Sequence
from types import TracebackType

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.extensions import Extension, PerMessageDeflate

READ = 64 * 1024


class Rejected(Exception):
    """The server answered the handshake with HTTP instead of 101."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.headers = headers
        self.body = body


class Closed(Exception):
    """The TCP connection ended (``close`` is the close frame seen before, if any)."""

    def __init__(self, close: CloseConnection | None) -> None:
        super().__init__(f"connection closed after {close!r}")
        self.close = close


class WSClient:
    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.accept: AcceptConnection | None = None
        self.close_received: CloseConnection | None = None
        self._events: list[Event] = []
        self._eof = False

    @classmethod
    async def connect(
        cls,
        port: int,
        path: str = "/ws",
        *,
        subprotocols: Sequence[str] = (),
        extensions: Iterable[Extension] = (),
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> WSClient:
        """Open a connection and do the handshake; :class:`Rejected` if the server refuses."""
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        client = cls(stream, WSConnection(ConnectionType.CLIENT))
        request = Request(
            host="localhost",
            target=path,
            subprotocols=list(subprotocols),
            extensions=list(extensions),
            extra_headers=list(headers),
        )
        await client.send(request)
        event = await client.next_event()
        if isinstance(event, RejectConnection):
            body = b""
            while event.has_body:
                data = await client.next_event()
                assert isinstance(data, RejectData)
                body += data.data
                if data.body_finished:
                    break
            await stream.aclose()
            raise Rejected(event.status_code, list(event.headers), body)
        assert isinstance(event, AcceptConnection), event
        client.accept = event
        return client

    @classmethod
    async def deflate(cls, port: int, path: str = "/ws") -> WSClient:
        return await cls.connect(port, path, extensions=[PerMessageDeflate()])

    async def __aenter__(self) -> WSClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stream.aclose()

    # -- sending ---------------------------------------------------------------

    async def send(self, event: Event) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def send_text(self, text: str) -> None:
        await self.send(TextMessage(text))

    async def send_bytes(self, data: bytes) -> None:
        await self.send(BytesMessage(data))

    async def ping(self, payload: bytes = b"") -> None:
        await self.send(Ping(payload))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.send(CloseConnection(code, reason))

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    def reset(self) -> None:
        """Vanish: close the socket with an RST, no close frame, no FIN."""
        self.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.stream.socket.close()

    # -- receiving -------------------------------------------------------------

    async def next_event(self) -> Event:
        """The next wsproto event; :class:`Closed` once the TCP connection has ended."""
        while not self._events:
            self._events.extend(self.ws.events())
            if self._events:
                break
            if self._eof:
                raise Closed(self.close_received)
            try:
                data = await self.stream.receive_some(READ)
            except trio.BrokenResourceError:
                data = b""
            if not data:
                self._eof = True
                continue
            self.ws.receive_data(data)
        event = self._events.pop(0)
        if isinstance(event, CloseConnection):
            self.close_received = event
        return event

    async def receive(self) -> str | bytes:
        """The next whole TEXT or BINARY message (pings and pongs are skipped, unanswered)."""
        parts: list[str | bytes] = []
        while True:
            event = await self.next_event()
            if isinstance(event, Ping | Pong):
                continue
            if not isinstance(event, Message):
                raise AssertionError(f"expected a message, got {event!r}")
            parts.append(event.data)
            if event.message_finished:
                if isinstance(event, TextMessage):
                    return "".join(p for p in parts if isinstance(p, str))
                return b"".join(p for p in parts if isinstance(p, bytes | bytearray))

    async def receive_close(self, *, reply: bool = True) -> CloseConnection:
        """Read until the server's close frame (messages before it are dropped); answer it."""
        while True:
            event = await self.next_event()
            if isinstance(event, CloseConnection):
                if reply:
                    await self.send(event.response())
                return event

    async def wait_eof(self) -> None:
        """Read (and drop) until the server closes the TCP connection."""
        while True:
            try:
                await self.next_event()
            except Closed:
                return


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    """A raw client frame (mask of zeros, so the payload goes as is)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    return head + (b"\x00\x00\x00\x00" if masked else b"") + payload
