"""Access logs as aiohttp writes them: its format and directives, on both transports.

The formatting is checked line for line against aiohttp's own AccessLogger
for the same request and response; the wiring over real sockets: off in
``serve`` unless asked for, what a stream, a 404 and a reply closed
unanswered log, and an ``access_log_class`` of one's own.
"""

from __future__ import annotations

import datetime
import inspect
import logging
from types import SimpleNamespace
from typing import Any

import pytest
import trio
from aiohttp.web_log import AccessLogger as AioAccessLogger
from multidict import CIMultiDict

from actorhttp import (
    AbstractAccessLogger,
    AccessLogger,
    Application,
    Request,
    Response,
    StreamResponse,
    _accesslog,
    run_app,
)
from actorhttp.messages import TransportName
from actorhttp.testing import make_mocked_request, serve_app

TIMEOUT = 20
ACCESS = logging.getLogger("actorhttp.access")


class Lines(logging.Handler):
    """Keeps each formatted record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines() -> Any:
    handler = Lines()
    ACCESS.addHandler(handler)
    level = ACCESS.level
    ACCESS.setLevel(logging.INFO)
    yield handler.lines
    ACCESS.removeHandler(handler)
    ACCESS.setLevel(level)


FORMATS = [
    AccessLogger.LOG_FORMAT,
    '%a "%r" %s %b %{X-Req}i %{x-req}i %{X-Missing}i %{X-Resp}o %P',
    "%s literal %D %T",
    "no directives at all",
]


@pytest.mark.parametrize("log_format", FORMATS)
def test_lines_are_aiohttps_for_the_same_request(log_format: str) -> None:
    request = make_mocked_request(
        "GET",
        "/path/x?q=1&r=%20",
        headers={"Referer": "http://ref/", "User-Agent": "agent/1.0", "X-Req": "in"},
    )
    response = Response(text="hello", status=201, headers={"X-Resp": "out"})
    ours, theirs = Lines(), Lines()
    mine, aio = logging.getLogger("test.ours"), logging.getLogger("test.aiohttp")
    for logger, handler in ((mine, ours), (aio, theirs)):
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    # aiohttp's logger reads these attributes only; the values are ours.
    aio_request = SimpleNamespace(
        remote=request.remote,
        method=request.method,
        path_qs=request.path_qs,
        version=request.version,
        headers=CIMultiDict(request.headers),
    )
    aio_response = SimpleNamespace(
        status=response.status, body_length=response.body_length, headers=response.headers
    )
    AccessLogger(mine, log_format).log(request, response, 1.25)
    AioAccessLogger(aio, log_format).log(aio_request, aio_response, 1.25)  # type: ignore[arg-type]
    assert ours.lines == theirs.lines


def test_the_start_time_is_aiohttps_format() -> None:
    handler = Lines()
    logger = logging.getLogger("test.time")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    AccessLogger(logger, "%t").log(make_mocked_request("GET", "/"), Response(), 0.0)
    (line,) = handler.lines
    assert line[0] + line[-1] == "[]"
    day, _, zone = line[1:-1].partition(" ")
    assert (len(day.split("/")), day.count(":")) == (3, 3)
    assert (len(zone), zone[0] in "+-") == (5, True)


def test_the_start_time_is_the_requests_start_second_in_local_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = Lines()
    logger = logging.getLogger("test.time.second")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    access = AccessLogger(logger, "%t")
    request = make_mocked_request("GET", "/")
    for now, took in ((1_800_000_000.9, 0.5), (1_800_000_001.2, 0.5), (1_800_000_001.2, 61.0)):
        monkeypatch.setattr(_accesslog, "_now", lambda now=now: now)
        access.log(request, Response(), took)
    expected = [
        datetime.datetime.fromtimestamp(second, datetime.UTC).astimezone()
        for second in (1_800_000_000, 1_800_000_000, 1_799_999_940)
    ]
    assert handler.lines == [when.strftime("[%d/%b/%Y:%H:%M:%S %z]") for when in expected]


def app_for_logs() -> Application:
    async def hello(request: Request) -> Response:
        return Response(text="hello")

    async def stream(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        await response.write(b"x" * 1000)
        await response.write(b"y" * 234)
        await response.write_eof()
        return response

    async def forgot(request: Request) -> Response:
        request.reply.close()  # closed unanswered: the client gets a 500
        return Response(text="never sent")

    app = Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/stream", stream)
    app.router.add_get("/forgot", forgot)
    return app


async def test_serve_logs_each_request_when_asked(
    lines: list[str], transport: TransportName
) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(
            app_for_logs(), transport=transport, access_log=ACCESS, access_log_format='"%r" %s %b'
        ) as client:
            await client.get("/hello?x=1")
            await client.get("/stream")
            await client.get("/missing")
            forgot = await client.get("/forgot")
    assert forgot.status_code == 500
    assert lines == [
        '"GET /hello?x=1 HTTP/1.1" 200 5',
        '"GET /stream HTTP/1.1" 200 1234',
        '"GET /missing HTTP/1.1" 404 14',
        f'"GET /forgot HTTP/1.1" 500 {len(forgot.content)}',  # the transport's own 500
    ]


async def test_the_default_format_names_the_client_and_agent(lines: list[str]) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_for_logs(), access_log=ACCESS) as client:
            await client.get("/hello", headers={"User-Agent": "probe/1", "Referer": "http://r/"})
    (line,) = lines
    assert line.startswith("127.0.0.1 [")
    assert line.endswith('] "GET /hello HTTP/1.1" 200 5 "http://r/" "probe/1"')


async def test_serve_logs_nothing_unless_asked(lines: list[str]) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(app_for_logs()) as client:
            await client.get("/hello")
    assert lines == []


async def test_an_access_log_class_of_ones_own(transport: TransportName) -> None:
    seen: list[tuple[str, int, str]] = []

    class Mine(AbstractAccessLogger):
        def log(self, request: Request, response: StreamResponse, time: float) -> None:
            seen.append((request.path, response.status, self.log_format))

    with trio.fail_after(TIMEOUT):
        async with serve_app(
            app_for_logs(),
            transport=transport,
            access_log=ACCESS,
            access_log_class=Mine,
            access_log_format="fmt",
        ) as client:
            await client.get("/hello")
    # ACCESS drops INFO here (no fixture): ``enabled`` is False, and nothing is logged.
    assert seen == [] if not ACCESS.isEnabledFor(logging.INFO) else [("/hello", 200, "fmt")]


async def test_an_enabled_class_of_ones_own_gets_every_request(lines: list[str]) -> None:
    seen: list[tuple[str, int]] = []

    class Mine(AbstractAccessLogger):
        def log(self, request: Request, response: StreamResponse, time: float) -> None:
            seen.append((request.path, response.status))

    with trio.fail_after(TIMEOUT):
        async with serve_app(app_for_logs(), access_log=ACCESS, access_log_class=Mine) as client:
            await client.get("/hello")
            await client.get("/missing")
    assert seen == [("/hello", 200), ("/missing", 404)]


async def test_a_class_that_is_not_an_access_logger_is_refused() -> None:
    with pytest.raises(TypeError, match="access_log_class must subclass AbstractAccessLogger"):
        async with serve_app(app_for_logs(), access_log=ACCESS, access_log_class=dict):
            pass


def test_run_app_logs_to_actorhttp_access_by_default() -> None:
    parameters = inspect.signature(run_app).parameters
    assert parameters["access_log"].default is ACCESS
    assert parameters["access_log_format"].default == AccessLogger.LOG_FORMAT
