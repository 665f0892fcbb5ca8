"""Bounded fuzzing of WebSocket frames, on both transports (issue 10, item 7).

After a valid handshake a client sends a hypothesis-made run of raw frames
(valid messages, fragments in and out of order, pings and pongs, close
frames good and bad, reserved bits and opcodes, unmasked and oversized
frames, invalid UTF-8, cut frames, noise) to an echo handler. A reference
reader of RFC 6455 (``judge``, below) says what the bytes mean; the server
must then echo the valid messages, or close, never hang, and keep serving.

Both transports frame with wsproto (ours on httptools, hypercorn's behind
ASGI), so the client here neither makes nor reads frames with it: the
handshake, the frames and the reading of the server's frames are written out
by hand, so that a wsproto mistake shared by both sides cannot hide itself.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actorhttp import Application, Request, StreamResponse, WebSocketResponse, WSMsgType
from actorhttp.testing import serve_app

TRANSPORTS = ["httptools", "hypercorn"]
PATIENCE = 5.0  # seconds the server may stay silent before it counts as hung
EXAMPLE_BUDGET = 30.0  # seconds for one example, all waits included

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL = frozenset({CLOSE, PING, PONG})
OPCODES = frozenset({CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG})
ZERO_MASK = b"\x00\x00\x00\x00"
# Close codes a peer may send (RFC 6455 7.4.1 and 7.4.2, IANA's registry): 1000-1003,
# 1007-1011, 3000-4999. 1004-1006 and 1015 may never be sent; 0-999, the rest of
# 1000-2999 and 5000 and up are not codes at all.
VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
# Registered after RFC 6455 (1012 service restart, 1013 try again later, 1014 bad
# gateway): a server may know them or not, so either closing or failing is right.
LATE_CODES = frozenset({1012, 1013, 1014})
NEVER_SENT = frozenset({1004, 1005, 1006, 1015})  # may not appear in a close frame
# A frame cut short that declares more than this may be refused as too big before it
# ends (max_msg_size is 4 MiB by default, hypercorn's limit 16 MiB): below it the server
# has no reason not to echo everything before the cut.
SIZE_NO_SERVER_REFUSES = 1 << 20
HANDSHAKE_KEY = base64.b64encode(b"fuzz-ws-hyper-ok").decode()
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- making frames -------------------------------------------------------------


def make_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = ZERO_MASK,
    length_bytes: int | None = None,
    declared: int | None = None,
) -> bytes:
    """A raw client frame: masked with ``mask`` (None: unmasked), any bits the caller wants.

    ``length_bytes`` (2 or 8) forces a longer length field than the payload needs;
    ``declared`` writes a length other than the payload's (in the 8-byte field).
    """
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    length = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if declared is not None:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", declared)
    elif length_bytes == 8 or length > 0xFFFF:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    elif length_bytes == 2 or length > 125:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | length])
    if mask is None:
        return head + payload
    return head + mask + masked(payload, mask)


def masked(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte key: masks, and unmasks (5.3)."""
    return bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


# -- the reference: what the client's bytes mean (RFC 6455, server side) --------

Ending = Literal["open", "closed", "failed", "unfinished"]


@dataclass
class Verdict:
    """What a conforming server makes of the bytes.

    ``messages``: the whole valid messages before the end, in order; ``pings``:
    the payloads of the pings before it. ``ending``:

    * ``open``: every frame valid and whole, no close frame: the connection stays up;
    * ``closed``: a valid close frame (what follows it is ignored);
    * ``failed``: a whole frame breaks the protocol: the server must end the
      connection (a close frame optional) without waiting for anything more;
    * ``unfinished``: the bytes end inside a frame, or inside a message whose text
      is already not UTF-8: the server may wait for more, until the client's EOF.

    ``strict``: nothing entitles the server to stop before echoing every message.
    """

    messages: list[str | bytes] = field(default_factory=list)
    pings: list[bytes] = field(default_factory=list)
    ending: Ending = "open"
    strict: bool = True
    close: bytes = b""  # for "closed": the payload of the client's close frame


def fresh_decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")()


