"""The sans-IO HTTP/2 connection, event by event: h2's client side on the other end, no sockets.

Each test has an ``h2`` client connection produce bytes, feeds them to
:class:`H2Connection`, and checks the events and decisions that come back,
and what the client makes of the bytes we answer with, as
``tests/test_h1conn.py`` does for HTTP/1.1. Frames no well-behaved client
would send (CONTINUATION floods) are built with hyperframe, h2's own framing.
"""

from __future__ import annotations

import math
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from h2.errors import ErrorCodes
from h2.frame_buffer import FrameBuffer
from hyperframe.frame import (
    ContinuationFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    RstStreamFrame,
    WindowUpdateFrame,
)

from actorhttp._transports._h1 import H1Limits
from actorhttp._transports._h2conn import (
    WINDOW_OPENED,
    BodyData,
    BodyEnd,
    ClientReset,
    GoAwaySent,
    H2Connection,
    H2Settings,
    Refused,
    RequestHead,
)

GET = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"example"),
    (b":path", b"/a?q=1"),
]
SETTINGS = H2Settings()
LIMITS = H1Limits()


def pair(
    settings: H2Settings = SETTINGS, limits: H1Limits = LIMITS, now: float = 100.0
) -> tuple[H2Connection, h2.connection.H2Connection]:
    """A server connection and an h2 client that have exchanged their SETTINGS."""
    server = H2Connection(limits, settings, now=now)
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    client.initiate_connection()
    assert send(server, client, now) == [WINDOW_OPENED]  # the client's SETTINGS
    settle(server, client, now)
    return server, client


def send(server: H2Connection, client: h2.connection.H2Connection, now: float = 100.0) -> list[Any]:
    """What the client has queued, fed to the server: the server's events."""
    return server.receive_data(client.data_to_send(), now)


Client = h2.connection.H2Connection


def settle(server: H2Connection, client: Client, now: float = 100.0) -> list[Any]:
    """The server's bytes to the client (and the client's answers back): the client's events."""
    events = client.receive_data(server.data_to_send())
    answer = client.data_to_send()
    if answer:  # b"" would be the client's EOF
        server.receive_data(answer, now)
    return events


def terminated(events: list[Any]) -> h2.events.ConnectionTerminated:
    (goaway,) = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    return goaway


def test_a_request_becomes_a_head_with_host_from_authority_and_no_pseudo_headers() -> None:
    server, client = pair()
    assert server.deadline == 105.0  # idle: the keep-alive deadline
    client.send_headers(1, [*GET, (b"user-agent", b"t")], end_stream=True)
    (head,) = send(server, client)  # no BodyEnd: the head says no body follows
    assert isinstance(head, RequestHead)
    assert (head.stream_id, head.method, head.target) == (1, "GET", b"/a?q=1")
    assert head.headers == [(b"host", b"example"), (b"user-agent", b"t")]
    assert head.end_stream
    assert server.deadline == math.inf  # a stream is open: no idle deadline


def test_an_answer_reaches_the_client_and_the_idle_deadline_starts_again() -> None:
    server, client = pair()
    client.send_headers(1, GET, end_stream=True)
    send(server, client)
    server.send_head(1, 200, [("Content-Type", "text/plain"), ("Connection", "x")], b"D", False)
    assert server.window(1) == 65535
    server.send_data(1, b"hi", True)
    assert server.queued == 2
    server.stream_done(1, now=120.0)
    assert server.deadline == 125.0
    events = settle(server, client)
    response, data, ended = events[:3]
    assert isinstance(response, h2.events.ResponseReceived)
    assert response.headers == [
        (b":status", b"200"),
        (b"content-type", b"text/plain"),  # no Connection: HTTP/2 has none
        (b"date", b"D"),
    ]
    assert isinstance(data, h2.events.DataReceived)
    assert data.data == b"hi"
    assert isinstance(ended, h2.events.StreamEnded)


