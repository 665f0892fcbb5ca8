"""Small HTTP value types and parsers shared by requests and responses.

Typed storage keys (``AppKey``, ``RequestKey``, ``ResponseKey``), ``ETag``,
HTTP dates, media types (RFC 9110: parameters split on ``;`` outside quoted
strings), ``HttpVersion`` and reason phrases. Parsing is delegated to the
field's libraries (``email.utils``, python-multipart's option parser).
"""

from __future__ import annotations

import datetime
import inspect
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar, get_args

from python_multipart.multipart import parse_options_header

__all__ = [
    "ETAG_ANY",
    "REASON_PHRASES",
    "AppKey",
    "ETag",
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "NotAppKeyWarning",
    "RequestKey",
    "ResponseKey",
    "format_http_date",
    "must_be_empty_body",
    "parse_etags",
    "parse_http_date",
    "parse_media_type",
    "warn_str_key",
]

T = TypeVar("T")

REASON_PHRASES: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}


class HttpVersion(NamedTuple):
    """An HTTP version as aiohttp has it: ``request.version == HttpVersion(1, 1)``."""

    major: int
    minor: int


HttpVersion10 = HttpVersion(1, 0)
HttpVersion11 = HttpVersion(1, 1)
_VERSIONS = {"1.0": HttpVersion10, "1.1": HttpVersion11, "2": HttpVersion(2, 0)}


def http_version(text: str) -> HttpVersion:
    """``"1.1"`` as ``HttpVersion(1, 1)``."""
    version = _VERSIONS.get(text)
    if version is None:
        major, _, minor = text.partition(".")
        version = HttpVersion(int(major), int(minor or 0))
    return version


# -- typed keys --------------------------------------------------------------


class NotAppKeyWarning(UserWarning):
    """A plain ``str`` used as a key of app, request or response state (aiohttp's warning)."""


class BaseKey(Generic[T]):
    """A typed key for ``app[...]``, ``request[...]`` or ``response[...]``.

    Its name is prefixed with the defining module's, so two libraries' keys never clash.
    """

    __slots__ = ("__orig_class__", "_name", "_t")

    __orig_class__: type[object]

    def __init__(self, name: str, t: type[T] | None = None) -> None:
        frame = inspect.currentframe()
        module = ""
        while frame is not None:
            if frame.f_code.co_name == "<module>":
                module = str(frame.f_globals.get("__name__", ""))
                break
            frame = frame.f_back
        self._name = f"{module}.{name}" if module else name
        self._t = t

    def __lt__(self, other: object) -> bool:
        if isinstance(other, BaseKey):
            return self._name < other._name
        return True

    def __repr__(self) -> str:
        t: Any = self._t
        if t is None:
            try:
                t = get_args(self.__orig_class__)[0]
            except AttributeError:
                t = None
        if t is None:
            described = "<<Unknown>>"
        elif isinstance(t, type):
            described = (
                t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
            )
        else:
            described = repr(t)
        return f"<{type(self).__name__}({self._name}, type={described})>"


class AppKey(BaseKey[T]):
    """A typed key for ``app[key]``."""


class RequestKey(BaseKey[T]):
    """A typed key for ``request[key]``."""


class ResponseKey(BaseKey[T]):
    """A typed key for ``response[key]``."""


_seen_str_keys: set[tuple[str, str]] = set()


def warn_str_key(kind: str, key: object, *, stacklevel: int = 3) -> None:
    """Warn once per key, as aiohttp does, that a typed key is recommended."""
    if isinstance(key, str) and (kind, key) not in _seen_str_keys:
        _seen_str_keys.add((kind, key))
        key_class = {"app": "AppKey", "request": "RequestKey", "response": "ResponseKey"}[kind]
        warnings.warn(
            f"It is recommended to use web.{key_class} instances for keys (got {key!r})",
            NotAppKeyWarning,
            stacklevel=stacklevel,
        )


# -- ETags -------------------------------------------------------------------

ETAG_ANY = "*"
_ETAGC = r"[!\x23-\x7E\x80-\xff]+"
_ETAGC_RE = re.compile(_ETAGC)
QUOTED_ETAG_RE = re.compile(rf'(W/)?"({_ETAGC})"')
_LIST_QUOTED_ETAG_RE = re.compile(rf'((W/)?"({_ETAGC})")(?:\s*,\s*|$)|(.)')


@dataclass(frozen=True, slots=True)
class ETag:
    """An entity tag: ``value`` without quotes, and whether it is weak (``W/``)."""

    value: str
    is_weak: bool = False


def validate_etag_value(value: str) -> None:
    if value != ETAG_ANY and not _ETAGC_RE.fullmatch(value):
        raise ValueError(f"Value {value!r} is not a valid etag. Maybe it contains '\"'?")


def parse_etags(header: str | None) -> tuple[ETag, ...] | None:
    """An If-Match/If-None-Match value as ETags; ``None`` when absent; stops at bad syntax."""
    if not header:
        return None
    if header.strip() == ETAG_ANY:
        return (ETag(ETAG_ANY),)
    return tuple(_etag_values(header))


def _etag_values(header: str) -> Iterator[ETag]:
    for match in _LIST_QUOTED_ETAG_RE.finditer(header.strip()):
        is_weak, value, garbage = match.group(2, 3, 4)
        if garbage:
            break
        yield ETag(value, bool(is_weak))


# -- dates -------------------------------------------------------------------


def parse_http_date(value: str | None) -> datetime.datetime | None:
    """An HTTP date as an aware UTC datetime; ``None`` when absent or unparseable."""
    if value is None:
        return None
    parsed = parsedate(value)
    if parsed is None:
        return None
    try:
        return datetime.datetime(*parsed[:6], tzinfo=datetime.UTC)
    except ValueError:
        return None


def format_http_date(value: float | datetime.datetime) -> str:
    """A timestamp or datetime as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return formatdate(value.timestamp(), usegmt=True)
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(value))


# -- media types ---------------------------------------------------------------

_EMPTY_PARAMS: MappingProxyType[str, str] = MappingProxyType({})


def parse_media_type(value: str | None) -> tuple[str, MappingProxyType[str, str]]:
    """``"text/html; charset=UTF-8"`` as ``("text/html", {"charset": "UTF-8"})``.

    The type is lowercased; parameter names are lowercased, values kept; a
    ``;`` inside a quoted string does not split (RFC 9110 section 5.6.6).
    """
    if not value:
        return "", _EMPTY_PARAMS
    if ";" not in value and '"' not in value:
        return value.strip().lower(), _EMPTY_PARAMS
    raw_type, raw_params = parse_options_header(value)
    params = {
        name.decode("latin-1").lower(): param.decode("latin-1")
        for name, param in raw_params.items()
    }
    return raw_type.decode("latin-1").strip().lower(), MappingProxyType(params)


_EMPTY_BODY_STATUSES = frozenset({204, 304})


def must_be_empty_body(method: str, status: int) -> bool:
    """Whether a response may carry no body: HEAD, 1xx, 204, 304, a 2xx to CONNECT."""
    return (
        method == "HEAD"
        or status < 200
        or status in _EMPTY_BODY_STATUSES
        or (method == "CONNECT" and 200 <= status < 300)
    )
