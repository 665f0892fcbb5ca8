"""WebSocketResponse, as aiohttp's: the handshake, then messages both ways over a WSLink.

``prepare(request)`` checks the handshake as aiohttp does (a bad or missing
``Upgrade``, ``Connection``, ``Sec-WebSocket-Version`` or ``Sec-WebSocket-Key``
is an ``HTTPBadRequest`` saying which; so is a handshake that is not an
HTTP/1.1 GET, as RFC 6455 asks and hypercorn assumes), picks the subprotocol, negotiates
permessage-deflate when ``compress``, and hands the response over on the
reply like any response. The transport answers 101 and accepts; from then
on messages flow through the two bounded channels of a
:class:`~actorhttp._web._wslink.WSLink` (see there for the bounds and what
a full channel does). ``prepare`` returns once the 101 is out.

The close handshake, both ways:

* ``close(code=, message=)`` sends a close frame and waits up to ``timeout``
  for the client's; ``close_code`` is then the client's code (1006 and
  ``exception()`` a ``TimeoutError`` if none came). A ``receive()`` waiting
  in another task returns CLOSING, as in aiohttp.
* a client's close frame makes ``receive()`` return CLOSE (code in
  ``data``, reason in ``extra``); with ``autoclose`` it is answered first.
* a client that breaks the protocol gets a close frame from the
  connection (1002; 1007 for text that is not UTF-8; 1009 past
  ``max_msg_size``) and ``receive()`` returns ERROR with a
  :class:`WebSocketError` whose ``code`` says which.
* a connection that ends with no close frame (the client vanished, a
  missed heartbeat pong) makes ``receive()`` return CLOSED (ERROR with the
  ``TimeoutError`` for the heartbeat), ``close_code`` 1006.

With ``decode_text=False`` a TEXT message's data is its UTF-8 bytes (for a
``loads`` that takes bytes, such as orjson's), as aiohttp gives it; with
``timeout=0`` a ``close()`` does not wait for the client's close frame
(``close_code`` 1006, as aiohttp's).

Where this differs from aiohttp: ``send_str``/``send_bytes`` take no
per-message ``compress`` (permessage-deflate is on or off for the whole
connection), there is no ``send_frame`` or ``writer_limit``; a ``close()``
while another task receives still waits for the client's close frame,
where aiohttp drops the connection at once.
The hypercorn transport cannot do everything (ASGI has no ping/pong and
hides close frames): see ``actorhttp._transports._asgiws``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Self

import trio

from .._pipe import ClientDisconnectedError
from ._exceptions import HTTPException
from ._response import StreamResponse, _send_on_reply
from ._wshandshake import handshake
from ._wslink import WSLink
from ._wsmodels import (
    WS_CLOSED_MESSAGE,
    WS_CLOSING_MESSAGE,
    WebSocketError,
    WebSocketReady,
    WSCloseCode,
    WSMessage,
    WSMessageTypeError,
    WSMsgType,
)

if TYPE_CHECKING:
    from wsproto.extensions import PerMessageDeflate

    from ._request import BaseRequest

__all__ = ["WebSocketResponse"]

logger = logging.getLogger("actorhttp")
THRESHOLD_CONNLOST_ACCESS: Final = 5  # receive() after the end, this often: RuntimeError
_CONTROL_PAYLOAD = 125  # bytes a ping, pong (or close, with its code) may carry
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY


def _check_seconds(
    name: str, value: float | None, *, allow_none: bool, allow_zero: bool = False
) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (value > 0 or (allow_zero and value == 0))
    ):
        least = "zero or more" if allow_zero else "a positive number of"
        raise ValueError(f"{name} must be {least} seconds, not {value!r}")


class WebSocketResponse(StreamResponse):
    """A WebSocket, server side, with aiohttp's API; see the module docstring."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        receive_timeout: float | None = None,
        autoclose: bool = True,
        autoping: bool = True,
        heartbeat: float | None = None,
        protocols: Iterable[str] = (),
        compress: bool = True,
        max_msg_size: int = 4 * 1024 * 1024,
        decode_text: bool = True,
    ) -> None:
        super().__init__(status=101)
        _check_seconds("timeout", timeout, allow_none=False, allow_zero=True)  # 0: no wait
        _check_seconds("receive_timeout", receive_timeout, allow_none=True)
        _check_seconds("heartbeat", heartbeat, allow_none=True)
        if isinstance(max_msg_size, bool) or not isinstance(max_msg_size, int) or max_msg_size < 0:
            raise ValueError(f"max_msg_size must be an int >= 0 (0: none), not {max_msg_size!r}")
        self._timeout = timeout
        self._receive_timeout = receive_timeout
        self._autoclose = autoclose
        self._autoping = autoping
        self._heartbeat = heartbeat
        self._protocols = tuple(protocols)
        self._compress: bool | int = compress
        self._max_msg_size = max_msg_size
        self._decode_text = decode_text
        self._link: WSLink | None = None
        self._ws_protocol: str | None = None
        self._closed = False  # we sent our close frame, or the connection is gone
        self._closing = False  # the client's close frame came
        self._close_code: int | None = None
        self._exception: BaseException | None = None
        self._waiting: trio.CancelScope | None = None  # the receive() in progress
        self._receive_done = trio.Event()
        self._conn_lost = 0
        self._request: BaseRequest | None = None  # once prepared: get_extra_info asks it

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """As aiohttp's: the connection's ``"peername"`` while open; else ``default``."""
        if self._request is None or self._closed:
            return default
        return self._request.get_extra_info(name, default)

    # -- the handshake -----------------------------------------------------------

    def _handshake(
        self, request: BaseRequest
    ) -> tuple[dict[str, str], str | None, PerMessageDeflate | None]:
        return handshake(request, self._protocols, compress=bool(self._compress))

    def can_prepare(self, request: BaseRequest) -> WebSocketReady:
        """Whether ``prepare(request)`` would succeed, and the subprotocol it would pick."""
        if self._link is not None:
            raise RuntimeError("Already started")
        try:
            _, protocol, _ = self._handshake(request)
        except HTTPException:
            return WebSocketReady(False, None)
        return WebSocketReady(True, protocol)

    async def prepare(self, request: BaseRequest) -> None:
        """Check the handshake, hand the 101 over, and return once the connection accepted.

        Raises ``HTTPBadRequest`` for a request that is not a valid WebSocket
        handshake (before anything is sent) and ``ConnectionResetError`` if
        the client has gone.
        """
        if self._link is not None:
            return
        answer, protocol, extension = self._handshake(request)
        self.set_status(101)
        self.headers.update(answer)
        self.force_close()
        await request._prepare_hook(self)
        link = self._link = WSLink(
            protocol=protocol,
            extension=extension,
            heartbeat=self._heartbeat,
            max_msg_size=self._max_msg_size,
        )
        self._ws_protocol = protocol
        self._request = request
        try:
            await _send_on_reply(request, self)
            await link.wait_accepted()
        except BaseException:
            self._closed = True
            self._close_code = WSCloseCode.ABNORMAL_CLOSURE
            link.abort(WSCloseCode.INTERNAL_ERROR)
            raise
        self._compress = link.compress

    def _hand_over(self) -> None:
        if self._link is None:
            raise RuntimeError("a WebSocketResponse is sent by prepare(request), not on a reply")
        super()._hand_over()

    # -- state ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the socket is closed or closing from our side, or is gone."""
        link = self._link
        return self._closed or (link is not None and link.failure is not None)

    @property
    def close_code(self) -> int | None:
        """The close code: the client's (or the one we failed it with); 1006 with no close frame."""
        link = self._link
        if self._close_code is None and link is not None and link.failure is not None:
            return WSCloseCode.ABNORMAL_CLOSURE
        return self._close_code

    @property
    def ws_protocol(self) -> str | None:
        """The subprotocol chosen in the handshake."""
        return self._ws_protocol

    @property
    def compress(self) -> int | bool:
        """Before ``prepare``: the wish; after: permessage-deflate's window bits, 0 when off."""
        return self._compress

    def exception(self) -> BaseException | None:
        """What ended the socket abnormally (a missed pong, a close reply that never came)."""
        return self._exception

    # -- sending -------------------------------------------------------------------

    def _ready(self) -> WSLink:
        link = self._link
        if link is None:
            raise RuntimeError("Call .prepare() first")
        return link

    async def _send(self, message: WSMessage) -> None:
        link = self._ready()
        if self._closed:
            raise ClientDisconnectedError("Cannot write to closing transport")
        # With room in the channel, hand over without a scheduler round trip: the
        # connection's writer then sends what queued meanwhile in one write. Waiting
        # happens only when the channel is full (or cancelled: checked first).
        await trio.lowlevel.checkpoint_if_cancelled()
        outbound = link.outbound_send
        try:
            try:
                outbound.send_nowait(message)
            except trio.WouldBlock:
                await outbound.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClientDisconnectedError("Cannot write to closing transport") from exc

    async def send_str(self, data: str) -> None:
        """Send a TEXT message; waits while ``OUTBOUND_SIZE`` messages are queued."""
        self._ready()
        if not isinstance(data, str):
            raise TypeError(f"data argument must be str ({type(data)!r})")
        await self._send(WSMessage(_TEXT, data, None))

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a BINARY message; waits while ``OUTBOUND_SIZE`` messages are queued."""
        self._ready()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        await self._send(WSMessage(_BINARY, bytes(data), None))

    async def send_json(self, data: Any, *, dumps: Callable[[Any], str] = json.dumps) -> None:
        """Send ``dumps(data)`` as a TEXT message."""
        await self.send_str(dumps(data))

    async def send_json_bytes(self, data: Any, *, dumps: Callable[[Any], bytes]) -> None:
        """JSON from an encoder that returns bytes (orjson, say), sent as BINARY."""
        await self.send_bytes(dumps(data))

    async def _control(self, kind: WSMsgType, message: bytes) -> None:
        link = self._ready()
        if not link.can_ping:
            raise NotImplementedError(
                f"this transport cannot send a {kind.name} frame: ASGI (hypercorn) has no "
                "ping/pong; serve with transport='httptools' for ping(), pong() and heartbeat"
            )
        data = bytes(message)
        if len(data) > _CONTROL_PAYLOAD:
            raise ValueError(f"a {kind.name} frame carries at most {_CONTROL_PAYLOAD} bytes")
        await self._send(WSMessage(kind, data, None))

    async def ping(self, message: bytes = b"") -> None:
        """Send a PING; on the hypercorn transport ``NotImplementedError`` (ASGI has no ping)."""
        await self._control(WSMsgType.PING, message)

    async def pong(self, message: bytes = b"") -> None:
        """An unsolicited pong (``autoping`` answers pings by itself)."""
        await self._control(WSMsgType.PONG, message)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Always ``RuntimeError``, as aiohttp's: a WebSocket sends messages, not body bytes."""
        raise RuntimeError("Cannot call .write() for websocket")

    async def write_eof(self, data: bytes = b"") -> None:
        """Close the socket, as aiohttp does (the router calls this when the handler returns)."""
        if self._eof_sent:
            return
        if self._link is None:
            raise RuntimeError("Response has not been started")
        await self.close()
        self._eof_sent = True

    def _abort(self, exc: BaseException) -> None:
        """The handler failed: the connection closes with 1011 unless it was already closed."""
        self._eof_sent = True
        link = self._link
        if link is not None and not self._closed:
            self._closed = True
            link.abort(WSCloseCode.INTERNAL_ERROR)

    def _release(self) -> None:
        """Done with the socket: the connection closes it once our close frame is out."""
        link = self._link
        if link is not None:
            link.outbound_send.close()
            link.inbound_receive.close()

    # -- closing -------------------------------------------------------------------

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes | str = b"") -> bool:
        """Send a close frame and wait for the client's (up to ``timeout``); False if closed.

        ``ValueError`` for a code that may not be sent (1000-2999 and
        3000-4999 may, minus 1004-1006 and 1015) or a message over 123 bytes.
        """
        link = self._ready()
        reason = message.decode("utf-8") if isinstance(message, bytes | bytearray) else message
        if not (1000 <= code < 5000) or code in (1004, 1005, 1006, 1015):
            raise ValueError(f"{code} is not a close code that may be sent")
        if len(reason.encode("utf-8")) > _CONTROL_PAYLOAD - 2:
            raise ValueError(f"a close message carries at most {_CONTROL_PAYLOAD - 2} bytes")
        if self._closed:
            return False
        self._closed = True
        try:
            try:
                await link.outbound_send.send(WSMessage(WSMsgType.CLOSE, int(code), reason))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                # The connection is gone: keep the client's code if its close frame came.
                if not self._closing:
                    self._close_code = WSCloseCode.ABNORMAL_CLOSURE
                return True
            if self._waiting is not None:
                # Another task is in receive(): it returns CLOSING, and we read the reply.
                self._waiting.cancel()
                await self._receive_done.wait()
            if self._closing:
                return True  # that was the answer to the client's close frame
            await self._wait_close_reply(link)
            return True
        except BaseException:
            if self._close_code is None:
                self._close_code = WSCloseCode.ABNORMAL_CLOSURE
            raise
        finally:
            self._release()

    async def _wait_close_reply(self, link: WSLink) -> None:
        with trio.move_on_after(self._timeout) as scope:
            while True:
                try:
                    reply = await link.inbound_receive.receive()
                except trio.EndOfChannel:
                    self._close_code = WSCloseCode.ABNORMAL_CLOSURE
                    self._exception = link.failure or ClientDisconnectedError(
                        "the connection ended before the client's close frame"
                    )
                    return
                if reply.type is WSMsgType.CLOSE:
                    self._close_code = reply.data
                    return
                if reply.type is WSMsgType.ERROR:
                    self._close_code = reply.data.code
                    return
        if scope.cancelled_caught:
            self._close_code = WSCloseCode.ABNORMAL_CLOSURE
            self._exception = TimeoutError(f"no close frame from the client in {self._timeout} s")

    # -- receiving -----------------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> WSMessage:  # noqa: ASYNC109
        """The next message: TEXT, BINARY, CLOSE, CLOSING, CLOSED or ERROR.

        PING and PONG too, without ``autoping``. (``timeout`` is aiohttp's API.)

        Raises ``TimeoutError`` after ``timeout`` (or ``receive_timeout``)
        seconds with nothing, ``RuntimeError`` if another task is already
        receiving or after CLOSED has been returned 5 times.
        """
        link = self._ready()
        receive_timeout = timeout or self._receive_timeout
        while True:
            if self._waiting is not None:
                raise RuntimeError("Concurrent call to receive() is not allowed")
            if self._closed:
                self._conn_lost += 1
                if self._conn_lost >= THRESHOLD_CONNLOST_ACCESS:
                    raise RuntimeError("WebSocket connection is closed.")
                return WS_CLOSED_MESSAGE
            if self._closing:
                return WS_CLOSING_MESSAGE
            failure = link.failure  # a local: link.failure changes while we wait below
            if failure is not None:
                return self._failed(failure)
            message: WSMessage | None = None
            scope: trio.CancelScope | None = None
            # A message already waiting is taken without a scheduler round trip (as
            # _send hands over); a cancel scope is needed only to wait.
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                message = link.inbound_receive.receive_nowait()
            except trio.EndOfChannel:
                pass
            except trio.WouldBlock:
                deadline = trio.current_time() + receive_timeout if receive_timeout else math.inf
                scope = self._waiting = trio.CancelScope(deadline=deadline)
                self._receive_done = trio.Event()
                try:
                    with scope:
                        message = await link.inbound_receive.receive()
                except trio.EndOfChannel:
                    pass
                finally:
                    self._waiting = None
                    self._receive_done.set()
            if message is None:
                if scope is not None and scope.cancelled_caught:
                    if self.closed:  # close() in another task woke us
                        return WS_CLOSING_MESSAGE
                    raise TimeoutError(f"no message in {receive_timeout} s")
                if link.failure is not None:
                    return self._failed(link.failure)
                self._closed = True
                if self._close_code is None:
                    self._close_code = WSCloseCode.ABNORMAL_CLOSURE
                self._release()
                return WS_CLOSED_MESSAGE
            kind = message.type
            if kind is _TEXT and not self._decode_text:
                return WSMessage(_TEXT, message.data.encode("utf-8"), message.extra)
            if kind is _TEXT or kind is _BINARY:
                return message
            if kind is WSMsgType.CLOSE:
                self._closing = True
                self._close_code = message.data
                if not self._closed and self._autoclose:
                    await self.close()
                return message
            if kind is WSMsgType.ERROR:
                # The connection already failed the socket with this code.
                error: WebSocketError = message.data
                self._closed = True
                self._close_code = error.code
                self._release()
                return message
            if kind is WSMsgType.PING and self._autoping:
                await self.pong(message.data)
                continue
            if kind is WSMsgType.PONG and self._autoping:
                continue
            return message

    def _failed(self, failure: BaseException) -> WSMessage:
        self._closed = True
        self._close_code = WSCloseCode.ABNORMAL_CLOSURE
        self._exception = failure
        self._release()
        return WSMessage(WSMsgType.ERROR, failure, None)

    async def receive_str(self, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """The next message, which must be TEXT (else :class:`WSMessageTypeError`).

        A ``str``; its UTF-8 ``bytes`` with ``decode_text=False``, as aiohttp's.
        """
        message = await self.receive(timeout)
        if message.type is not _TEXT:
            raise WSMessageTypeError(
                f"Received message {message.type}:{message.data!r} is not WSMsgType.TEXT"
            )
        return message.data

    async def receive_bytes(self, *, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """The next message, which must be BINARY (else :class:`WSMessageTypeError`)."""
        message = await self.receive(timeout)
        if message.type is not _BINARY:
            raise WSMessageTypeError(
                f"Received message {message.type}:{message.data!r} is not WSMsgType.BINARY"
            )
        data: bytes = message.data
        return data

    async def receive_json(
        self,
        *,
        loads: Callable[[Any], Any] = json.loads,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Receive a TEXT message, decoded with ``loads``; what ``receive_str`` raises else."""
        return loads(await self.receive_str(timeout=timeout))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> WSMessage:
        message = await self.receive()
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            raise StopAsyncIteration
        return message
