"""The type aliases aiohttp programs annotate with, aiohttp's ``aiohttp.typedefs`` for actorhttp.

``from actorhttp.typedefs import Handler, Middleware, LooseHeaders, StrOrURL``:
the names of aiohttp's module, meaning the same types, with actorhttp's
``Request`` and ``StreamResponse`` where aiohttp's name its own.
``Handler`` is the very alias :mod:`actorhttp.messages` defines.
``tests/test_layout.py`` pins the names against aiohttp's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from http.cookies import BaseCookie, Morsel
from typing import Any, TypeAlias

from multidict import CIMultiDict, CIMultiDictProxy, istr
from yarl import URL
from yarl import Query as _Query

from ._routing._middleware import Middleware as _Middleware
from ._web._request import Request
from ._web._response import StreamResponse
from .messages import Handler

__all__ = [
    "DEFAULT_JSON_DECODER",
    "DEFAULT_JSON_ENCODER",
    "Byteish",
    "Handler",
    "JSONBytesEncoder",
    "JSONDecoder",
    "JSONEncoder",
    "LooseCookies",
    "LooseCookiesIterables",
    "LooseCookiesMappings",
    "LooseHeaders",
    "Middleware",
    "PathLike",
    "Query",
    "RawHeaders",
    "StrOrURL",
]

DEFAULT_JSON_ENCODER = json.dumps
"""What ``json_response`` encodes with unless given ``dumps=``."""
DEFAULT_JSON_DECODER = json.loads
"""What ``request.json()`` decodes with unless given ``loads=``."""

Query: TypeAlias = _Query
"""What ``yarl.URL.with_query`` takes: a mapping, pairs, or a string."""
Byteish: TypeAlias = bytes | bytearray | memoryview
"""Bytes in any of their three built-in forms."""
JSONEncoder: TypeAlias = Callable[[Any], str]
"""A ``json.dumps``-like function (``json_response(dumps=...)``)."""
JSONBytesEncoder: TypeAlias = Callable[[Any], bytes]
"""A JSON encoder that returns bytes (``json_bytes_response(dumps=...)``)."""
JSONDecoder: TypeAlias = Callable[[str], Any]
"""A ``json.loads``-like function (``request.json(loads=...)``)."""
LooseHeaders: TypeAlias = (
    Mapping[str, str]
    | Mapping[istr, str]
    | CIMultiDict[str]
    | CIMultiDictProxy[str]
    | Iterable[tuple[str | istr, str]]
)
"""Headers as a response or exception takes them: a mapping, a multidict, or pairs."""
RawHeaders: TypeAlias = tuple[tuple[bytes, bytes], ...]
"""Header fields as bytes, in order (``request.raw_headers``)."""
StrOrURL: TypeAlias = str | URL
"""A URL as text or as a ``yarl.URL`` (``HTTPFound(location=...)``)."""
LooseCookiesMappings: TypeAlias = Mapping[str, "str | BaseCookie[str] | Morsel[Any]"]
"""Cookies as a mapping of names to values or morsels."""
LooseCookiesIterables: TypeAlias = Iterable[tuple[str, "str | BaseCookie[str] | Morsel[Any]"]]
"""Cookies as pairs of names and values or morsels."""
LooseCookies: TypeAlias = "LooseCookiesMappings | LooseCookiesIterables | BaseCookie[str]"
"""Cookies in any of the forms above."""
Middleware: TypeAlias = _Middleware[Request, StreamResponse]
"""A ``@web.middleware`` function: ``async def mw(request, handler) -> StreamResponse``."""
PathLike: TypeAlias = "str | os.PathLike[str]"
"""A filesystem path as text or as a path object (``FileResponse(path)``)."""