def judge(data: bytes) -> Verdict:
    """Read ``data`` as a server must (no extension negotiated) and say what it means."""
    verdict = Verdict()
    pos = 0
    parts: list[bytes] | None = None  # the fragmented message in progress
    text = False  # whether that message is TEXT
    decoder = fresh_decoder()

    def end(ending: Ending, *, strict: bool = False) -> Verdict:
        verdict.ending = ending
        verdict.strict = strict
        return verdict

    while pos < len(data):
        first = data[pos]
        fin, rsv, opcode = bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F
        # Broken in the first byte, whatever follows (a server may see it at once).
        broken = (
            rsv != 0  # no extension was negotiated, so no reserved bit may be set
            or opcode not in OPCODES
            or (opcode in CONTROL and not fin)  # control frames are never fragmented (5.5)
            or (opcode == CONTINUATION and parts is None)  # nothing to continue
            or (opcode in (TEXT, BINARY) and parts is not None)  # a new message too soon
        )
        if len(data) - pos < 2:
            return end("unfinished", strict=not broken)
        second = data[pos + 1]
        has_mask, short = bool(second & 0x80), second & 0x7F
        extra = {126: 2, 127: 8}.get(short, 0)
        broken = (
            broken
            or not has_mask  # a client masks every frame (5.1)
            or (opcode in CONTROL and short > 125)  # control payloads are short (5.5)
        )
        if len(data) - pos < 2 + extra:
            return end("unfinished", strict=not broken)
        length = short
        if extra == 2:
            (length,) = struct.unpack_from("!H", data, pos + 2)
            broken = broken or length <= 125  # the shortest length field must be used (5.2)
        elif extra == 8:
            (length,) = struct.unpack_from("!Q", data, pos + 2)
            broken = broken or length <= 0xFFFF or length >> 63 != 0
        key = data[pos + 2 + extra : pos + 2 + extra + 4] if has_mask else ZERO_MASK
        start = pos + 2 + extra + (4 if has_mask else 0)
        payload = masked(data[start : start + length], key)
        if len(key) < 4 or len(payload) < length:  # the bytes end inside this frame
            so_far = sum(len(p) for p in parts or [])
            small = so_far + length <= SIZE_NO_SERVER_REFUSES
            if not broken and (opcode == TEXT or (opcode == CONTINUATION and text)):
                try:  # text already not UTF-8 may be refused before the frame ends
                    (decoder if opcode == CONTINUATION else fresh_decoder()).decode(payload)
                except UnicodeDecodeError:
                    broken = True
            return end("unfinished", strict=not broken and small)
        if broken:
            return end("failed")
        pos = start + length
        if opcode == PING:
            verdict.pings.append(payload)
        elif opcode == CLOSE:
            if len(payload) == 1:
                return end("failed")
            if payload:
                (code,) = struct.unpack_from("!H", payload)
                try:
                    payload[2:].decode("utf-8")
                except UnicodeDecodeError:
                    return end("failed")
                if code in LATE_CODES:
                    return end("failed")  # closing or failing: both end it on their own
                if code not in VALID_CODES and not 3000 <= code <= 4999:
                    return end("failed")
            verdict.close = payload
            return end("closed")
        elif opcode in (TEXT, BINARY, CONTINUATION):
            if opcode != CONTINUATION:
                parts, text = [], opcode == TEXT
                decoder = fresh_decoder()
            assert parts is not None
            parts.append(payload)
            if text:
                try:
                    decoder.decode(payload, final=fin)
                except UnicodeDecodeError:
                    # Not UTF-8: whole, the message fails the connection; unfinished, a
                    # server may wait for the rest before it looks (RFC 6455 8.1).
                    return end("failed" if fin else "unfinished")
            if fin:
                body = b"".join(parts)
                verdict.messages.append(body.decode("utf-8") if text else body)
                parts = None
    return verdict


# -- what clients send (hypothesis) ----------------------------------------------

masks = st.one_of(st.just(ZERO_MASK), st.binary(min_size=4, max_size=4))
texts = st.text(max_size=40)
control_payloads = st.binary(max_size=125)