def test_body_data_comes_out_and_is_acknowledged_only_when_taken() -> None:
    server, client = pair()
    client.send_headers(3, [(b":method", b"POST"), *GET[1:], (b"content-length", b"40003")])
    for _ in range(4):
        client.send_data(3, b"x" * 10000)
    head, *data = send(server, client)
    assert isinstance(head, RequestHead)
    assert head.content_length == 40003
    assert not head.end_stream
    assert data == [BodyData(3, b"x" * 10000, 10000)] * 4
    settle(server, client)
    assert client.local_flow_control_window(3) == 65535 - 40000  # nothing taken yet
    server.acknowledge(3, 40000)
    settle(server, client)
    assert client.local_flow_control_window(3) == 65535  # taken: the client may send it again
    client.send_data(3, b"lo!", end_stream=True)
    assert send(server, client) == [BodyData(3, b"lo!", 3), BodyEnd(3)]


def test_expect_100_continue_and_an_interim_response() -> None:
    server, client = pair()
    client.send_headers(1, [(b":method", b"PUT"), *GET[1:], (b"expect", b"100-continue")])
    (head,) = send(server, client)
    assert isinstance(head, RequestHead)
    assert head.expect_continue
    server.send_informational(1, 100)
    (interim,) = settle(server, client)
    assert isinstance(interim, h2.events.InformationalResponseReceived)
    client.send_headers(3, [*GET, (b"expect", b"gold")], end_stream=True)
    (refused,) = send(server, client)  # no BodyEnd: the head ended the stream
    assert refused == Refused(3, refused.refusal)
    assert refused.refusal.status == 417


@pytest.mark.parametrize(
    ("extra", "status", "reason"),
    [
        ([(b"x-h%d" % i, b"v") for i in range(101)], 431, "more than 100 header fields"),
        ([(b"x-big", b"v" * 9000)], 431, "header field x-big too large"),
        ([(b"content-type", b"a/b"), (b"content-type", b"c/d")], 400, "more than one"),
        ([(b"x-ctl", b"a\x01b")], 400, "control character"),
    ],
)
def test_a_head_past_the_http11_limits_is_refused_on_its_stream_only(
    extra: list[tuple[bytes, bytes]], status: int, reason: str
) -> None:
    server, client = pair()
    client.send_headers(1, [*GET, *extra], end_stream=True)
    refused = send(server, client)[0]
    assert isinstance(refused, Refused)
    assert refused.refusal.status == status
    assert reason in refused.refusal.reason
    assert server.closing is None  # the connection goes on
    client.send_headers(3, GET, end_stream=True)
    assert isinstance(send(server, client)[0], RequestHead)


@pytest.mark.parametrize(
    ("fields", "limits", "status", "reason"),
    [
        ([*GET, (b"host", b"example"), (b"host", b"example")], LIMITS, 400, "more than one host"),
        ([*GET[:2], (b":authority", b"a\x01b"), GET[3]], LIMITS, 400, "control character"),
        ([*GET, (b"content-length", b"1"), (b"content-length", b"1")], LIMITS, 400, "more than"),
        ([*GET, (b"content_length", b"1")], LIMITS, 400, "ambiguous header name content_length"),
        ([*GET[:3], (b":path", b"/" + b"p" * 5000)], LIMITS, 414, "request line too long"),
        (
            [*GET, *[(b"x-v%d" % i, b"v" * 90) for i in range(20)]],
            H1Limits(max_header_size=1000),
            431,
            "request header fields too large",
        ),
        (
            [*GET, *[(b"cookie", b"c%d=" % i + b"v" * 500) for i in range(20)]],
            LIMITS,
            431,
            "header field cookie too large",  # joined into one field, as HTTP/1.1 sends it
        ),
    ],
)
def test_limits_and_singletons_are_checked_in_the_same_pass(
    fields: list[tuple[bytes, bytes]], limits: H1Limits, status: int, reason: str
) -> None:
    server, client = pair(limits=limits)
    client.config.validate_outbound_headers = False  # a client that sends what it is told
    client.config.normalize_outbound_headers = False
    client.send_headers(1, fields, end_stream=True)
    (refused,) = send(server, client)
    assert isinstance(refused, Refused)
    assert (refused.refusal.status, reason in refused.refusal.reason) == (status, True)
    assert server.closing is None


