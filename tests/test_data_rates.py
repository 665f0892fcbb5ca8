"""Minimum data rates: request bodies and responses, both transports, over real sockets.

Kestrel's defaults (240 bytes/s after a 5 s grace) are ours. A client that
drips its body is answered 408 and cut; one that stops reading a response
is cut and the handler writing it gets ``ConnectionResetError``; honest
slow clients go through; ``None`` turns either minimum off. The clients are
raw loopback sockets in the same trio run, and ``autojump_clock`` makes the
minutes of client pacing instant.
"""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from actorhttp import Application, Request, Response, StreamResponse, json_response
from actorhttp._transports._rate import RateMeter
from actorhttp.messages import MinDataRate, StartServer, TransportName
from actorhttp.testing import serve_app

from .rawhttp import status_of

MiB = 1024 * 1024
VIRTUAL_LIMIT = 3600  # virtual seconds: only a hang comes near


# -- the meter, sans-IO --------------------------------------------------------------------


def test_meter_allows_the_grace_period_then_what_the_bytes_earn() -> None:
    meter = RateMeter(MinDataRate(bytes_per_second=100, grace_period=5))
    assert meter.budget() == 5
    meter.record(4, 0)
    assert meter.budget() == 1
    meter.record(1, 0)
    assert meter.budget() == 0  # five seconds waited, nothing moved: too slow
    meter.record(0, 1000)  # 1000 bytes earn 10 s of waiting in all
    assert meter.budget() == 5
    meter.reset()
    assert meter.budget() == 5


def test_meter_says_why() -> None:
    meter = RateMeter(MinDataRate(bytes_per_second=240))
    assert meter.describe("request body sent") == (
        "request body sent slower than the minimum data rate of 240 bytes/s"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bytes_per_second": 0}, "bytes_per_second must be a positive number"),
        ({"grace_period": -1}, "grace_period must be a positive number"),
    ],
)
def test_min_data_rate_refuses_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MinDataRate(**kwargs)


def test_start_server_wants_a_min_data_rate_or_none() -> None:
    with pytest.raises(ValueError, match="min_request_body_rate must be a MinDataRate or None"):
        StartServer(min_request_body_rate=240)  # type: ignore[arg-type]
    assert StartServer().min_response_rate == MinDataRate(240, 5)
    assert StartServer(min_response_rate=None).min_response_rate is None


# -- request bodies ------------------------------------------------------------------------


async def count_body(request: Request) -> Response:
    total = 0
    async for chunk in request.content.iter_any():
        total += len(chunk)
    return json_response({"n": total})


def counting_app() -> Application:
    app = Application(client_max_size=None)
    app.router.add_post("/count", count_body)
    app.router.add_get("/hello", _hello)
    return app


async def _hello(request: Request) -> Response:
    return Response(text="hello")


