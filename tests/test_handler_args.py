"""aiohttp's request-handler settings: ``Application(handler_args=...)`` and serve's keywords.

``auto_decompress`` is tested with the decoding (test_request_decoding.py);
here the others, through a served app and real sockets.
"""

from __future__ import annotations

import logging

import pytest
import trio

from actorhttp import web
from actorhttp.messages import TransportName
from actorhttp.testing import serve_app

TIMEOUT = 10


async def limits(request: web.Request) -> web.Response:
    low, high = request.content.get_read_buffer_limits()
    line = await request.content.readline()
    return web.Response(text=f"{low} {high} {line!r}")


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def broken(request: web.Request) -> web.Response:
    raise RuntimeError("the handler broke")


def make_app(**handler_args: object) -> web.Application:
    app = web.Application(handler_args=handler_args)
    app.router.add_post("/limits", limits)
    app.router.add_get("/broken", broken)
    app.router.add_get("/hello", hello)
    return app


async def test_read_bufsize_sets_the_body_streams_buffer(transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(read_bufsize=4), transport=transport) as client:
            short = await client.post("/limits", content=b"ab\ncd")
            long = await client.post("/limits", content=b"abcdefghij\n")  # 11 > 2 * 4
        async with serve_app(make_app(read_bufsize=4), transport=transport, read_bufsize=64) as c:
            overridden = await c.post("/limits", content=b"abcdefghij\n")
    assert short.text == "4 8 b'ab\\n'"
    assert long.status_code == 500  # readline past the buffer: ValueError, as aiohttp's
    assert overridden.text == "64 128 b'abcdefghij\\n'"  # the keyword wins


@pytest.mark.parametrize("given", ["handler_args", "keyword"])
async def test_logger_gets_what_handlers_raise(
    transport: TransportName, given: str, caplog: pytest.LogCaptureFixture
) -> None:
    mine = logging.getLogger("my.server")
    app = make_app(logger=mine) if given == "handler_args" else make_app()
    settings = {"logger": mine} if given == "keyword" else {}
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR):
        async with serve_app(app, transport=transport, **settings) as client:
            response = await client.get("/broken")
    assert response.status_code == 500
    records = [r for r in caplog.records if "the handler broke" in str(r.exc_info)]
    assert [r.name for r in records] == ["my.server"]


async def test_access_log_from_handler_args(
    transport: TransportName, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("my.access")
    app = make_app(access_log=access, access_log_format="%r %s")
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.INFO, logger="my.access"):
        async with serve_app(app, transport=transport) as client:
            await client.get("/broken")
    assert [r.getMessage() for r in caplog.records if r.name == "my.access"] == [
        "GET /broken HTTP/1.1 500"
    ]


def _keepalive_timers(port: int) -> list[str]:
    """The timer kind of each established connection whose local port is ``port``.

    ``/proc/net/tcp``'s ``tr`` field: 2 while a keep-alive timer runs, 0 on an
    idle socket without one.
    """
    timers = []
    with open("/proc/net/tcp") as table:
        for line in table.read().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == port and fields[3] == "01":  # ESTABLISHED
                timers.append(fields[5].split(":")[0])
    return timers


@pytest.mark.parametrize("keepalive", [True, False])
async def test_tcp_keepalive_on_accepted_sockets(transport: TransportName, keepalive: bool) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(tcp_keepalive=keepalive), transport=transport) as client:
            await client.get("/hello")  # the connection stays open, idle
            timers = _keepalive_timers(client.server.port)
    assert timers == (["02"] if keepalive else ["00"])


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("read_bufsize", 0),
        ("read_bufsize", "64"),
        ("auto_decompress", "yes"),
        ("tcp_keepalive", 1),
        ("lingering_time", -1),
    ],
)
async def test_bad_values_are_refused_before_serving(setting: str, value: object) -> None:
    with pytest.raises(ValueError, match=setting):
        async with serve_app(make_app(**{setting: value})):
            pass  # pragma: no cover - never served


async def test_an_unknown_handler_arg_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="timeout_ceil_threshold"):
        async with serve_app(make_app(timeout_ceil_threshold=5)):
            pass  # pragma: no cover - never served