@st.composite
def valid_message(draw: st.DrawFn) -> bytes:
    """A TEXT or BINARY message, whole or in fragments, with pings and pongs between them."""
    if draw(st.booleans()):
        opcode, body = TEXT, draw(texts).encode("utf-8")
    else:
        opcode = BINARY
        size = draw(st.sampled_from(["short", "medium", "long"]))
        if size == "long":  # an 8-byte length field, cheaply
            body = bytes([draw(st.integers(0, 255))]) * draw(st.integers(0x10000, 0x10040))
        else:
            body = draw(st.binary(max_size=40 if size == "short" else 400))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    frames = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        frames.append(
            make_frame(opcode if i == 0 else CONTINUATION, piece, fin=last, mask=draw(masks))
        )
        if not last and draw(st.booleans()):  # control frames may come between fragments
            frames.append(draw(control_frame()))
    return b"".join(frames)


@st.composite
def control_frame(draw: st.DrawFn) -> bytes:
    return make_frame(draw(st.sampled_from([PING, PONG])), draw(control_payloads), mask=draw(masks))


@st.composite
def close_frame(draw: st.DrawFn) -> bytes:
    """A close frame, valid (a code and a UTF-8 reason, or nothing) or not."""
    kind = draw(st.sampled_from(["valid", "empty", "code", "one byte", "bad reason", "late"]))
    if kind == "valid":
        reason = draw(st.text(max_size=30)).encode("utf-8")
        payload = close_payload(draw(st.sampled_from(VALID_CODES)), reason)
    elif kind == "empty":
        payload = b""
    elif kind == "code":
        payload = close_payload(draw(st.sampled_from(INVALID_CODES)))
    elif kind == "one byte":
        payload = draw(st.binary(min_size=1, max_size=1))
    elif kind == "bad reason":
        payload = close_payload(1000, b"bye \xff\xfe")
    else:
        payload = close_payload(draw(st.sampled_from(sorted(LATE_CODES))))
    return make_frame(CLOSE, payload, mask=draw(masks))


@st.composite
def fragment(draw: st.DrawFn) -> bytes:
    """A frame that starts a message or continues one (or continues nothing: out of order)."""
    opcode = draw(st.sampled_from([TEXT, BINARY, CONTINUATION]))
    payload = draw(st.one_of(texts.map(str.encode), st.binary(max_size=20)))
    return make_frame(opcode, payload, fin=draw(st.booleans()), mask=draw(masks))


@st.composite
def broken_frame(draw: st.DrawFn) -> bytes:
    """A frame no server may accept."""
    kind = draw(
        st.sampled_from(
            [
                "opcode",
                "rsv",
                "unmasked",
                "long control",
                "fragmented control",
                "not utf-8",
                "long length field",
                "length msb",
            ]
        )
    )
    mask = draw(masks)
    if kind == "opcode":
        opcode = draw(st.sampled_from([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]))
        return make_frame(opcode, draw(st.binary(max_size=20)), mask=mask)
    if kind == "rsv":
        opcode = draw(st.sampled_from([TEXT, BINARY, PING]))
        return make_frame(opcode, b"rsv", rsv=draw(st.integers(1, 7)), mask=mask)
    if kind == "unmasked":
        return make_frame(draw(st.sampled_from([TEXT, BINARY, PING, CLOSE])), b"", mask=None)
    if kind == "long control":
        size = draw(st.integers(126, 300))
        return make_frame(draw(st.sampled_from([PING, PONG, CLOSE])), b"p" * size, mask=mask)
    if kind == "fragmented control":
        return make_frame(draw(st.sampled_from([PING, PONG, CLOSE])), b"", fin=False, mask=mask)
    if kind == "not utf-8":
        bad = draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]))
        return make_frame(TEXT, b"ok " + bad, fin=draw(st.booleans()), mask=mask)
    if kind == "long length field":
        length_bytes = draw(st.sampled_from([2, 8]))
        return make_frame(BINARY, b"short", length_bytes=length_bytes, mask=mask)
    return make_frame(BINARY, b"", declared=(1 << 63) | 5, mask=mask)