async def drip(port: int, length: int, *, pause: float = 1.0) -> tuple[bytes, float, bool]:
    """Send a body of ``length`` one byte per ``pause``; the answer, when it came, and EOF."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(
            b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % length
        )
        begun = trio.current_time()
        answer = b""
        for _ in range(length):
            try:
                await stream.send_all(b"x")
            except trio.BrokenResourceError:
                break  # cut while we dripped: the answer is already waiting
            with trio.move_on_after(pause):
                answer = await stream.receive_some()
                break
        took = trio.current_time() - begun
        closed = False
        with trio.move_on_after(30):
            while data := await stream.receive_some():
                answer += data
            closed = True
    return answer, took, closed


async def test_a_body_dripped_at_one_byte_a_second_gets_408_and_a_close(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(counting_app(), transport=transport) as client:
            answer, took, closed = await drip(client.server.port, 100)
            assert (await client.get("/hello")).text == "hello"  # the server goes on
    assert status_of(answer) == 408, answer[:200]
    assert b"slower than the minimum data rate of 240 bytes/s" in answer
    assert closed
    assert 5 <= took <= 10  # the grace period, then the first read past it


async def test_without_a_minimum_a_dripped_body_is_waited_for(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(
            counting_app(), transport=transport, min_request_body_rate=None
        ) as client:
            answer, took, _ = await drip(client.server.port, 30)
    assert status_of(answer) == 200, answer[:200]
    assert answer.endswith(b'{"n": 30}')
    assert took >= 29


async def test_an_honest_slow_upload_of_50_mb_at_20_kb_a_second_goes_through(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    size, piece = 50 * 1000 * 1000, 20 * 1000
    chunk = b"u" * piece
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(counting_app(), transport=transport) as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(
                    b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size
                )
                begun = trio.current_time()
                for _ in range(size // piece):
                    await stream.send_all(chunk)
                    await trio.sleep(1)
                took = trio.current_time() - begun
                answer = b""
                while not answer.endswith(b"}"):
                    data = await stream.receive_some()
                    assert data, answer
                    answer += data
    assert status_of(answer) == 200, answer[:200]
    assert answer.endswith(b'{"n": 50000000}')
    assert took >= 2500  # it really was that slow


# -- responses -----------------------------------------------------------------------------


def writer_app(log: list[BaseException]) -> Application:
    """``/stream`` writes until the client is cut (logged); ``/big`` is one 32 MiB body."""

    async def stream(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        piece = b"s" * 65536
        try:
            for _ in range(100_000):  # 6 GiB: no kernel buffer holds that much
                await response.write(piece)
        except ConnectionResetError as exc:
            log.append(exc)
            raise
        return response

    async def big(request: Request) -> Response:
        return Response(body=b"b" * (32 * MiB))

    app = Application()
    app.router.add_get("/stream", stream)
    app.router.add_get("/big", big)
    app.router.add_get("/hello", _hello)
    return app


async def small_window_get(port: int, path: str, window: int) -> trio.SocketStream:
    """A connection that asked for ``path`` with a ``window``-byte receive buffer.

    The window is small so that a reader that stalls or dawdles holds the
    server back soon, instead of after the kernel has buffered megabytes.
    """
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    await stream.send_all(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
    return stream


def sized_app(body: int) -> Application:
    """``GET /sized`` answers ``body`` bytes in one Response."""

    async def sized(request: Request) -> Response:
        return Response(body=b"r" * body)

    app = Application()
    app.router.add_get("/sized", sized)
    return app


async def silent_client(port: int, path: str, *, silence: float) -> tuple[int, bool]:
    """Ask for ``path``, read nothing for ``silence`` s, then all: bytes read, and if cut."""
    async with await small_window_get(port, path, 64 * 1024) as stream:
        await trio.sleep(silence)
        received = 0
        try:
            with trio.move_on_after(60) as waiting:
                while data := await stream.receive_some(1 << 20):
                    received += len(data)
        except trio.BrokenResourceError:
            return received, True  # reset: cut with unread data
    return received, not waiting.cancelled_caught


async def time_of_first(log: list[BaseException], when: list[float]) -> None:
    while not log:
        await trio.sleep(1)
    when.append(trio.current_time())


async def test_a_client_that_stops_reading_a_stream_is_cut_and_the_writer_told(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    log: list[BaseException] = []
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(writer_app(log), transport=transport) as client:
            begun = trio.current_time()
            told: list[float] = []
            async with trio.open_nursery() as nursery:
                nursery.start_soon(time_of_first, log, told)
                received, cut = await silent_client(client.server.port, "/stream", silence=30)
            assert cut
            assert received < 100_000 * 65536
            assert (await client.get("/hello")).text == "hello"
    assert len(log) == 1, log
    assert isinstance(log[0], ConnectionResetError)
    if transport == "httptools":  # hypercorn tells the bridge only that the client left
        assert "slower than the minimum data rate" in str(log[0])
    # Only what the client acknowledges counts: once its window is full, nothing does,
    # and the grace period is all it gets (however much our kernel had taken).
    assert 5 <= told[0] - begun < 10


async def test_a_client_that_stops_reading_a_whole_body_is_cut(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(writer_app([]), transport=transport) as client:
            received, cut = await silent_client(client.server.port, "/big", silence=30)
    assert cut
    assert received < 32 * MiB


async def test_without_a_minimum_a_stalled_reader_still_gets_everything(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(
            writer_app([]), transport=transport, min_response_rate=None, keep_alive_timeout=120
        ) as client:
            received, cut = await silent_client(client.server.port, "/big", silence=1200)
    assert not cut  # the 60 s read limit ran out on a live connection
    assert received > 32 * MiB  # the head and the whole body


@pytest.mark.parametrize(("pace", "body"), [(4096, 2 * MiB), (512, 256 * 1024)])
async def test_a_slow_steady_reader_gets_the_whole_response(
    autojump_clock: trio.testing.MockClock, transport: TransportName, pace: int, body: int
) -> None:
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(sized_app(body), transport=transport) as client:
            port = client.server.port
            async with await small_window_get(port, "/sized", 16 * 1024) as stream:
                received = b""
                while len(received.partition(b"\r\n\r\n")[2]) < body:
                    data = await stream.receive_some(pace)  # a second each: 2x the minimum, or 17x
                    assert data, len(received)
                    received += data
                    await trio.sleep(1)
    head, _, rest = received.partition(b"\r\n\r\n")
    assert status_of(head) == 200
    assert len(rest) == body


async def test_a_reader_below_the_minimum_is_cut_part_way(
    autojump_clock: trio.testing.MockClock, transport: TransportName
) -> None:
    body = 8 * MiB  # more than the kernels buffer: the server has to wait on this reader
    received = 0
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(sized_app(body), transport=transport) as client:
            port = client.server.port
            async with await small_window_get(port, "/sized", 16 * 1024) as stream:
                try:
                    while data := await stream.receive_some(100):  # 100 bytes/s: too slow
                        received += len(data)
                        await trio.sleep(1)
                except trio.BrokenResourceError:
                    pass  # reset, with bytes unread: cut all the same
    assert received < body