def test_a_path_that_is_not_one_and_extended_connect_are_refused() -> None:
    server, client = pair()
    client.send_headers(1, [(b":method", b"GET"), *GET[1:3], (b":path", b"x")], end_stream=True)
    assert send(server, client)[0].refusal.status == 400


def test_rapid_reset_spends_the_budget_then_goaway_names_it() -> None:
    server, client = pair(H2Settings(reset_burst=3, reset_rate=1.0))
    events = []
    for stream_id in (1, 3, 5, 7):
        client.send_headers(stream_id, GET, end_stream=True)
        client.reset_stream(stream_id, ErrorCodes.CANCEL)
    events = send(server, client)
    resets = [e for e in events if isinstance(e, ClientReset)]
    assert [r.stream_id for r in resets] == [1, 3, 5, 7]
    failure = events[-1]
    assert isinstance(failure, GoAwaySent)
    assert failure.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert "rapid reset" in failure.reason
    assert server.finished
    goaway = terminated(client.receive_data(server.data_to_send()))
    assert goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert b"rapid reset" in (goaway.additional_data or b"")


def test_resets_refill_with_time() -> None:
    server, client = pair(H2Settings(reset_burst=1, reset_rate=1.0))
    for stream_id, now in ((1, 100.0), (3, 101.5), (5, 103.0)):
        client.send_headers(stream_id, GET, end_stream=True)
        client.reset_stream(stream_id)
        assert not any(isinstance(e, GoAwaySent) for e in send(server, client, now))


def test_a_ping_flood_gets_goaway() -> None:
    server, client = pair(H2Settings(control_burst=5, control_rate=1.0))
    for i in range(6):
        client.ping(b"%08d" % i)
    failure = send(server, client)[-1]
    assert isinstance(failure, GoAwaySent)
    assert "PING flood" in failure.reason
    assert b"PING flood" in (terminated(settle(server, client)).additional_data or b"")


def test_a_settings_flood_gets_goaway() -> None:
    server, client = pair(H2Settings(control_burst=5, control_rate=1.0))
    for _ in range(5):
        client.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})
    assert "SETTINGS flood" in send(server, client)[-1].reason


def test_a_continuation_flood_is_cut_by_size_before_the_block_ends() -> None:
    server, _client = pair(limits=H1Limits(max_header_size=4096, max_headers=10))
    limit = 4096 + 32 * 10
    frames = HeadersFrame(1, data=b"\x82").serialize()  # no END_HEADERS: a block begins
    for _ in range(limit // 1000 + 1):
        frames += ContinuationFrame(1, data=b"\x00" * 1000).serialize()
    (failure,) = server.receive_data(frames, 100.0)
    assert isinstance(failure, GoAwaySent)
    assert failure.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert failure.reason == f"header block over {limit} bytes"


def test_a_continuation_flood_of_small_frames_is_cut_by_count() -> None:
    server, _client = pair()
    frames = HeadersFrame(1, data=b"\x82").serialize()
    frames += b"".join(ContinuationFrame(1, data=b"\x00").serialize() for _ in range(70))
    (failure,) = server.receive_data(frames, 100.0)
    assert isinstance(failure, GoAwaySent)
    assert "Too many continuation frames" in failure.reason


def test_an_hpack_bomb_is_refused_while_it_is_decoded() -> None:
    server, client = pair(limits=H1Limits(max_header_size=8192, max_headers=100))
    # One 4,000-byte field in the client's table, then 60 one-byte references to it:
    # a few KiB on the wire, 240 KB once decoded.
    client.send_headers(1, [*GET, *[(b"x-bomb", b"b" * 4000)] * 60], end_stream=True)
    wire = client.data_to_send()
    assert len(wire) < 5000
    (failure,) = server.receive_data(wire, 100.0)
    assert isinstance(failure, GoAwaySent)
    assert failure.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert "Oversized header block" in failure.reason


def test_max_concurrent_streams_is_enforced() -> None:
    server, client = pair(H2Settings(max_concurrent_streams=2))
    settle(server, client)
    # A hostile client: it ignores the limit we announced.
    client.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 10
    client.remote_settings.acknowledge()
    for stream_id in (1, 3, 5):
        client.send_headers(stream_id, GET)
    (failure,) = send(server, client)  # h2 drops the events of the frames before it
    assert isinstance(failure, GoAwaySent)
    assert "Max inbound streams is 2" in failure.reason


def test_a_window_update_wakes_senders_and_windows_bound_sends() -> None:
    server, client = pair()
    client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10})
    assert send(server, client) == [WINDOW_OPENED]
    settle(server, client)
    client.send_headers(1, GET, end_stream=True)
    send(server, client)
    server.send_head(1, 200, [], None, False)
    assert server.window(1) == 10
    server.send_data(1, b"0123456789", False)
    assert server.window(1) == 0
    client.increment_flow_control_window(5, stream_id=1)
    assert send(server, client) == [WINDOW_OPENED]
    assert server.window(1) == 5


