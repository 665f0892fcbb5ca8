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
where aiohttp drops the connection at once; with ``autoping`` the
connection answers a ping as it arrives, not when the handler next
receives; and what the handler sends to its own socket may wait until it
next waits (or sends 16 frames), to leave in one write.
The hypercorn transport cannot do everything (ASGI has no ping/pong and
hides close frames): see ``actorhttp._transports._asgiws``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Final, Self

import trio

from .._pipe import RUNNING, ClientDisconnectedError, HandlerTurn
from ._exceptions import HTTPException
from ._response import StreamResponse
from ._wschannels import ENDED, INTERRUPTED, OutboxItem
from ._wshandshake import handshake
from ._wslink import INBOUND_SIZE, OUTBOUND_SIZE, WSLink
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
from ._wsoutbox import check_close

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

    # Class-level defaults: a socket's response sets only what differs (10,000 of them
    # open at once each keep just their own few attributes).
    _link: WSLink | None = None
    _ws_protocol: str | None = None
    _closed = False  # we sent our close frame, or the connection is gone
    _closing = False  # the client's close frame came
    _close_code: int | None = None
    _exception: BaseException | None = None
    _waiting = False  # a receive() is waiting
    _conn_lost = 0
    _request: BaseRequest | None = None  # once prepared: get_extra_info asks it
    # The turn of the handler that prepared it (None outside the router's pool): what
    # that handler's own code sends may wait for its next wait, to leave in one write.
    _turn: HandlerTurn | None = None
    # Set by an actor route (``_wsactor``) before prepare(): the link is then the actor's.
    _for_actor = False
    _inbound_size = INBOUND_SIZE
    _outbound_size = OUTBOUND_SIZE
    _decode_text = True  # False: TEXT's data is its UTF-8 bytes

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
        if not decode_text:
            self._decode_text = False

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
        headers = self._headers
        for name, value in answer.items():
            headers._put(name, value)  # ours (the subprotocol is one of `protocols`): no re-check
        self.force_close()
        if request._needs_prepare_hook():
            await request._prepare_hook(self)
        link = self._link = WSLink(
            protocol=protocol,
            extension=extension,
            heartbeat=self._heartbeat,
            max_msg_size=self._max_msg_size,
            inbound_size=self._inbound_size,
            outbound_size=self._outbound_size,
            autoping=self._autoping or self._for_actor,
            actor=self._for_actor,
            close_timeout=self._timeout,
        )
        self._ws_protocol = protocol
        self._request = request
        self._turn = RUNNING.turn
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                # Handed over without a scheduler round trip of its own: waiting for the
                # connection's answer is the one this needs.
                request.reply.send_nowait(self)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ClientDisconnectedError(f"cannot send the response: {exc}") from exc
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

    def _offer(self, item: OutboxItem) -> bool:
        """Hand ``item`` to the connection now: True, or False while the channel is full.

        With nothing queued the connection writes it in this task (as aiohttp
        does). From the handler that prepared the response, the connection may
        hold the bytes until the handler next waits, and write what it sent
        meanwhile in one go.
        """
        if self._closed:
            raise ClientDisconnectedError("Cannot write to closing transport")
        link = self._link
        if link is None:
            raise RuntimeError("Call .prepare() first")
        turn = self._turn
        try:
            link.outbound.put_nowait(item, turn is not None and RUNNING.turn is turn)
        except trio.WouldBlock:
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClientDisconnectedError("Cannot write to closing transport") from exc
        return True

    async def _send(self, item: OutboxItem) -> None:
        """Send ``item``, waiting while the outbound channel is full."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._offer(item):
            return
        try:
            await self._ready().outbound.put(item)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClientDisconnectedError("Cannot write to closing transport") from exc

    async def send_str(self, data: str) -> None:
        """Send a TEXT message; waits while ``OUTBOUND_SIZE`` messages are queued."""
        if self._link is None:
            raise RuntimeError("Call .prepare() first")
        if type(data) is not str and not isinstance(data, str):
            raise TypeError(f"data argument must be str ({type(data)!r})")
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._offer(data):  # the common case ends here: written, or queued
            await self._send(data)

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a BINARY message; waits while ``OUTBOUND_SIZE`` messages are queued."""
        if self._link is None:
            raise RuntimeError("Call .prepare() first")
        if type(data) is not bytes:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
            data = bytes(data)
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._offer(data):
            await self._send(data)

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
            link.outbound.close()
            link.inbound.close()

    def _detach(self) -> None:
        """The socket is an actor's now (``add_websocket``): the handler's end leaves it open."""
        self._eof_sent = True
        self._turn = None  # the handler's turn ends now; the socket lives on

    # -- closing -------------------------------------------------------------------

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes | str = b"") -> bool:
        """Send a close frame and wait for the client's (up to ``timeout``); False if closed.

        ``ValueError`` for a code that may not be sent (1000-2999 and
        3000-4999 may, minus 1004-1006 and 1015) or a message over 123 bytes.
        """
        link = self._ready()
        reason = message.decode("utf-8") if isinstance(message, bytes | bytearray) else message
        check_close(code, reason)
        if self._closed:
            return False
        self._closed = True
        try:
            try:
                await link.outbound.put(WSMessage(WSMsgType.CLOSE, int(code), reason))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                # The connection is gone: keep the client's code if its close frame came.
                if not self._closing:
                    self._close_code = WSCloseCode.ABNORMAL_CLOSURE
                return True
            if self._waiting:
                # Another task is in receive(): it returns CLOSING, and we read the reply.
                link.inbound.interrupt()
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
                    reply = await link.inbound.receive()
                except (trio.EndOfChannel, trio.ClosedResourceError):
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
        return await self._receive(timeout or self._receive_timeout, False)

    def __aiter__(self) -> Self:
        return self

    def __anext__(self) -> Coroutine[Any, Any, WSMessage]:
        # The receiving coroutine itself (not a coroutine awaiting it): one frame less
        # for as long as a handler waits on its socket.
        return self._receive(self._receive_timeout, True)

    async def _receive(self, receive_timeout: float | None, iterating: bool) -> WSMessage:
        """receive(); with ``iterating``, StopAsyncIteration where a CLOSE, CLOSING or
        CLOSED message would be returned (``async for`` ends at the close)."""
        link = self._ready()
        while True:
            if self._waiting:
                raise RuntimeError("Concurrent call to receive() is not allowed")
            if self._closed:
                self._conn_lost += 1
                if self._conn_lost >= THRESHOLD_CONNLOST_ACCESS:
                    raise RuntimeError("WebSocket connection is closed.")
                return _closed(WS_CLOSED_MESSAGE, iterating)
            if self._closing:
                return _closed(WS_CLOSING_MESSAGE, iterating)
            failure = link.failure  # a local: link.failure changes while we wait below
            if failure is not None:
                return self._failed(failure)
            # A message already waiting is taken without a scheduler round trip (as
            # _send hands over); a cancel scope is made only for a receive timeout.
            inbound = link.inbound
            message: WSMessage | None = None
            timed_out = False
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                message = inbound.take_nowait()
                if message is None:  # (waiting here, not in an except block: no exception kept)
                    self._waiting = True
                    try:
                        if receive_timeout:
                            with trio.move_on_after(receive_timeout) as scope:
                                message = await inbound.park()
                            timed_out = scope.cancelled_caught
                        else:
                            message = await inbound.park()
                    finally:
                        self._waiting = False
                    if message is ENDED:
                        message = None
            except (trio.EndOfChannel, trio.ClosedResourceError):
                message = None
            if message is INTERRUPTED or timed_out:
                if self.closed:  # close() in another task woke us
                    return _closed(WS_CLOSING_MESSAGE, iterating)
                if timed_out:
                    raise TimeoutError(f"no message in {receive_timeout} s")
                continue
            if message is None:
                if link.failure is not None:
                    return self._failed(link.failure)
                self._closed = True
                if self._close_code is None:
                    self._close_code = WSCloseCode.ABNORMAL_CLOSURE
                self._release()
                return _closed(WS_CLOSED_MESSAGE, iterating)
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
                return _closed(message, iterating)
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


def _closed(message: WSMessage, iterating: bool) -> WSMessage:
    """``message`` (CLOSE, CLOSING or CLOSED), or the end of an ``async for``."""
    if iterating:
        raise StopAsyncIteration
    return message
