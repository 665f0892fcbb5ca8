"""WebSocket frames for the httptools transport: the common frames by hand, the rest by wsproto.

:class:`FrameCodec` reads a client's bytes into whole messages and frames
ours, with no I/O. wsproto is the reference; this module does by itself only
what a socket's whole life is made of when nothing goes wrong (measured:
about 1 us a frame read, against wsproto's 11, and 0.5 us to frame one,
against 3; and no wsproto ``Connection`` kept per socket):

* **reading**: a whole frame with FIN set, no reserved bit, masked, its
  length written in the fewest bytes, while no extension was negotiated:
  TEXT or BINARY (while no fragmented message is in progress), PING, PONG
  and CLOSE (at most 125 bytes). The payload is unmasked (``websockets``' C
  ``apply_mask``, or its pure-Python one where the C extension is missing);
  TEXT is decoded as UTF-8, and a close frame is checked as wsproto checks
  it (its code, its reason's UTF-8), with wsproto's answers.
* **writing**: TEXT and BINARY messages, pings, pongs and close frames, as
  one unmasked frame each, in the states wsproto allows them.

Everything else goes to a wsproto ``Connection``, made the first time it is
needed, in whole frames: fragmented messages, and text that is not UTF-8
(wsproto fails it with 1007). A frame that breaks the protocol in its
header (reserved bits or opcodes, no mask, a length not in its shortest
form, a fragmented or long control frame, a continuation of nothing, a new
message inside a fragmented one) hands wsproto every byte from there on,
and wsproto fails the connection. With permessage-deflate negotiated,
wsproto reads and writes everything but pings and pongs (never
compressed). ``tests/test_wsframes.py`` checks this module against wsproto
alone over random streams of frames, cut anywhere.

A message over ``max_msg_size`` is refused (1009) as soon as a frame's header
shows it, before its payload is read.
"""

from __future__ import annotations

import logging
import struct
from typing import Any, Final

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from .._web._wschannels import OutboxItem
from .._web._wsmodels import WebSocketError, WSCloseCode, WSMessage, WSMsgType

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - no C extension for this platform: the pure one
    from websockets.utils import apply_mask

__all__ = ["FrameCodec", "frame_message"]

logger = logging.getLogger("actorhttp")
OPEN: Final = ConnectionState.OPEN
REMOTE_CLOSING: Final = ConnectionState.REMOTE_CLOSING
LOCAL_CLOSING: Final = ConnectionState.LOCAL_CLOSING
CLOSED: Final = ConnectionState.CLOSED
_TEXT, _BINARY = WSMsgType.TEXT, WSMsgType.BINARY
_NOTHING: Final[list[WSMessage]] = []  # never appended to: what "nothing whole yet" returns
# The two bytes that start a short TEXT or BINARY frame, made once.
_SHORT_HEADS = {first: [bytes((first, size)) for size in range(126)] for first in (0x81, 0x82)}
_HEAD2 = struct.Struct("!BBH")
_HEAD8 = struct.Struct("!BBQ")
_CONTROL_OPCODES = frozenset({0x8, 0x9, 0xA})
_DATA_OPCODES = frozenset({0x0, 0x1, 0x2})
_LAST = frozenset({WSMsgType.CLOSE, WSMsgType.ERROR})  # nothing is read after these
_KNOWN_CODES = frozenset(int(code) for code in CloseReason)  # wsproto's: below 3000 no others
_LOCAL_ONLY_CODES = frozenset({1005, 1006, 1015})  # never in a close frame
_CLOSE_CODE = struct.Struct("!H")


def frame_message(first: int, payload: bytes) -> bytes:
    """One unmasked frame: ``first`` is its first byte (FIN and the opcode)."""
    size = len(payload)
    if size < 126:
        heads = _SHORT_HEADS.get(first)
        return (heads[size] if heads else bytes((first, size))) + payload
    if size < 0x10000:
        return _HEAD2.pack(first, 126, size) + payload
    return _HEAD8.pack(first, 127, size) + payload