def test_a_whole_body_is_sent_only_when_the_window_takes_it_all() -> None:
    server, client = pair()
    client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10})
    send(server, client)
    settle(server, client)
    for stream_id in (1, 3):
        client.send_headers(stream_id, GET, end_stream=True)
    send(server, client)
    server.send_head(1, 200, [], None, False)
    assert not server.send_whole(1, b"x" * 11)  # past the window: nothing sent
    assert (server.window(1), server.queued) == (10, 0)
    assert server.send_whole(1, b"x" * 10)
    server.send_head(3, 200, [], None, False)
    assert not server.send_whole(3, b"x" * 20000)  # past any frame size a peer must take
    events = settle(server, client)
    assert [type(e) for e in events] == [
        h2.events.ResponseReceived,
        h2.events.DataReceived,
        h2.events.StreamEnded,
        h2.events.ResponseReceived,
    ]


def test_a_repeated_head_is_read_once_and_each_request_gets_its_own_fields() -> None:
    server, client = pair()
    for stream_id in (1, 3):
        client.send_headers(stream_id, [*GET, (b"x-a", b"1")], end_stream=True)
    first, second = send(server, client)
    assert first.headers == second.headers == [(b"host", b"example"), (b"x-a", b"1")]
    assert first.headers is not second.headers
    for stream_id in (5, 7):  # refused each time, never remembered
        client.send_headers(stream_id, [*GET, (b"x-a", b"a\x01")], end_stream=True)
    assert [e.refusal.status for e in send(server, client)] == [400, 400]


def test_a_finished_stream_whose_body_is_still_coming_is_reset_with_no_error() -> None:
    server, client = pair()
    client.send_headers(1, [(b":method", b"POST"), *GET[1:]])
    send(server, client)
    server.send_head(1, 413, [], None, True)
    server.stream_done(1, now=100.0)
    events = settle(server, client)
    (reset,) = [e for e in events if isinstance(e, h2.events.StreamReset)]
    assert reset.error_code == ErrorCodes.NO_ERROR


def frames(data: bytes) -> list[Frame]:
    """The frames in ``data``, as a client reads them (hyperframe's, through h2's buffer)."""
    buffer = FrameBuffer()
    buffer.max_frame_size = 16384
    buffer.add_data(data)
    return list(buffer)


