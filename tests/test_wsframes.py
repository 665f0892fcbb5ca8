"""The httptools transport's frame codec against wsproto alone (``_transports._wsframes``).

``FrameCodec`` reads the common frame (whole, unfragmented TEXT or BINARY)
itself and hands every other frame to wsproto. Here the same random streams
of frames, cut into random pieces, go to the codec and to a wsproto
``Connection`` read the way the transport read them before the codec
existed: both must make the same messages, in the same order, and end the
same way (open, closed by the client, or failed with the same close code).
The frames it writes must be byte for byte wsproto's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate

from actorhttp import WebSocketError, WSMessage, WSMsgType
from actorhttp._transports._wsframes import FrameCodec, frame_message

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
# Close codes: the valid, the reserved, the local-only, the unknown, out of range; None: no code.
CLOSE_CODES = [None, 999, 1000, 1001, 1002, 1004, 1005, 1006, 1011, 1013, 1014, 1015, 1016]
CLOSE_CODES += [2999, 3000, 4999, 5000, 65535]
LIMIT = 70_000  # max_msg_size: above 65,536, so the 8-byte length field is tried under it too


def make_frame(
    opcode: int,
    payload: bytes,
    mask: bytes | None,
    *,
    fin: bool = True,
    rsv: int = 0,
    length_field: int | None = None,
) -> bytes:
    """A client frame; ``mask`` None leaves it unmasked; ``length_field`` forces 2 or 8 bytes."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    size, mask_bit = len(payload), 0x80 if mask is not None else 0
    if length_field == 8 or size > 0xFFFF:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", size)
    elif length_field == 2 or size > 125:
        head += bytes([mask_bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([mask_bit | size])
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# -- the reference: wsproto alone ---------------------------------------------------


@dataclass
class Outcome:
    messages: list[tuple[WSMsgType, object]]
    ending: tuple[str, int | None]  # ("open", None), ("closed", code), ("failed", code)


def by_wsproto(pieces: list[bytes], limit: int) -> Outcome:
    """What the transport made of ``pieces`` with wsproto alone (its reading before the codec)."""
    ws = Connection(ConnectionType.SERVER)
    messages: list[tuple[WSMsgType, object]] = []
    parts: list[object] = []
    size = 0
    for data in pieces:
        ws.receive_data(data)  # (nothing is parsed after a close frame)
        for event in ws.events():
            if isinstance(event, Message):
                parts.append(event.data)
                size += len(event.data)  # ASCII or bytes here: characters are bytes
                if limit and size > limit:
                    return Outcome(messages, ("failed", 1009))
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        messages.append((WSMsgType.TEXT, "".join(parts)))  # type: ignore[arg-type]
                    else:
                        messages.append((WSMsgType.BINARY, b"".join(parts)))  # type: ignore[arg-type]
                    parts, size = [], 0
            elif isinstance(event, Ping | Pong):
                kind = WSMsgType.PING if isinstance(event, Ping) else WSMsgType.PONG
                messages.append((kind, bytes(event.payload)))
            elif isinstance(event, CloseConnection):
                if state_of(ws) is not ConnectionState.REMOTE_CLOSING:
                    return Outcome(messages, ("failed", event.code))
                return Outcome(messages, ("closed", event.code))
    return Outcome(messages, ("open", None))


def state_of(ws: Connection | FrameCodec) -> ConnectionState:
    return ws.state  # a call: mypy does not narrow it as it would the attribute


def by_codec(pieces: list[bytes], limit: int) -> Outcome:
    codec = FrameCodec(None, limit)
    messages: list[tuple[WSMsgType, object]] = []
    for data in pieces:
        codec.receive_data(data)
        while batch := codec.next_messages():
            for message in batch:
                if message.type is WSMsgType.ERROR:
                    assert isinstance(message.data, WebSocketError)
                    return Outcome(messages, ("failed", message.data.code))
                if message.type is WSMsgType.CLOSE:
                    return Outcome(messages, ("closed", message.data))
                messages.append((message.type, message.data))
    return Outcome(messages, ("open", None))


# -- random streams of frames ----------------------------------------------------------

masks = st.one_of(st.just(b"\0\0\0\0"), st.binary(min_size=4, max_size=4))
# Sizes at the length field's edges (125/126, 65,535/65,536) and around the limit.
sizes = st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, LIMIT, LIMIT + 1]) | st.integers(0, 300)