class FrameCodec:
    """One connection's frames, both ways; see the module docstring.

    :meth:`receive_data` takes what the client sent; :meth:`next_messages`
    returns the whole messages it makes: TEXT, BINARY, PING, PONG and CLOSE
    ``WSMessage`` items, and at most one ERROR (a ``WebSocketError`` with
    the close code the client is to get), after which nothing more is read.
    After a CLOSE nothing more is read either (the client sends nothing
    after its close frame). :meth:`frame` makes the bytes for an outgoing
    item (``b""`` when the state forbids it: data after a close frame).
    """

    __slots__ = (
        "_buffer",
        "_deflate",
        "_done",
        "_extensions",
        "_fragmented",
        "_limit",
        "_parts",
        "_size",
        "_slow",
        "_state",
        "_ws",
    )

    def __init__(self, extension: PerMessageDeflate | None, max_msg_size: int) -> None:
        self._buffer: bytes | bytearray = b""
        self._limit = max_msg_size  # 0: none
        self._extensions: list[Extension] | None = [extension] if extension else None
        self._deflate = extension is not None
        # Everything read goes to wsproto: deflate, or a frame broke the protocol.
        self._slow = self._deflate
        self._ws: Connection | None = None
        if self._deflate:
            self._ws = Connection(ConnectionType.SERVER, self._extensions)
        self._state = OPEN  # ours (wsproto's with deflate, where it closes too)
        self._done = False  # a close frame or a failure: nothing more is read
        self._fragmented = False  # wsproto holds a message in pieces
        self._parts: list[Any] | None = None  # that message's pieces so far (str or bytes)
        self._size = 0  # its bytes so far

    @property
    def state(self) -> ConnectionState:
        """Open, closing either way, or closed."""
        ws = self._ws
        return ws.state if self._deflate and ws is not None else self._state

    def _wsproto(self) -> Connection:
        ws = self._ws
        if ws is None:
            ws = self._ws = Connection(ConnectionType.SERVER, self._extensions)
        return ws

    # -- reading -------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Take bytes the client sent (nothing more is read after a close or a failure)."""
        if self._done or not data:
            return
        buffer = self._buffer
        if not buffer:
            self._buffer = data
        elif isinstance(buffer, bytearray):
            buffer += data
        else:
            self._buffer = bytearray(buffer) + data

    def next_messages(self) -> list[WSMessage]:
        """The messages whole so far, in order (an empty list: more bytes are needed)."""
        buffer = self._buffer
        if not buffer or self._done:
            return _NOTHING
        if self._slow:
            self._buffer = b""
            return self._from_wsproto(bytes(buffer))
        out: list[WSMessage] = []
        size = len(buffer)
        pos = 0
        while size - pos >= 2:
            first = buffer[pos]
            second = buffer[pos + 1]
            length = second & 0x7F
            start = pos + 6  # the header's 2 bytes and the mask's 4
            shortest = True
            if length == 126:
                if size - pos < 4:
                    break
                length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                start = pos + 8
                shortest = length > 125
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                start = pos + 14
                shortest = 0xFFFF < length < 1 << 63
            common = first == 0x81 or first == 0x82
            if common and second & 0x80 and shortest and not self._fragmented:
                limit = self._limit
                if limit and length > limit:
                    out.append(self._fail(1009, f"Message size {length} exceeds limit {limit}"))
                    break
                end = start + length
                if end > size:
                    break  # the rest of it has not come yet
                payload = apply_mask(buffer[start:end], buffer[start - 4 : start])
                if first == 0x82:
                    out.append(WSMessage(_BINARY, payload, None))
                else:
                    try:
                        out.append(WSMessage(_TEXT, payload.decode("utf-8"), None))
                    except UnicodeDecodeError:
                        out.extend(self._from_wsproto(bytes(buffer[pos:end])))  # 1007
                        break
                pos = end
                continue
            opcode = first & 0x0F
            if (
                opcode >= 0x8
                and first & 0xF0 == 0x80
                and second & 0x80
                and second & 0x7F <= 125
                and opcode in _CONTROL_OPCODES
            ):
                # A whole control frame: ours to read (between fragments too).
                if opcode == 0x8 and out:
                    break  # what came before it goes first: closing changes the state
                end = start + length
                if end > size:
                    break
                payload = apply_mask(buffer[start:end], buffer[start - 4 : start])
                pos = end
                if opcode == 0x8:
                    out.append(self._closing(payload))
                    break
                out.append(
                    WSMessage(WSMsgType.PING if opcode == 0x9 else WSMsgType.PONG, payload, None)
                )
                continue
            fin = first & 0x80
            whole_ok = (
                second & 0x80
                and shortest
                and not first & 0x70
                and ((opcode == 0 and self._fragmented) or (opcode in (1, 2) and not fin))
                and not (opcode in (1, 2) and self._fragmented)
            )
            if not whole_ok:
                # Broken in its header, or out of sequence: wsproto takes every byte from
                # here on, and fails the connection.
                self._slow = True
                rest, self._buffer = bytes(buffer[pos:]), b""
                out.extend(self._from_wsproto(rest))
                return out
            # A fragment of a message: wsproto's, once it is whole.
            limit = self._limit
            if limit and self._size + length > limit:
                total = self._size + length
                out.append(self._fail(1009, f"Message size {total} exceeds limit {limit}"))
                break
            end = start + length
            if end > size:
                break
            self._size += length
            out.extend(self._from_wsproto(bytes(buffer[pos:end])))
            pos = end
            if out and out[-1].type in _LAST:
                break
        if out and out[-1].type in _LAST:
            self._buffer = b""  # nothing more is read
        elif pos:
            self._buffer = buffer[pos:]
        return out

    def _from_wsproto(self, data: bytes) -> list[WSMessage]:
        """Feed ``data`` to wsproto; the messages (or the failure) it makes of it."""
        ws = self._wsproto()
        ws.receive_data(data)
        out: list[WSMessage] = []
        limit = self._limit
        for event in ws.events():
            if isinstance(event, Message):
                if self._slow:
                    # Compressed: the size that counts is what it inflates to.
                    piece = event.data
                    self._size += (
                        len(piece)
                        if isinstance(piece, bytes | bytearray) or piece.isascii()
                        else len(piece.encode("utf-8"))
                    )
                    if limit and self._size > limit:
                        reason = f"Message size {self._size} exceeds limit {limit}"
                        out.append(self._fail(WSCloseCode.MESSAGE_TOO_BIG, reason))
                        return out
                parts = self._parts
                if event.message_finished and parts is None:
                    whole = event.data  # the common case: one frame, nothing to join
                else:
                    if parts is None:
                        parts = self._parts = []
                    parts.append(event.data)
                    if not event.message_finished:
                        self._fragmented = True
                        continue
                    whole = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                self._parts = None
                self._fragmented = False
                self._size = 0
                kind = _TEXT if isinstance(event, TextMessage) else _BINARY
                out.append(WSMessage(kind, whole if kind is _TEXT else bytes(whole), None))
            elif isinstance(event, Ping):
                out.append(WSMessage(WSMsgType.PING, bytes(event.payload), None))
            elif isinstance(event, Pong):
                out.append(WSMessage(WSMsgType.PONG, bytes(event.payload), None))
            elif isinstance(event, CloseConnection):
                state = ws.state
                if state is not REMOTE_CLOSING and state is not CLOSED:
                    # wsproto reports a protocol error as a close event, its state unchanged.
                    out.append(self._fail(event.code, event.reason or "protocol error"))
                    return out
                self._done = True
                self._state = state
                out.append(WSMessage(WSMsgType.CLOSE, int(event.code), event.reason or ""))
                return out
        return out

    def _closing(self, payload: bytes) -> WSMessage:
        """The client's close frame: its CLOSE message, or the failure wsproto would make."""
        if not payload:
            code, reason = 1005, ""  # no status received
        elif len(payload) == 1:
            return self._fail(1002, "CLOSE with 1 byte payload")
        else:
            (code,) = _CLOSE_CODE.unpack_from(payload)
            if code < 1000 or code > 4999:
                return self._fail(1002, "CLOSE with invalid code")
            if code in _LOCAL_ONLY_CODES:
                return self._fail(1002, "remote CLOSE with local-only reason")
            if code <= 2999 and code not in _KNOWN_CODES:
                return self._fail(1002, "CLOSE with unknown reserved code")
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError as exc:
                return self._fail(1007, f"Error decoding CLOSE reason: {exc}")
        self._state = CLOSED if self._state is LOCAL_CLOSING else REMOTE_CLOSING
        self._done = True
        return WSMessage(WSMsgType.CLOSE, code, reason)

    def _fail(self, code: int, reason: str) -> WSMessage:
        self._done = True
        self._buffer = b""
        return WSMessage(WSMsgType.ERROR, WebSocketError(code, reason), None)

    # -- writing -------------------------------------------------------------------

    def frame(self, item: OutboxItem) -> bytes:
        """The bytes for ``item`` (``str``: TEXT, ``bytes``: BINARY, else a control
        ``WSMessage``); ``b""`` if the connection's state forbids sending it."""
        if self._state is OPEN and not self._deflate:
            if type(item) is str:
                return frame_message(0x81, item.encode("utf-8"))
            if type(item) is bytes:
                return frame_message(0x82, item)
        if isinstance(item, str | bytes):
            if self._deflate:
                event = TextMessage(item) if isinstance(item, str) else BytesMessage(item)
                return self._send(event)
            if self._state is not OPEN:
                logger.debug("websocket: a message not sent: the socket is %s", self._state)
                return b""
            return (
                frame_message(0x81, item.encode("utf-8"))
                if isinstance(item, str)
                else (frame_message(0x82, bytes(item)))
            )
        kind = item.type
        if kind is WSMsgType.PING or kind is WSMsgType.PONG:
            # Never compressed, so ours whatever was negotiated.
            return self.control(0x89 if kind is WSMsgType.PING else 0x8A, item.data)
        if kind is WSMsgType.CLOSE:
            return self.close_frame(item.data, item.extra or "")
        return self.frame(item.data)  # a TEXT or BINARY WSMessage

    def control(self, first: int, payload: bytes) -> bytes:
        """A ping (``first`` 0x89) or pong (0x8A) frame; ``b""`` unless the connection is open."""
        if self.state is not OPEN:
            return b""
        return frame_message(first, payload)

    def close_frame(self, code: int, reason: str = "") -> bytes:
        """Our close frame, as wsproto makes it; ``b""`` if one went already."""
        if self._deflate:
            return self._send(CloseConnection(code, reason or None))
        state = self._state
        if state is not OPEN and state is not REMOTE_CLOSING:
            logger.debug("websocket: close %s not sent: the socket is %s", code, state)
            return b""
        self._state = CLOSED if state is REMOTE_CLOSING else LOCAL_CLOSING
        if code in _LOCAL_ONLY_CODES:
            code = 1000
        data = reason.encode("utf-8")
        if len(data) > 123:  # cut whole characters only
            data = data[:123].decode("utf-8", errors="ignore").encode("utf-8")
        return frame_message(0x88, _CLOSE_CODE.pack(code) + data)

    def _send(self, event: Event) -> bytes:
        """wsproto's bytes for ``event`` (with deflate); ``b""`` if its state forbids it."""
        try:
            return self._wsproto().send(event)
        except LocalProtocolError as exc:
            # A message after a close frame: the handler's send came too late.
            logger.debug("websocket: %r not sent: %s", event, exc)
            return b""