def test_stop_sends_goaway_lets_open_streams_finish_and_refuses_new_ones() -> None:
    server, client = pair()
    client.send_headers(1, GET, end_stream=True)
    send(server, client)
    assert not server.stop()  # a stream is open: not idle
    (goaway,) = frames(server.data_to_send())
    assert isinstance(goaway, GoAwayFrame)
    assert (goaway.last_stream_id, goaway.error_code) == (1, ErrorCodes.NO_ERROR)
    assert goaway.additional_data == b"the server is stopping"
    assert server.open_streams == 1  # not finished: stream 1 is still to be answered
    # A stream the client opened before it saw the GOAWAY is refused, never handled.
    client.send_headers(3, GET, end_stream=True)
    assert send(server, client) == []
    server.send_head(1, 200, [], None, True)  # the stream in flight still finishes
    server.stream_done(1, now=101.0)
    assert server.finished
    refused, answer = frames(server.data_to_send())
    assert isinstance(refused, RstStreamFrame)
    assert (refused.stream_id, refused.error_code) == (3, ErrorCodes.REFUSED_STREAM)
    assert isinstance(answer, HeadersFrame)
    assert answer.stream_id == 1
    assert "END_STREAM" in answer.flags


def test_stop_when_idle_says_so_and_close_sends_goaway() -> None:
    server, client = pair()
    assert server.stop()
    server.close("idle timeout")
    assert server.finished
    events = client.receive_data(server.data_to_send())
    assert [e.additional_data for e in events if isinstance(e, h2.events.ConnectionTerminated)] == [
        b"the server is stopping",
        b"idle timeout",
    ]


def test_the_clients_eof_or_goaway_ends_the_connection() -> None:
    server, _ = pair()
    assert server.receive_data(b"", 100.0) == []
    assert server.finished
    server, client = pair()
    client.close_connection()
    assert send(server, client) == []
    assert server.closing == "the client sent GOAWAY"


def test_a_ping_is_answered_and_garbage_gets_goaway() -> None:
    server, client = pair()
    client.ping(b"12345678")
    assert send(server, client) == []
    events = settle(server, client)
    assert isinstance(events[0], h2.events.PingAckReceived)
    failure = server.receive_data(WindowUpdateFrame(0, window_increment=0).serialize(), 100.0)
    assert isinstance(failure[0], GoAwaySent)
    assert failure[0].error_code == ErrorCodes.PROTOCOL_ERROR


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ([*GET, (b"X-Upper", b"v")], "invalid field name b'X-Upper'"),
        ([*GET, (b"connection", b"close")], "connection is connection-specific: not in HTTP/2"),
        ([*GET, (b"te", b"gzip")], "te is connection-specific: not in HTTP/2"),
        ([*GET, (b"x-a", b" padded")], "whitespace around the value of x-a"),
        ([*GET[:2], (b"x-a", b"v"), *GET[2:]], "misplaced, unknown or repeated b':authority'"),
        ([*GET, (b":status", b"200")], "misplaced, unknown or repeated b':status'"),
        ([*GET[:3]], "a request needs :method, :scheme and :path"),
        ([*GET, (b"host", b"elsewhere")], "Host differs from :authority"),
    ],
)
def test_a_malformed_header_block_gets_400_on_its_stream(
    fields: list[tuple[bytes, bytes]], reason: str
) -> None:
    server, client = pair()
    client.config.validate_outbound_headers = False  # a client that sends what it is told
    client.config.normalize_outbound_headers = False
    client.send_headers(1, fields, end_stream=True)
    refused = send(server, client)[0]
    assert refused == Refused(1, refused.refusal)
    assert (refused.refusal.status, refused.refusal.reason) == (400, reason)
    assert server.closing is None


def test_cookie_fields_are_joined_and_host_may_stand_for_authority() -> None:
    server, client = pair()
    fields = [GET[0], GET[1], GET[3], (b"host", b"h"), (b"cookie", b"a=1"), (b"cookie", b"b=2")]
    client.send_headers(1, fields, end_stream=True)
    head = send(server, client)[0]
    assert head.headers == [(b"host", b"h"), (b"cookie", b"a=1; b=2")]
