"""HTTP/2's own dangers, each from a hostile client built on h2's client side, over loopback.

Every refusal names its cause (GOAWAY debug data, or a RST_STREAM code) and
costs only the hostile connection: after each, a well-behaved client on the
same server is answered. (A window that a client never opens, cut at the
minimum response rate, is in ``tests/test_h2.py``.)
"""

from __future__ import annotations

import h2.errors
import h2.settings
import pytest
import trio
from h2.errors import ErrorCodes
from hyperframe.frame import ContinuationFrame, HeadersFrame, WindowUpdateFrame

from actorhttp import Application, Request, Response
from actorhttp.testing import serve_app

from .h2client import H2Client, get_headers

TIMEOUT = 30


class Handlers:
    """A handler that waits long, counting how its calls began and ended."""

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = 0
        self.finished = 0

    async def wait(self, request: Request) -> Response:
        self.started += 1
        try:
            await trio.sleep(20)
        except trio.Cancelled:
            self.cancelled += 1
            raise
        self.finished += 1
        return Response(text="waited")


def app_with(handlers: Handlers) -> Application:
    app = Application()
    app.router.add_get("/wait", handlers.wait)
    app.router.add_get("/ok", _ok)
    return app


async def _ok(request: Request) -> Response:
    return Response(text="ok")


async def still_serves(port: int) -> None:
    """A well-behaved client on the same server is answered."""
    client = await H2Client.connect(port)
    async with client.stream:
        status, body = await client.get("/ok")
    assert (status, body) == (200, b"ok")


async def refused(client: H2Client) -> tuple[int, bytes]:
    """Read to the server's close: the GOAWAY's error code and debug data."""
    await client.until(lambda: False)
    goaway = client.goaway()
    assert goaway is not None, "the server closed without a GOAWAY"
    assert client.closed
    return int(goaway.error_code or 0), goaway.additional_data or b""


async def test_rapid_reset_is_cut_off_and_the_reset_streams_handlers_cancelled() -> None:
    handlers = Handlers()
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(handlers)) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                for _ in range(1000):  # far past the burst the server allows
                    stream_id = client.conn.get_next_available_stream_id()
                    client.conn.send_headers(stream_id, get_headers("/wait"), end_stream=True)
                    client.conn.reset_stream(stream_id, ErrorCodes.CANCEL)
                    try:
                        await client.flush()
                    except trio.BrokenResourceError:
                        break  # already cut off
                code, debug = await refused(client)
            while handlers.cancelled < handlers.started:
                await trio.sleep(0.05)
            await still_serves(served.server.port)
    assert code == ErrorCodes.ENHANCE_YOUR_CALM
    assert b"rapid reset" in debug
    assert handlers.started > 0
    assert handlers.finished == 0  # every handler of a reset stream was cancelled


async def test_a_reset_stream_cancels_its_handler_alone() -> None:
    handlers = Handlers()
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(handlers)) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                stream_id = await client.request("/wait")
                while handlers.started < 1:
                    await trio.sleep(0.01)
                client.conn.reset_stream(stream_id, ErrorCodes.CANCEL)
                await client.flush()
                while handlers.cancelled < 1:
                    await trio.sleep(0.01)
                status, body = await client.get("/ok")  # the same connection goes on
    assert (status, body) == (200, b"ok")
    assert client.goaway() is None


@pytest.mark.parametrize("frame_size", [4000, 1])
async def test_a_continuation_flood_is_refused(frame_size: int) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(Handlers())) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                # HEADERS without END_HEADERS: a header block begins, and never ends.
                begin = HeadersFrame(1, data=client.conn.encoder.encode(get_headers()))
                await client.flush(begin.serialize())
                more = ContinuationFrame(1, data=b"\0" * frame_size).serialize()
                try:
                    for _ in range(200):
                        await client.flush(more)
                except trio.BrokenResourceError:
                    pass  # cut off already
                code, debug = await refused(client)
            await still_serves(served.server.port)
    if frame_size == 4000:  # bounded in bytes (the HTTP/1.1 head limits)
        assert code == ErrorCodes.ENHANCE_YOUR_CALM
        assert debug.startswith(b"header block over ")
    else:  # bounded in frames (h2's 64)
        assert code == ErrorCodes.PROTOCOL_ERROR
        assert b"Too many continuation frames" in debug


async def test_an_hpack_bomb_is_refused_while_it_is_decoded() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(Handlers())) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                # 4,000 bytes in the table once, then 200 one-byte references: 800 KB.
                bomb = [*get_headers("/ok"), *[(b"x-bomb", b"b" * 4000)] * 200]
                client.conn.send_headers(1, bomb, end_stream=True)
                await client.flush()
                code, debug = await refused(client)
            await still_serves(served.server.port)
    assert code == ErrorCodes.ENHANCE_YOUR_CALM
    assert b"Oversized header block" in debug


async def test_a_head_past_the_limits_gets_431_on_its_stream_and_the_connection_goes_on() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(Handlers()), max_headers=10) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                many = await client.request("/ok", extra=[(b"x-h%d" % i, b"v") for i in range(11)])
                await client.until(lambda: client.ended(many))
                status, _ = await client.get("/ok")
    assert client.status(many) == 431
    assert b"more than 10 header fields" in client.body(many)
    assert status == 200


async def test_max_concurrent_streams_is_enforced() -> None:
    handlers = Handlers()
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(handlers), h2_max_concurrent_streams=20) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                await client.until(lambda: client.conn.remote_settings.max_concurrent_streams == 20)
                # A hostile client: it ignores the limit the server announced.
                client.conn.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 1000
                client.conn.remote_settings.acknowledge()
                for _ in range(21):
                    await client.request("/wait")
                code, debug = await refused(client)
            await still_serves(served.server.port)
    assert code == ErrorCodes.PROTOCOL_ERROR
    assert b"Max inbound streams is 20, 20 open" in debug


@pytest.mark.parametrize("flood", ["PING", "SETTINGS"])
async def test_a_ping_or_settings_flood_is_refused(flood: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(Handlers())) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                try:
                    for i in range(2000):
                        if flood == "PING":
                            client.conn.ping(b"%08d" % i)
                        else:
                            client.conn.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})
                        await client.flush()
                except trio.BrokenResourceError:
                    pass
                code, debug = await refused(client)
            await still_serves(served.server.port)
    assert code == ErrorCodes.ENHANCE_YOUR_CALM
    assert debug.startswith(f"{flood} flood".encode())


async def test_a_malformed_request_gets_400_on_its_stream_only() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(Handlers())) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                # h2's client checks and lowercases what it sends, unless told not to.
                client.conn.config.validate_outbound_headers = False
                client.conn.config.normalize_outbound_headers = False
                bad = await client.request("/ok", extra=[(b"X-Upper", b"v")])
                await client.until(lambda: client.ended(bad))
                malformed = client.status(bad), client.body(bad)
                status, _ = await client.get("/ok")
    assert malformed == (400, b"invalid field name b'X-Upper'")
    assert status == 200


async def test_a_protocol_error_gets_goaway_naming_it() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_with(Handlers())) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                await client.flush(WindowUpdateFrame(0, window_increment=0).serialize())
                code, debug = await refused(client)
            await still_serves(served.server.port)
    assert code == ErrorCodes.PROTOCOL_ERROR
    assert debug  # h2's own words for it
