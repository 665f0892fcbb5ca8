"""The sans-IO HTTP/1.1 connection, event by event: no sockets, no trio, no clock.

Each test feeds bytes, takes events and checks the bytes and decisions that
come back, as h11's own tests drive its ``Connection``.
"""

from __future__ import annotations

import math
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actorhttp import Response, StreamResponse
from actorhttp._pipe import BodyPipe
from actorhttp._transports import _h1conn as h1conn
from actorhttp._transports._framing import Wire, frame
from actorhttp._transports._h1 import END, H1Limits, Head, Refusal
from actorhttp._transports._h1conn import (
    CONTINUE,
    NEED_DATA,
    PAUSED,
    H1Connection,
    H1Timeouts,
    Phase,
)

TIMEOUTS = H1Timeouts(keep_alive=5.0, header=10.0)
GET = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"


def connection(now: float = 100.0) -> H1Connection:
    return H1Connection(H1Limits(), TIMEOUTS, now=now)


def wire_for(response: StreamResponse, method: str = "GET", *, http10: bool = False) -> Wire:
    response._hand_over()
    return frame(response, method, http10=http10)


def head_of(data: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    fields = {}
    for line in lines:
        name, _, value = line.partition(b": ")
        fields[name.lower()] = value
    return status_line, fields, body


def test_starts_idle_with_the_keep_alive_deadline() -> None:
    conn = connection(now=100.0)
    assert conn.phase is Phase.IDLE
    assert conn.deadline == 105.0
    assert conn.next_event() is NEED_DATA


def test_first_byte_starts_the_head_deadline() -> None:
    conn = connection(now=100.0)
    conn.receive_data(b"GE", now=101.0)
    assert conn.phase is Phase.HEAD
    assert conn.deadline == 111.0
    assert conn.next_event() is NEED_DATA
    assert conn.in_message


def test_a_request_head_starts_handling_with_no_deadline() -> None:
    conn = connection()
    conn.receive_data(GET, now=100.0)
    event = conn.next_event()
    assert isinstance(event, Head)
    assert (event.method, event.target, event.http_version) == ("GET", b"/a", "1.1")
    assert conn.phase is Phase.HANDLING
    assert conn.deadline == math.inf
    assert conn.body_done
    assert conn.next_event() is PAUSED  # nothing more until the answer is out


def test_response_bytes_frame_a_whole_body_and_keep_the_connection() -> None:
    conn = connection()
    conn.receive_data(GET, now=100.0)
    assert isinstance(conn.next_event(), Head)
    data = conn.response_bytes(wire_for(Response(text="hi")))
    status, fields, body = head_of(data)
    assert status == b"HTTP/1.1 200 OK"
    assert fields[b"content-length"] == b"2"
    assert fields[b"content-type"] == b"text/plain; charset=utf-8"
    assert b"date" in fields
    assert b"connection" not in fields
    assert body == b"hi"
    assert conn.cycle(now=120.0)
    assert conn.phase is Phase.IDLE
    assert conn.deadline == 125.0


def test_pipelined_requests_wait_their_turn_in_order() -> None:
    conn = connection()
    conn.receive_data(GET + b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n", now=100.0)
    first = conn.next_event()
    assert isinstance(first, Head)
    assert first.target == b"/a"
    assert conn.next_event() is PAUSED
    conn.response_bytes(wire_for(Response(text="a")))
    assert conn.cycle(now=101.0)
    second = conn.next_event()
    assert isinstance(second, Head)
    assert second.target == b"/b"


def test_a_pipelined_request_begun_but_incomplete_gets_the_head_deadline() -> None:
    conn = connection()
    conn.receive_data(GET + b"GET /b HT", now=100.0)
    assert isinstance(conn.next_event(), Head)
    conn.response_bytes(wire_for(Response(text="a")))
    assert conn.cycle(now=102.0)
    assert conn.phase is Phase.HEAD
    assert conn.deadline == 112.0


def test_body_events_then_end() -> None:
    conn = connection()
    conn.receive_data(b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel", now=100.0)
    head = conn.next_event()
    assert isinstance(head, Head)
    assert head.content_length == 5
    assert not conn.body_done
    assert conn.next_event() == b"hel"
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"lo", now=100.5)
    assert conn.next_event() == b"lo"
    assert conn.next_event() is END
    assert conn.body_done


def test_chunked_body() -> None:
    conn = connection()
    conn.receive_data(
        b"POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        now=100.0,
    )
    head = conn.next_event()
    assert isinstance(head, Head)
    assert head.chunked
    pieces = []
    while (event := conn.next_event()) is not END:
        assert isinstance(event, bytes)
        pieces.append(event)
    assert b"".join(pieces) == b"abcde"


def test_an_unread_body_that_arrived_whole_is_skipped_and_the_connection_kept() -> None:
    conn = connection()
    conn.receive_data(
        b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + GET, now=100.0
    )
    assert isinstance(conn.next_event(), Head)
    data = conn.response_bytes(wire_for(Response(text="ignored the body")))
    assert b"connection: close" not in data.lower()
    assert conn.cycle(now=101.0)
    follow = conn.next_event()
    assert isinstance(follow, Head)
    assert follow.target == b"/a"


def test_an_unread_body_still_arriving_closes_the_connection() -> None:
    conn = connection()
    conn.receive_data(b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab", now=100.0)
    assert isinstance(conn.next_event(), Head)
    data = conn.response_bytes(wire_for(Response(status=413, text="too big")))
    _, fields, _ = head_of(data)
    assert fields[b"connection"] == b"close"
    assert not conn.cycle(now=101.0)
    assert conn.phase is Phase.CLOSED
    assert conn.in_message  # the rest would be lingered over, not parsed


def test_connection_close_from_either_side() -> None:
    conn = connection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", now=100.0)
    assert isinstance(conn.next_event(), Head)
    _, fields, _ = head_of(conn.response_bytes(wire_for(Response(text="x"))))
    assert fields[b"connection"] == b"close"
    assert not conn.cycle(now=101.0)

    conn = connection()
    conn.receive_data(GET, now=100.0)
    assert isinstance(conn.next_event(), Head)
    response = Response(text="x")
    response.force_close()
    _, fields, _ = head_of(conn.response_bytes(wire_for(response)))
    assert fields[b"connection"] == b"close"
    assert not conn.cycle(now=101.0)


def test_http10_keep_alive_is_announced() -> None:
    conn = connection()
    conn.receive_data(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", now=100.0)
    head = conn.next_event()
    assert isinstance(head, Head)
    data = conn.response_bytes(wire_for(Response(text="x"), http10=True))
    _, fields, _ = head_of(data)
    assert fields[b"connection"] == b"keep-alive"
    assert conn.cycle(now=101.0)


def test_http10_without_keep_alive_closes() -> None:
    conn = connection()
    conn.receive_data(b"GET / HTTP/1.0\r\n\r\n", now=100.0)
    assert isinstance(conn.next_event(), Head)
    _, fields, _ = head_of(conn.response_bytes(wire_for(Response(text="x"), http10=True)))
    assert b"connection" not in fields  # closing is HTTP/1.0's default, as aiohttp says
    assert not conn.cycle(now=101.0)


def test_expect_100_continue_is_sent_once_when_the_body_is_first_read() -> None:
    conn = connection()
    conn.receive_data(
        b"PUT /u HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
        now=100.0,
    )
    head = conn.next_event()
    assert isinstance(head, Head)
    assert head.expect_continue
    assert conn.next_event() is NEED_DATA
    assert conn.continue_bytes() == CONTINUE
    assert conn.continue_bytes() == b""  # once


def test_no_100_continue_after_the_final_answer() -> None:
    conn = connection()
    conn.receive_data(
        b"PUT /u HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
        now=100.0,
    )
    assert isinstance(conn.next_event(), Head)
    conn.response_bytes(wire_for(Response(status=413)))
    assert conn.continue_bytes() == b""


def test_streamed_bodies_are_chunked_on_http11() -> None:
    conn = connection()
    conn.receive_data(GET, now=100.0)
    assert isinstance(conn.next_event(), Head)
    response = StreamResponse()
    response._pipe = BodyPipe()
    wire = wire_for(response)
    _, fields, body = head_of(conn.response_bytes(wire))
    assert fields[b"transfer-encoding"] == b"chunked"
    assert body == b""
    assert conn.data_bytes(wire, b"hello") == b"5\r\nhello\r\n"
    assert conn.data_bytes(wire, b"") == b""
    assert conn.end_bytes(wire) == b"0\r\n\r\n"


def test_a_streamed_body_with_a_declared_length_is_enforced() -> None:
    conn = connection()
    conn.receive_data(GET, now=100.0)
    assert isinstance(conn.next_event(), Head)
    response = StreamResponse()
    response.content_length = 4
    response._pipe = BodyPipe()
    wire = wire_for(response)
    _, fields, _ = head_of(conn.response_bytes(wire))
    assert fields[b"content-length"] == b"4"
    assert conn.data_bytes(wire, b"abc") == b"abc"
    with pytest.raises(ValueError, match="shorter"):
        conn.end_bytes(wire)
    with pytest.raises(ValueError, match="longer"):
        conn.data_bytes(wire, b"de")


def test_head_requests_get_headers_but_no_body() -> None:
    conn = connection()
    conn.receive_data(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", now=100.0)
    assert isinstance(conn.next_event(), Head)
    data = conn.response_bytes(wire_for(Response(text="hello"), "HEAD"))
    _, fields, body = head_of(data)
    assert fields[b"content-length"] == b"5"  # what a GET would have
    assert body == b""


def test_a_malformed_request_is_refused_and_ends_the_connection() -> None:
    conn = connection()
    conn.receive_data(b"GARBAGE\r\n\r\n", now=100.0)
    refusal = conn.next_event()
    assert isinstance(refusal, Refusal)
    assert refusal.status == 400
    data = conn.refusal_bytes(refusal)
    status, fields, body = head_of(data)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert fields[b"connection"] == b"close"
    assert int(fields[b"content-length"]) == len(body)
    assert conn.next_event() is None
    assert conn.phase is Phase.CLOSED


def test_a_body_cut_short_by_eof_is_a_refusal_event() -> None:
    conn = connection()
    conn.receive_data(b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab", now=100.0)
    assert isinstance(conn.next_event(), Head)
    assert conn.next_event() == b"ab"
    conn.receive_data(b"", now=101.0)
    refusal = conn.next_event()
    assert isinstance(refusal, Refusal)
    assert "middle" in refusal.reason


def test_eof_between_requests_ends_quietly() -> None:
    conn = connection()
    conn.receive_data(b"", now=100.0)
    assert conn.next_event() is None
    assert conn.phase is Phase.CLOSED


@pytest.mark.parametrize(
    ("data", "refused"),
    [(b"", None), (b"GET / HT", 408)],
    ids=["idle", "head half-way"],
)
def test_passing_the_deadline_means_what_the_phase_says(data: bytes, refused: int | None) -> None:
    conn = connection(now=100.0)
    if data:
        conn.receive_data(data, now=100.0)
    result = conn.timed_out()
    assert (result.status if result is not None else None) == refused
    assert conn.phase is Phase.CLOSED


def test_a_stop_closes_idle_connections_and_ends_busy_ones_after_their_answer() -> None:
    idle = connection()
    assert idle.stop()
    busy = connection()
    busy.receive_data(GET + GET, now=100.0)
    assert isinstance(busy.next_event(), Head)
    assert not busy.stop()
    _, fields, _ = head_of(busy.response_bytes(wire_for(Response(text="x"))))
    assert fields[b"connection"] == b"close"
    assert not busy.cycle(now=101.0)  # the pipelined request behind it is not served


def test_size_limits_are_refusals() -> None:
    conn = H1Connection(H1Limits(max_request_line=64), TIMEOUTS, now=0.0)
    conn.receive_data(b"GET /" + b"x" * 100 + b" HTTP/1.1\r\nHost: x\r\n\r\n", now=0.0)
    refusal = conn.next_event()
    assert isinstance(refusal, Refusal)
    assert refusal.status == 414


# -- the plain-answer fast path says exactly what the general framing says ----------


class _FixedClock:
    def date(self) -> bytes:
        return b"Sun, 22 Nov 2026 00:00:00 GMT"


_FIELD_NAMES = ["X-A", "Content-Type", "Server", "Date", "Connection", "content-length"]
_FIELD_NAMES += ["Transfer-Encoding", "Cache-Control"]


_seldom = st.sampled_from([False, False, False, True])  # mostly answers the fast path takes


@st.composite
def _answers(draw: st.DrawFn) -> dict[str, object]:
    return {
        "status": draw(st.sampled_from([200, 201, 204, 304, 404, 500])),
        "reason": draw(st.sampled_from([None, "Fine"])),
        "fields": draw(
            st.lists(
                st.tuples(
                    st.sampled_from(_FIELD_NAMES),
                    st.sampled_from(["1", "close", "text/plain", "a b"]),
                ),
                max_size=2,
            )
        ),
        "body": draw(st.binary(max_size=20)),
        "method": draw(st.sampled_from(["GET", "POST", "HEAD"])),
        "version": draw(st.sampled_from(["1.0", "1.1"])),
        "client_close": draw(_seldom),
        "force_close": draw(_seldom),
        "cookie": draw(_seldom),
        "compress": draw(_seldom),
    }


def _answer(spec: dict[str, object]) -> Response:
    response = Response(
        status=spec["status"],  # type: ignore[arg-type]
        reason=spec["reason"],  # type: ignore[arg-type]
        body=spec["body"],
    )
    for name, value in spec["fields"]:  # type: ignore[attr-defined]
        response.headers.add(name, value)
    if spec["force_close"]:
        response.force_close()
    if spec["cookie"]:
        response.set_cookie("a", "b")
    if spec["compress"]:
        response.enable_compression()
    response._hand_over()
    return response


def _asked(spec: dict[str, object]) -> tuple[H1Connection, Head]:
    conn = connection()
    close = b"Connection: close\r\n" if spec["client_close"] else b""
    line = f"{spec['method']} /a HTTP/{spec['version']}\r\n".encode()
    conn.receive_data(line + b"Host: x\r\n" + close + b"\r\n", now=100.0)
    head = conn.next_event()
    assert isinstance(head, Head)
    return conn, head


@settings(max_examples=300, deadline=None)
@given(_answers())
def test_a_plain_answer_is_the_bytes_the_general_framing_makes(spec: dict[str, object]) -> None:
    with patch.object(h1conn, "_clock", _FixedClock()):
        fast, _ = _asked(spec)
        plain = fast.plain_response_bytes(_answer(spec))
        general, head = _asked(spec)
        wire = frame(_answer(spec), head.method, http10=head.http_version == "1.0")
        expected = general.response_bytes(wire)
    if plain is not None:
        assert plain == expected
        assert fast._keep_alive == general._keep_alive


def test_the_common_answers_take_the_plain_path() -> None:
    for spec in (
        {"status": 200, "fields": [], "method": "GET", "version": "1.1"},
        {"status": 404, "fields": [("Content-Type", "text/plain")], "method": "POST"},
    ):
        full: dict[str, object] = {
            "reason": None,
            "body": b"hi",
            "version": "1.1",
            "client_close": False,
            "force_close": False,
            "cookie": False,
            "compress": False,
            **spec,
        }
        conn, _ = _asked(full)
        assert conn.plain_response_bytes(_answer(full)) is not None, spec


def test_an_http10_request_is_answered_in_http10() -> None:
    # As aiohttp: the status line says HTTP/1.0, and keep-alive only when asked for.
    for asked, expected in (
        (b"", b"HTTP/1.0 200 OK\r\nContent-Type"),
        (b"keep-alive", b"Connection: keep-alive"),
    ):
        conn = connection()
        field = b"Connection: " + asked + b"\r\n" if asked else b""
        conn.receive_data(b"GET /a HTTP/1.0\r\n" + field + b"\r\n", now=100.0)
        head = conn.next_event()
        assert isinstance(head, Head)
        assert head.keep_alive is bool(asked)
        answer = Response(text="hi")
        answer._hand_over()
        assert conn.plain_response_bytes(answer) is None  # the cached heads are HTTP/1.1
        data = conn.response_bytes(frame(answer, head.method, http10=True))
        assert data.startswith(b"HTTP/1.0 200 OK\r\n")
        assert expected in data
        assert (b"Connection:" in data) is bool(asked)  # closing is HTTP/1.0's default