@st.composite
def cut_frame(draw: st.DrawFn) -> bytes:
    """The first bytes of a valid frame (or frames), cut anywhere inside."""
    whole = draw(st.one_of(valid_message(), control_frame(), close_frame()))
    return whole[: draw(st.integers(1, max(1, len(whole) - 1)))]


any_frame = st.one_of(
    valid_message(),
    control_frame(),
    close_frame(),
    fragment(),
    broken_frame(),
    cut_frame(),
    st.binary(min_size=1, max_size=40),  # noise
)
# Valid frames first (so that there are messages to echo before anything goes wrong),
# then anything.
frame_runs = st.tuples(
    st.lists(st.one_of(valid_message(), control_frame()), max_size=4),
    st.lists(any_frame, max_size=5),
).map(lambda runs: b"".join(runs[0] + runs[1]))


# -- the client: a handshake and the server's frames, read strictly -----------------


@dataclass
class Got:
    """One thing the server sent: a whole message, a control frame, or the end (``eof``)."""

    kind: Literal["text", "binary", "ping", "pong", "close", "eof"]
    data: str | bytes = b""


class Peer:
    """A client connection after the handshake; ``next()`` reads the server's frames.

    Server frames are checked as RFC 6455 asks of them: unmasked, no reserved
    bits, known opcodes, whole short control frames, UTF-8 text.
    """

    def __init__(self, stream: trio.SocketStream, buffered: bytes) -> None:
        self.stream = stream
        self.buffer = bytearray(buffered)
        self.reset = False  # the connection ended with an RST, not a FIN
        self.eof = False
        self.parts: list[bytes] = []
        self.text = False

    @classmethod
    async def connect(cls, port: int) -> Peer:
        """Open a connection and do the handshake (no extension offered): 101 or a failure."""
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            return cls(stream, await cls._handshake(stream))
        except BaseException:
            await trio.aclose_forcefully(stream)  # no socket left for the GC to warn about
            raise

    @staticmethod
    async def _handshake(stream: trio.SocketStream) -> bytes:
        """The opening handshake; returns what came after the 101's head."""
        await stream.send_all(
            (
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {HANDSHAKE_KEY}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode("ascii")
        )
        head = bytearray()
        while b"\r\n\r\n" not in head:
            chunk = await stream.receive_some()
            assert chunk, f"the handshake ended unanswered: {bytes(head)!r}"
            head += chunk
        head_bytes, _, rest = bytes(head).partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101 "), lines[0]
        accept = base64.b64encode(hashlib.sha1((HANDSHAKE_KEY + WS_GUID).encode()).digest())
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        assert fields.get("sec-websocket-accept") == accept.decode(), fields
        assert "sec-websocket-extensions" not in fields, fields  # none offered, none taken
        return rest

    async def send(self, data: bytes) -> None:
        """Send ``data``; a server that has closed already makes this a no-op."""
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def half_close(self) -> None:
        try:
            await self.stream.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def _need(self, n: int) -> bool:
        while len(self.buffer) < n and not self.eof:
            try:
                chunk = await self.stream.receive_some()
            except trio.BrokenResourceError:
                chunk, self.reset = b"", True
            if not chunk:
                self.eof = True
            self.buffer += chunk
        return len(self.buffer) >= n

    async def next(self, awaited: str = "a frame or the end") -> Got:
        """The server's next message or control frame; ``eof`` once its connection ends.

        Fails the test if the server stays silent for ``PATIENCE`` seconds.
        """
        with trio.move_on_after(PATIENCE):
            return await self._next()
        raise AssertionError(f"waited {PATIENCE} s for {awaited}: the server hangs")

    async def _next(self) -> Got:
        while True:
            if not await self._need(2):
                # A cut frame from the server is a bug, unless an RST took the end away.
                assert self.reset or not self.buffer, f"a cut frame: {bytes(self.buffer)!r}"
                return Got("eof")
            first, second = self.buffer[0], self.buffer[1]
            fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
            assert rsv == 0, f"server frame with reserved bits: {first:#x}"
            assert opcode in OPCODES, f"server frame with opcode {opcode:#x}"
            assert not second & 0x80, "a masked server frame (5.1)"
            short = second & 0x7F
            extra = {126: 2, 127: 8}.get(short, 0)
            if not await self._need(2 + extra):
                assert self.reset, "a cut frame header from the server"
                return Got("eof")
            length = short
            if extra:
                (length,) = struct.unpack_from("!H" if extra == 2 else "!Q", self.buffer, 2)
            if opcode in CONTROL:
                assert fin, "a fragmented server control frame"
                assert length <= 125, "a server control frame over 125 bytes"
            if not await self._need(2 + extra + length):
                assert self.reset, "a cut frame from the server"
                return Got("eof")
            payload = bytes(self.buffer[2 + extra : 2 + extra + length])
            del self.buffer[: 2 + extra + length]
            if opcode == PING:
                return Got("ping", payload)
            if opcode == PONG:
                return Got("pong", payload)
            if opcode == CLOSE:
                assert len(payload) != 1, "a server close frame with a 1-byte payload"
                payload[2:].decode("utf-8")  # a reason must be UTF-8
                return Got("close", payload)
            if opcode == CONTINUATION:
                assert self.parts, "a server continuation frame with nothing to continue"
            else:
                assert not self.parts, "a new server message inside a fragmented one"
                self.text = opcode == TEXT
            self.parts.append(payload)
            if fin:
                body = b"".join(self.parts)
                self.parts = []
                return Got("text", body.decode("utf-8")) if self.text else Got("binary", body)


def message_of(got: Got) -> str | bytes | None:
    return got.data if got.kind in ("text", "binary") else None


def payload_of(got: Got) -> bytes:
    assert isinstance(got.data, bytes), got
    return got.data


def is_subsequence(small: list[bytes], big: list[bytes]) -> bool:
    rest = iter(big)
    return all(any(x == y for y in rest) for x in small)


def check_close(payload: bytes, *, empty_allowed: bool) -> None:
    """A server close frame says why with a code that may be sent (or, echoing, nothing)."""
    if not payload:
        assert empty_allowed, "a server close frame with no code"
        return
    (code,) = struct.unpack_from("!H", payload)
    assert 1000 <= code <= 4999, code
    assert code not in NEVER_SENT, code


# -- the server --------------------------------------------------------------------


async def echo(request: Request) -> StreamResponse:
    """Echoes every TEXT and BINARY message, as it came."""
    ws = WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


def echo_app() -> Application:
    app = Application()
    app.router.add_get("/ws", echo)
    return app


@contextmanager
def tracebacks_logged() -> Iterator[list[logging.LogRecord]]:
    """The records with a traceback that "actorhttp" (and its children) log meanwhile.

    hypercorn's error log is "actorhttp.hypercorn" (see ``hypercorn_config``): it counts.
    """
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info:
                records.append(record)

    handler = Collect()
    logger = logging.getLogger("actorhttp")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


# -- the exchanges -----------------------------------------------------------------


def echoed(got: list[Got]) -> list[str | bytes]:
    return [m for g in got if (m := message_of(g)) is not None]


def last_ping_answered(got: list[Got], pings: list[bytes]) -> bool:
    pongs = [payload_of(g) for g in got if g.kind == "pong"]
    return not pings or (bool(pongs) and pongs[-1] == pings[-1])


async def fuzzed_exchange(transport: str, port: int, data: bytes) -> None:
    """Send ``data`` after a handshake; check the server against ``judge(data)``."""
    verdict = judge(data)
    peer = await Peer.connect(port)
    async with peer.stream:
        await peer.send(data)
        got: list[Got] = []
        if verdict.strict and verdict.ending in ("open", "unfinished"):
            # All valid so far: every message comes back, and the last ping's pong, before
            # anything ends. (Waiting for them before the close frame goes matters: once a
            # server has the client's close it may skip pongs (RFC 6455 5.5.2) and echoes.)
            while len(echoed(got)) < len(verdict.messages) or not last_ping_answered(
                got, verdict.pings
            ):
                event = await peer.next(
                    f"echoes of {verdict.messages!r:.200} and a pong for {verdict.pings!r:.100}"
                )
                assert event.kind not in ("close", "eof"), (event, got)
                got.append(event)
        replied = False
        if verdict.ending == "open":
            await peer.send(make_frame(CLOSE, close_payload(1000)))
            replied = True
        elif verdict.ending == "unfinished":
            await peer.half_close()  # no more is coming: now the server must end it
            replied = True
        while (event := await peer.next()).kind != "eof":
            got.append(event)
            if event.kind == "close" and not replied and verdict.ending == "failed":
                await peer.send(make_frame(CLOSE, close_payload(1000)))  # as a client would
                replied = True

    closes = [g for g in got if g.kind == "close"]
    pongs = [payload_of(g) for g in got if g.kind == "pong"]
    if verdict.strict and verdict.ending in ("open", "unfinished"):
        assert echoed(got) == verdict.messages
    else:  # the server may end it before echoing all: the rest of a hurried close
        assert echoed(got) == verdict.messages[: len(echoed(got))], (got, verdict.messages)
    assert len(closes) <= 1, closes
    if closes:
        assert got[-1] is closes[0], ("frames after the server's close frame", got)
        # An empty close frame is the echo of an empty one (hypercorn's answer to it).
        check_close(payload_of(closes[0]), empty_allowed=verdict.close == b"")
    # The close handshake: a valid close frame gets one back (unless an RST lost it).
    if verdict.ending == "open" or (verdict.ending == "closed" and not peer.reset):
        assert closes, ("no close frame answered the client's", got)
    # Pongs answer pings, in order; one may answer several (5.5.3).
    assert is_subsequence(pongs, verdict.pings), (pongs, verdict.pings)


async def still_echoes(port: int) -> None:
    """A fresh connection: a text and a binary message come back, and the close is answered."""
    peer = await Peer.connect(port)
    async with peer.stream:
        await peer.send(make_frame(TEXT, "after ✓".encode(), mask=b"abcd"))
        await peer.send(make_frame(BINARY, b"\x00\xffafter", mask=b"wxyz"))
        assert await peer.next() == Got("text", "after ✓")
        assert await peer.next() == Got("binary", b"\x00\xffafter")
        await peer.send(make_frame(CLOSE, close_payload(1000, b"done")))
        close = await peer.next()
        assert close.kind == "close", close
        check_close(payload_of(close), empty_allowed=False)
        assert await peer.next() == Got("eof")


def run_fuzzed(transport: str, data: bytes) -> None:
    async def one() -> None:
        with trio.fail_after(EXAMPLE_BUDGET):
            async with serve_app(echo_app(), transport=transport) as client:
                await fuzzed_exchange(transport, client.server.port, data)
                await still_echoes(client.server.port)

    with tracebacks_logged() as records:
        trio.run(one)
    assert not records, [f"{r.name}: {r.getMessage()}" for r in records]


# -- the tests ----------------------------------------------------------------------

# Each kind of frame at least once, whatever hypothesis draws.
ALWAYS = {
    "messages and a ping": make_frame(TEXT, b"hi")
    + make_frame(BINARY, b"\x00\x01")
    + make_frame(PING, b"p"),
    "fragments around a pong": make_frame(TEXT, b"frag", fin=False)
    + make_frame(PONG, b"")
    + make_frame(CONTINUATION, b"!"),
    "continuation of nothing": make_frame(CONTINUATION, b"out of order"),
    "new message amid fragments": make_frame(TEXT, b"a", fin=False) + make_frame(TEXT, b"b"),
    "reserved opcode": make_frame(TEXT, b"x") + make_frame(3, b"opcode 3"),
    "reserved bit": make_frame(TEXT, b"rsv", rsv=4),
    "unmasked": make_frame(TEXT, b"unmasked", mask=None),
    "ping over 125 bytes": make_frame(PING, b"p" * 126),
    "text not utf-8": make_frame(TEXT, b"ok \xff"),
    "fragment not utf-8": make_frame(TEXT, b"ok \xff", fin=False),
    "close of 1 byte": make_frame(CLOSE, b"\x03"),
    "close 1005": make_frame(CLOSE, close_payload(1005)),
    "close reason not utf-8": make_frame(CLOSE, close_payload(1000, b"\xff")),
    "text after empty close": make_frame(CLOSE, b"") + make_frame(TEXT, b"after the close"),
    "cut frame": make_frame(TEXT, b"a" * 300, mask=b"\x01\x02\x03\x04")[:100],
    "cut frame of 1 TiB": make_frame(BINARY, b"", declared=1 << 40)[:10],
    "one byte": b"\x81",
    "zeros": b"\x00" * 7,
}


def test_the_reference_reads_frames_as_rfc_6455_says() -> None:
    """``judge`` is the oracle of the fuzzing below: pin it on frames whose meaning is known."""
    assert judge(ALWAYS["messages and a ping"]) == Verdict(["hi", b"\x00\x01"], [b"p"], "open")
    assert judge(ALWAYS["fragments around a pong"]) == Verdict(["frag!"], [], "open")
    assert judge(make_frame(TEXT, b"open", fin=False)) == Verdict([], [], "open")
    failed = [
        "continuation of nothing",
        "new message amid fragments",
        "reserved opcode",
        "reserved bit",
        "unmasked",
        "ping over 125 bytes",
        "text not utf-8",
        "close of 1 byte",
        "close 1005",
        "close reason not utf-8",
        "zeros",  # an unmasked continuation of nothing
    ]
    for name in failed:
        assert judge(ALWAYS[name]).ending == "failed", name
    assert judge(ALWAYS["reserved opcode"]).messages == ["x"]
    # Text not UTF-8 in a message not yet whole: a server may wait for the rest.
    assert judge(ALWAYS["fragment not utf-8"]) == Verdict([], [], "unfinished", strict=False)
    closed = judge(ALWAYS["text after empty close"])
    assert closed == Verdict([], [], "closed", strict=False, close=b"")
    assert judge(ALWAYS["cut frame"]) == Verdict([], [], "unfinished", strict=True)
    assert judge(ALWAYS["cut frame of 1 TiB"]).strict is False  # may be refused at once
    assert judge(ALWAYS["one byte"]) == Verdict([], [], "unfinished", strict=True)
    assert judge(b"\xc1").strict is False  # a reserved bit shows in the first byte
    big = make_frame(BINARY, b"z" * 0x10000, mask=b"abcd")
    assert judge(big).messages == [b"z" * 0x10000]
    assert judge(make_frame(BINARY, b"z", length_bytes=2)).ending == "failed"
    # A length with its top bit set is broken; the frame is not whole: it may be waited for.
    msb = judge(make_frame(BINARY, b"", declared=(1 << 63) | 5))
    assert msb == Verdict([], [], "unfinished", strict=False)
    assert judge(make_frame(CLOSE, close_payload(4321, "é".encode()))).ending == "closed"
    assert judge(make_frame(CLOSE, close_payload(1013))).ending == "failed"


@pytest.mark.parametrize("transport", TRANSPORTS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=frame_runs)
def test_server_survives_fuzzed_frames(transport: str, data: bytes) -> None:
    """After a valid handshake, any run of frames: the server echoes the valid messages
    before the end (all of them while nothing went wrong) or closes (a close frame with a
    code 1000-4999, or a dropped connection), never keeps a client waiting, serves a new
    WebSocket afterwards, and actorhttp logs no traceback."""
    run_fuzzed(transport, data)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", ALWAYS)
def test_server_survives_known_hostile_frames(transport: str, name: str) -> None:
    """The same promise on one case of each kind, whatever hypothesis draws."""
    run_fuzzed(transport, ALWAYS[name])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_client_eof_ends_the_websocket_connection(transport: str) -> None:
    """A client that half-closes a WebSocket (no close frame: it has nothing more to say)
    sees the server close the connection too, at once, rather than when the server stops."""

    async def ends() -> bool:
        with trio.fail_after(EXAMPLE_BUDGET):
            async with serve_app(echo_app(), transport=transport) as client:
                peer = await Peer.connect(client.server.port)
                async with peer.stream:
                    await peer.half_close()
                    with trio.move_on_after(2):
                        return (await peer._next()).kind == "eof"
        return False

    assert trio.run(ends), "the connection was still open 2 s after the client's EOF"
