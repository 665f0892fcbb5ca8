"""A WebSocket client with aiohttp's ``ClientWebSocketResponse`` API, for ``TestClient.ws_connect``.

wsproto (the sans-IO protocol the server side uses too) over a trio
stream, read only when the test asks for a message: no task behind the
test's back, so the socket belongs to the task that uses it. Pings are
answered while receiving (``autoping``), a close from the server is
answered (``autoclose``), and what comes back is actorhttp's ``WSMessage``,
the value the server side receives too (``msg.type``, ``msg.data``,
``msg.json()``).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import trio
from multidict import CIMultiDict, CIMultiDictProxy
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError
from yarl import URL

from ._web._wsmodels import WS_CLOSED_MESSAGE, WSCloseCode, WSMessage, WSMsgType

__all__ = [
    "ClientWebSocketResponse",
    "WSServerHandshakeError",
    "handshake_headers",
    "ws_connect",
]

READ_SIZE = 64 * 1024


class WSServerHandshakeError(Exception):
    """The server answered the WebSocket handshake with a plain HTTP response (aiohttp's name).

    ``status`` is its status, ``message`` its reason phrase, ``headers`` its
    headers and ``body`` what it sent as a body.
    """

    def __init__(
        self, status: int, message: str, headers: CIMultiDictProxy[str], body: bytes
    ) -> None:
        super().__init__(f"{status}, message={message!r}")
        self.status = status
        self.message = message
        self.headers = headers
        self.body = body


def _headers(pairs: list[tuple[bytes, bytes]]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(
        CIMultiDict((name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs)
    )


async def ws_connect(
    url: URL,
    headers: Mapping[str, str],
    *,
    protocols: tuple[str, ...] = (),
    ssl_context: ssl.SSLContext | None = None,
    autoclose: bool = True,
    autoping: bool = True,
    max_msg_size: int = 4 * 1024 * 1024,
    receive_timeout: float | None = None,
) -> ClientWebSocketResponse:
    """Open ``url`` (``http``/``https`` or ``ws``/``wss``) and do the handshake.

    ``WSServerHandshakeError`` when the server answers with anything but 101;
    ``OSError`` when it cannot be reached.
    """
    secure = url.scheme in ("https", "wss")
    host, port = url.host or "127.0.0.1", url.port or (443 if secure else 80)
    stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    try:
        if secure:
            context = ssl_context if ssl_context is not None else ssl.create_default_context()
            stream = trio.SSLStream(stream, context, server_hostname=host)
        ws = WSConnection(ConnectionType.CLIENT)
        request = Request(
            host=url.raw_authority or host,
            target=url.raw_path_qs or "/",
            subprotocols=list(protocols),
            extra_headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        )
        await stream.send_all(ws.send(request))
        accepted = await _handshake(stream, ws)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return ClientWebSocketResponse(
        stream,
        ws,
        accepted,
        autoclose=autoclose,
        autoping=autoping,
        max_msg_size=max_msg_size,
        receive_timeout=receive_timeout,
    )


def _refused(rejected: RejectConnection, body: bytes) -> WSServerHandshakeError:
    headers = _headers(rejected.headers)
    return WSServerHandshakeError(rejected.status_code, "Invalid response status", headers, body)


async def _handshake(stream: trio.abc.Stream, ws: WSConnection) -> AcceptConnection:
    rejected: RejectConnection | None = None
    body = b""
    while True:
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                return event
            if isinstance(event, RejectConnection):
                rejected = event
                if not event.has_body:
                    break
            elif isinstance(event, RejectData):
                body += event.data
                if not event.body_finished:
                    continue
            if rejected is not None:
                raise WSServerHandshakeError(
                    rejected.status_code,
                    "Invalid response status",
                    _headers(rejected.headers),
                    body,
                )
        data = await stream.receive_some(READ_SIZE)
        if not data:
            if rejected is not None:  # a body ended by the close of the connection
                raise WSServerHandshakeError(
                    rejected.status_code,
                    "Invalid response status",
                    _headers(rejected.headers),
                    body,
                )
            raise ConnectionResetError("the server closed the connection during the handshake")
        ws.receive_data(bytes(data))


class ClientWebSocketResponse:
    """One open WebSocket, as aiohttp's client gives it: receive, send, close, iterate.

    ``receive()`` returns a ``WSMessage``: TEXT, BINARY, CLOSE (the server's
    close, with its code and reason), CLOSED (the connection is over), ERROR
    (the server broke the protocol, or a message was over ``max_msg_size``),
    and PING/PONG only with ``autoping=False``. ``async for msg in ws`` stops
    at the close. Sending after the close raises ``ConnectionResetError``.
    Must be used, and closed, by one task at a time.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        ws: WSConnection,
        accepted: AcceptConnection,
        *,
        autoclose: bool,
        autoping: bool,
        max_msg_size: int,
        receive_timeout: float | None,
    ) -> None:
        self._stream = stream
        self._ws = ws
        self._protocol = accepted.subprotocol
        self._autoclose = autoclose
        self._autoping = autoping
        self._max_msg_size = max_msg_size
        self._receive_timeout = receive_timeout
        self._parts: list[str | bytes | bytearray] = []
        self._size = 0
        self._closed = False
        self._close_sent = False
        self._close_code: int | None = None
        self._exception: BaseException | None = None
        self._pending: list[WSMessage] = []

    @property
    def closed(self) -> bool:
        """True once a close frame was sent or the connection ended."""
        return self._closed

    @property
    def close_code(self) -> int | None:
        """The close code the server sent (or 1006 if the connection just ended)."""
        return self._close_code

    @property
    def protocol(self) -> str | None:
        """The subprotocol the server chose, if any."""
        return self._protocol

    def exception(self) -> BaseException | None:
        """What broke the connection, if anything did."""
        return self._exception

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Nothing is known beyond the socket: ``default``, as for a name aiohttp lacks."""
        return default

    # -- sending --------------------------------------------------------------------

    async def _send(self, event: Message[Any] | Ping | Pong | CloseConnection) -> None:
        if self._closed:
            raise ConnectionResetError("Cannot write to closing transport")
        try:
            await self._stream.send_all(self._ws.send(event))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._closed = True
            raise ConnectionResetError("the connection was lost") from exc

    async def send_str(self, data: str, compress: int | None = None) -> None:
        """Send a TEXT message; ``TypeError`` for anything but ``str``."""
        if not isinstance(data, str):
            raise TypeError(f"data argument must be str ({type(data)!r})")
        await self._send(TextMessage(data=data))

    async def send_bytes(self, data: bytes, compress: int | None = None) -> None:
        """Send a BINARY message; ``TypeError`` for anything but bytes."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        await self._send(BytesMessage(data=bytes(data)))

    async def send_json(
        self, data: Any, compress: int | None = None, *, dumps: Callable[[Any], str] = json.dumps
    ) -> None:
        """Send ``dumps(data)`` as a TEXT message."""
        await self.send_str(dumps(data))

    async def ping(self, message: bytes = b"") -> None:
        """Send a PING."""
        await self._send(Ping(payload=message))

    async def pong(self, message: bytes = b"") -> None:
        """Send a PONG."""
        await self._send(Pong(payload=message))

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"") -> bool:
        """Close (the handshake: send a close, wait for the server's); False if already closed."""
        if self._closed:
            await trio.aclose_forcefully(self._stream)
            return False
        try:
            await self._send(CloseConnection(code=code, reason=message.decode("utf-8", "replace")))
            self._close_sent = True
            with trio.move_on_after(self._receive_timeout or 10):
                while self._close_code is None and not self._stream_ended:
                    await self._read_events()
        except (ConnectionResetError, LocalProtocolError):
            pass
        finally:
            self._closed = True
            if self._close_code is None:
                self._close_code = code
            await trio.aclose_forcefully(self._stream)
        return True

    # -- receiving --------------------------------------------------------------------

    _stream_ended = False

    async def _read_events(self) -> None:
        """Turn wsproto's events into pending messages, reading once from the socket first
        unless wsproto holds some already (frames that came in the handshake's last read:
        reading first would wait for more while they sit there)."""
        try:
            events = list(self._ws.events())
            if not events:
                try:
                    data = await self._stream.receive_some(READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                if not data:
                    self._stream_ended = True
                self._ws.receive_data(bytes(data) or None)
                events = list(self._ws.events())
        except RemoteProtocolError as exc:
            self._exception = exc
            self._pending.append(WSMessage(WSMsgType.ERROR, exc, None))
            self._closed = True
            return
        for event in events:
            await self._on_event(event)
        if self._stream_ended and not self._pending:
            self._closed = True
            if self._close_code is None:
                self._close_code = WSCloseCode.ABNORMAL_CLOSURE
            self._pending.append(WS_CLOSED_MESSAGE)

    async def _on_event(self, event: object) -> None:
        if isinstance(event, TextMessage | BytesMessage):
            self._parts.append(event.data)
            self._size += len(event.data)
            if self._size > self._max_msg_size:
                error = ValueError(f"Message size {self._size} exceeds limit {self._max_msg_size}")
                self._exception = error
                self._pending.append(WSMessage(WSMsgType.ERROR, error, None))
                return
            if event.message_finished:
                if isinstance(event, TextMessage):
                    text = "".join(str(part) for part in self._parts)
                    self._pending.append(WSMessage(WSMsgType.TEXT, text, None))
                else:
                    data = b"".join(bytes(part) for part in self._parts)  # type: ignore[arg-type]
                    self._pending.append(WSMessage(WSMsgType.BINARY, data, None))
                self._parts, self._size = [], 0
        elif isinstance(event, Ping):
            if self._autoping:
                await self._stream.send_all(self._ws.send(event.response()))
            else:
                self._pending.append(WSMessage(WSMsgType.PING, bytes(event.payload), None))
        elif isinstance(event, Pong):
            if not self._autoping:
                self._pending.append(WSMessage(WSMsgType.PONG, bytes(event.payload), None))
        elif isinstance(event, CloseConnection):
            self._close_code = event.code
            if self._autoclose and not self._closed and not self._close_sent:
                try:
                    await self._stream.send_all(self._ws.send(event.response()))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
            self._closed = True
            self._pending.append(WSMessage(WSMsgType.CLOSE, event.code, event.reason))

    async def receive(self, timeout: float | None = None) -> WSMessage:  # noqa: ASYNC109
        """The next message; CLOSED once the connection is over (see the class docstring).

        ``TimeoutError`` after ``timeout`` (or ``receive_timeout``) seconds without one.
        """
        limit = timeout if timeout is not None else self._receive_timeout
        with trio.fail_after(limit) if limit is not None else trio.CancelScope():
            while not self._pending:
                if self._stream_ended:
                    return WS_CLOSED_MESSAGE
                await self._read_events()
        return self._pending.pop(0)

    async def receive_str(self, *, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """The next message's text; ``TypeError`` if it is not TEXT."""
        msg = await self.receive(timeout)
        if msg.type is not WSMsgType.TEXT:
            raise TypeError(f"Received message {msg.type}:{msg.data!r} is not str")
        text: str = msg.data
        return text

    async def receive_bytes(self, *, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """The next message's bytes; ``TypeError`` if it is not BINARY."""
        msg = await self.receive(timeout)
        if msg.type is not WSMsgType.BINARY:
            raise TypeError(f"Received message {msg.type}:{msg.data!r} is not bytes")
        data: bytes = msg.data
        return data

    async def receive_json(
        self,
        *,
        loads: Callable[[str], Any] = json.loads,
        timeout: float | None = None,  # noqa: ASYNC109  (aiohttp's signature)
    ) -> Any:
        """The next TEXT message, parsed as JSON."""
        return loads(await self.receive_str(timeout=timeout))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> WSMessage:
        msg = await self.receive()
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            raise StopAsyncIteration
        return msg

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ClientWebSocketResponse {state}>"


# Fields the handshake writes itself, or that mean nothing on a WebSocket.
_WS_OWN_HEADERS = frozenset(
    {"host", "connection", "upgrade", "content-length", "transfer-encoding", "accept-encoding"}
)


def handshake_headers(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``fields`` (a client's default headers and cookies) less those the handshake owns."""
    return {
        name: value
        for name, value in fields
        if name.lower() not in _WS_OWN_HEADERS and not name.lower().startswith("sec-websocket-")
    }