@st.composite
def data_payload(draw: st.DrawFn, opcode: int) -> bytes:
    size = draw(sizes)
    if opcode == TEXT:  # ASCII, so that a message's size is its characters (see by_wsproto)
        return bytes([draw(st.integers(0x20, 0x7E))]) * size
    return bytes([draw(st.integers(0, 255))]) * size


@st.composite
def message(draw: st.DrawFn) -> bytes:
    """A whole message: one frame, or fragments with control frames between them."""
    opcode = draw(st.sampled_from([TEXT, BINARY]))
    pieces = draw(st.lists(data_payload(opcode), min_size=1, max_size=3))
    frames = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        frames.append(make_frame(opcode if i == 0 else CONTINUATION, piece, draw(masks), fin=last))
        if not last and draw(st.booleans()):
            frames.append(draw(control()))
    return b"".join(frames)


@st.composite
def fragment(draw: st.DrawFn) -> bytes:
    """One data frame of any kind: it may start, continue or end a message, or interrupt one."""
    opcode = draw(st.sampled_from([TEXT, BINARY, CONTINUATION]))
    payload = draw(data_payload(TEXT))
    return make_frame(opcode, payload, draw(masks), fin=draw(st.booleans()))


@st.composite
def control(draw: st.DrawFn) -> bytes:
    return make_frame(
        draw(st.sampled_from([PING, PONG])), draw(st.binary(max_size=125)), draw(masks)
    )


@st.composite
def close(draw: st.DrawFn) -> bytes:
    code = draw(st.sampled_from(CLOSE_CODES))
    if code is None:
        payload = draw(st.sampled_from([b"", b"\x03"]))  # no code at all, or one byte of one
    else:
        payload = struct.pack("!H", code) + draw(
            st.sampled_from([b"", b"bye", b"\xff", "é".encode()])
        )
    return make_frame(CLOSE, payload, draw(masks))


@st.composite
def broken(draw: st.DrawFn) -> bytes:
    """A frame wsproto refuses: in its header, its sequence, or its text."""
    mask = draw(masks)
    kind = draw(
        st.sampled_from(
            [
                "rsv",
                "opcode",
                "unmasked",
                "long length",
                "continuation",
                "fragmented ping",
                "long ping",
                "not utf-8",
                "split utf-8",
            ]
        )
    )
    if kind == "rsv":
        return make_frame(TEXT, b"x", mask, rsv=draw(st.integers(1, 7)))
    if kind == "opcode":
        return make_frame(draw(st.sampled_from([3, 7, 0xB, 0xF])), b"x", mask)
    if kind == "unmasked":
        return make_frame(draw(st.sampled_from([TEXT, BINARY, PING])), b"x", None)
    if kind == "long length":
        opcode = draw(st.sampled_from([BINARY, PING, CLOSE]))
        return make_frame(opcode, b"\x03\xe8", mask, length_field=draw(st.sampled_from([2, 8])))
    if kind == "continuation":
        return make_frame(CONTINUATION, b"nothing to continue", mask)
    if kind == "fragmented ping":
        return make_frame(PING, b"", mask, fin=False)
    if kind == "long ping":
        return make_frame(PING, b"p" * 126, mask)
    if kind == "not utf-8":
        return make_frame(TEXT, b"ok \xff", mask)
    # A character split between fragments is fine; a bad one across them is not.
    return make_frame(TEXT, b"ok \xe2\x82", mask, fin=False) + make_frame(
        CONTINUATION, draw(st.sampled_from([b"\xac!", b"!!"])), mask
    )


