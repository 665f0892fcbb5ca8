"""Access logs as aiohttp writes them: logger ``actorhttp.access``, aiohttp's format directives.

``AccessLogger`` compiles a format once (aiohttp's ``%``-directives, below)
into a ``%``-string and the functions that fill it, so a request costs one
call per directive and one ``logger.info``. The router actor calls
``log(request, response, time)`` after each response is finished; with no
access logger configured nothing at all runs per request.

=============  ==========================================================
``%a``         the client's address (``request.remote``)
``%t``         when the request began: ``[22/Nov/2026:10:00:00 +0000]``
``%P``         this process's id (``<PID>``)
``%r``         the request line: ``GET /path?q HTTP/1.1``
``%s``         the response status
``%b``         the response body's size in bytes
``%T``         seconds taken, whole; ``%Tf`` with fractions
``%D``         microseconds taken
``%{H}i``      request header ``H``; ``%{H}o`` response header ``H``
=============  ==========================================================
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from ._web._request import Request
from ._web._response import StreamResponse

__all__ = ["AbstractAccessLogger", "AccessLogger", "access_logger", "make_access_logger"]

access_logger = logging.getLogger("actorhttp.access")

_now = time.time  # the wall clock, seconds since the epoch (a seam for tests)
_DIRECTIVE = re.compile(r"%(\{([A-Za-z0-9\-_]+)\}([io])|[atPrsbD]|Tf?)")
_Fill = Callable[[Request, StreamResponse, float], object]


class AbstractAccessLogger(ABC):
    """What ``access_log_class`` must be (aiohttp's): made with ``(logger, log_format)``."""

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        self.logger = logger
        self.log_format = log_format

    @abstractmethod
    def log(self, request: Request, response: StreamResponse, time: float) -> None:
        """Log one finished request; ``time`` is the seconds it took. Must not raise."""

    @property
    def enabled(self) -> bool:
        """False when the logger drops INFO anyway: then nothing is formatted."""
        return self.logger.isEnabledFor(logging.INFO)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's ``AccessLogger``: its default format and directives (module docstring)."""

    LOG_FORMAT = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'

    def __init__(self, logger: logging.Logger, log_format: str = LOG_FORMAT) -> None:
        super().__init__(logger, log_format)
        self._template, self._fills = _compile(log_format)

    def log(self, request: Request, response: StreamResponse, time: float) -> None:
        """Write one line for a finished request, at INFO.

        A format that fails is logged as an error, never raised to the request.
        """
        try:
            values = tuple(fill(request, response, time) for fill in self._fills)
            self.logger.info(self._template, *values)
        except Exception:
            # A log line is never worth a request: say what broke, once per request.
            self.logger.exception("access log format %r failed", self.log_format)


def _compile(log_format: str) -> tuple[str, list[_Fill]]:
    """The ``%``-template and its fills; any other ``%`` is kept as written."""
    fills: list[_Fill] = []
    parts: list[str] = []
    last = 0
    for found in _DIRECTIVE.finditer(log_format):
        parts += [log_format[last : found.start()].replace("%", "%%"), "%s"]
        fills.append(_fill(found.group(1), found.group(2), found.group(3)))
        last = found.end()
    parts.append(log_format[last:].replace("%", "%%"))
    return "".join(parts), fills


def _fill(directive: str, header: str | None, where: str | None) -> _Fill:
    if header is not None:
        if where == "i":
            return _request_header(header.lower().encode("latin-1"))
        return lambda request, response, time: response.headers.get(header, "-")
    return _SIMPLE[directive]


def _request_header(wanted: bytes) -> _Fill:
    def fill(request: Request, response: StreamResponse, time: float) -> str:
        # request.headers.get's answer (the first field so named), read from the raw
        # fields: building the multidict for a line cost more than the rest of it.
        for name, value in request.raw_headers:
            if name.lower() == wanted:
                return value.decode("utf-8", "surrogateescape")
        return "-"

    return fill


def _started(request: Request, response: StreamResponse, time: float) -> str:
    return _stamp(int(_now() - time))


@functools.lru_cache(maxsize=4)
def _stamp(second: int) -> str:
    """``%t`` for a second since the epoch, in local time: made once a second, not per line
    (the local zone and strftime cost more than the rest of a line's directives)."""
    began = datetime.datetime.fromtimestamp(second, datetime.UTC).astimezone()
    return began.strftime("[%d/%b/%Y:%H:%M:%S %z]")


def _request_line(request: Request, response: StreamResponse, time: float) -> str:
    version = request.version
    return f"{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}"


_SIMPLE: dict[str, _Fill] = {
    "a": lambda request, response, time: request.remote or "-",
    "t": _started,
    "P": lambda request, response, time: f"<{os.getpid()}>",
    "r": _request_line,
    "s": lambda request, response, time: response.status,
    "b": lambda request, response, time: response.body_length,
    "T": lambda request, response, time: round(time),
    "Tf": lambda request, response, time: f"{time:06f}",
    "D": lambda request, response, time: round(time * 1_000_000),
}


def make_access_logger(
    logger: logging.Logger | None,
    log_class: type[AbstractAccessLogger] = AccessLogger,
    log_format: str = AccessLogger.LOG_FORMAT,
) -> AbstractAccessLogger | None:
    """The access logger ``serve``/``run_app`` settings ask for, or None for none.

    Raises ``TypeError`` for a class that is not an ``AbstractAccessLogger``,
    before anything is served.
    """
    if logger is None:
        return None
    if not (isinstance(log_class, type) and issubclass(log_class, AbstractAccessLogger)):
        raise TypeError(f"access_log_class must subclass AbstractAccessLogger, not {log_class!r}")
    return log_class(logger, log_format)