streams = st.lists(
    st.one_of(message(), fragment(), control(), close(), broken()), min_size=1, max_size=6
).map(b"".join)


@st.composite
def cut(draw: st.DrawFn) -> list[bytes]:
    """A stream in pieces, as reads would bring it."""
    data = draw(streams)
    points = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=cut(), limit=st.sampled_from([0, LIMIT, 200]))
def test_the_codec_reads_as_wsproto_does(pieces: list[bytes], limit: int) -> None:
    assert by_codec(pieces, limit) == by_wsproto(pieces, limit)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_the_codec_writes_as_wsproto_does(size: int) -> None:
    ws = Connection(ConnectionType.SERVER)
    codec = FrameCodec(None, 0)
    text, data = (
        "é" * (size // 2) + "a" * (size % 2),
        bytes(range(256)) * (size // 256) + b"x" * (size % 256),
    )
    assert codec.frame(text) == ws.send(TextMessage(text))
    assert codec.frame(data) == ws.send(BytesMessage(data))
    assert frame_message(0x82, data) == ws.send(BytesMessage(data))
    ping, pong = WSMessage(WSMsgType.PING, b"p", None), WSMessage(WSMsgType.PONG, b"q", None)
    assert codec.frame(ping) == ws.send(Ping(b"p"))
    assert codec.frame(pong) == ws.send(Pong(b"q"))


@pytest.mark.parametrize(
    ("code", "reason"),
    [(1000, ""), (1001, "server shutdown"), (1006, "lost"), (1011, "é" * 62), (4000, "x" * 200)],
)
def test_close_frames_are_wsprotos(code: int, reason: str) -> None:
    """Its codes (1005, 1006 and 1015 may not be sent: 1000) and reasons (cut to 123 bytes,
    whole characters only), as wsproto writes them."""
    expected = Connection(ConnectionType.SERVER).send(CloseConnection(code, reason or None))
    assert FrameCodec(None, 0).close_frame(code, reason) == expected


def test_nothing_is_sent_after_a_close_frame() -> None:
    codec = FrameCodec(None, 0)
    assert codec.close_frame(1000, "bye") == Connection(ConnectionType.SERVER).send(
        CloseConnection(1000, "bye")
    )
    assert state_of(codec) is ConnectionState.LOCAL_CLOSING
    assert codec.frame("too late") == b""
    assert codec.control(0x89, b"") == b""
    # The client's answer completes the handshake; nothing after it is read.
    codec.receive_data(
        make_frame(CLOSE, struct.pack("!H", 1000), b"abcd") + make_frame(TEXT, b"x", None)
    )
    assert codec.next_messages() == [WSMessage(WSMsgType.CLOSE, 1000, "")]
    assert state_of(codec) is ConnectionState.CLOSED
    assert codec.next_messages() == []


def test_an_oversized_frame_is_refused_at_its_header() -> None:
    codec = FrameCodec(None, 100)
    codec.receive_data(make_frame(BINARY, b"x" * 1000, b"abcd")[:10])  # the payload not yet here
    [error] = codec.next_messages()
    assert error.type is WSMsgType.ERROR
    assert (error.data.code, str(error.data)) == (1009, "Message size 1000 exceeds limit 100")


def test_with_permessage_deflate_wsproto_reads_everything() -> None:
    client_side, server_side = PerMessageDeflate(), PerMessageDeflate()
    offer = client_side.offer()
    assert isinstance(offer, str)
    answer = server_side.accept(offer)
    assert isinstance(answer, str)
    client_side.finalize(answer)
    client = Connection(ConnectionType.CLIENT, [client_side])
    codec = FrameCodec(server_side, 0)
    codec.receive_data(client.send(TextMessage("compressed " * 20)))
    assert codec.next_messages() == [WSMessage(WSMsgType.TEXT, "compressed " * 20, None)]
