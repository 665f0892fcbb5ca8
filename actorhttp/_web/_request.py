"""Request: one HTTP request as the server actor pushes it, with the reply to answer on.

A frozen, slotted dataclass holding the request as it arrived (method,
raw target, raw header bytes, the body stream, the one-shot ``reply``) and
aiohttp's whole ``web.Request`` API computed from it on first use (the
header multidict, ``url``/``rel_url`` as yarl URLs, ``query``, ``cookies``,
conditional-request fields, ``forwarded``...). Only the router fills in
``match_info`` and ``app``, once, before any handler sees the request.
"""

from __future__ import annotations

import datetime
import json
import warnings
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import trio
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from yarl import URL

from .._reply import Reply
from .._routing._matchinfo import UrlMappingMatchInfo
from ._exceptions import HTTPBadRequest, HTTPRequestEntityTooLarge
from ._helpers import (
    ETag,
    HttpVersion,
    HttpVersion11,
    parse_etags,
    parse_http_date,
    parse_media_type,
)
from ._reqfields import parse_cookies, parse_forwarded, parse_range
from ._reqstate import RequestState
from ._streams import StreamReader
from ._transport import ConnectionTransport, RequestProtocol

if TYPE_CHECKING:
    from ._multipart import MultipartReader, PostValue
    from ._response import StreamResponse

__all__ = ["DEFAULT_CLIENT_MAX_SIZE", "BaseRequest", "InvalidJSONBody", "Request"]

T = TypeVar("T")
DEFAULT_CLIENT_MAX_SIZE = 1024**2
RawHeaders = tuple[tuple[bytes, bytes], ...] | list[tuple[bytes, bytes]]

_EMPTY_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())


class InvalidJSONBody(HTTPBadRequest, json.JSONDecodeError):
    """The body is not JSON: a 400 if unhandled; ``except json.JSONDecodeError`` catches it."""

    def __init__(self, error: json.JSONDecodeError) -> None:
        HTTPBadRequest.__init__(self, text=f"request body is not valid JSON: {error}")
        self.msg, self.doc, self.pos = error.msg, error.doc, error.pos
        self.lineno, self.colno = error.lineno, error.colno


@dataclass(frozen=True, slots=True, eq=False)
class BaseRequest(RequestState):
    """One HTTP request and the reply to answer it on; aiohttp's request API on top.

    ``raw_target_path`` and ``raw_query_string`` are the request target as
    sent (not decoded); ``raw_headers`` the header fields' bytes. Read the
    body through ``content`` (a stream) or ``read``/``text``/``json``/
    ``post``/``multipart``; ``read``, ``post`` and a multipart part read
    whole refuse past ``client_max_size`` with 413, as aiohttp does
    (``content`` and a part's ``read_chunk`` stream without a limit: the
    handler decides).
    """

    method: str
    raw_target_path: str
    raw_query_string: str
    raw_headers: RawHeaders
    content: StreamReader
    reply: Reply
    version: HttpVersion = HttpVersion11
    scheme: str = "http"
    peer: tuple[str, int] | None = None
    keep_alive: bool = True
    client_max_size: int | None = DEFAULT_CLIENT_MAX_SIZE
    _match_info: UrlMappingMatchInfo | None = None  # None until routed
    _app: Any = None
    _overrides: Mapping[str, Any] | None = None  # clone(host=..., remote=...)
    _state: dict[Any, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)
    disconnected: trio.Event | None = None
    """Set when the client goes away before the answer is out; ``None`` unless the server
    watches for that (``handler_cancellation=True``, as aiohttp's run_app takes it)."""
    _transport: ConnectionTransport | None = None  # the connection, as the transport made it

    # -- what the router fills in -----------------------------------------------

    def _route(self, match_info: UrlMappingMatchInfo, app: Any) -> None:
        """Set ``match_info`` and ``app``: the router's one change, before any handler runs."""
        object.__setattr__(self, "_match_info", match_info)
        object.__setattr__(self, "_app", app)

    # -- the target --------------------------------------------------------------

    @property
    def rel_url(self) -> URL:
        """The path and query as a relative yarl URL."""
        url = self._cache.get("rel_url")
        if url is None:
            url = self._cache["rel_url"] = URL.build(
                path=self.raw_target_path, query_string=self.raw_query_string, encoded=True
            )
        return url

    @property
    def path(self) -> str:
        """The path, percent-decoded (``/my path``)."""
        raw = self.raw_target_path
        return self.rel_url.path if "%" in raw else raw

    @property
    def raw_path(self) -> str:
        """The path and query exactly as sent (``/my%20path?x=1``)."""
        qs = self.raw_query_string
        return f"{self.raw_target_path}?{qs}" if qs else self.raw_target_path

    @property
    def path_qs(self) -> str:
        """The path with its query string, as sent (``/search?q=x``)."""
        return str(self.rel_url)

    @property
    def query_string(self) -> str:
        """The query string, percent-decoded as aiohttp gives it (``a=/`` for ``a=%2F``)."""
        return self.rel_url.query_string if self.raw_query_string else ""

    @property
    def query(self) -> MultiDictProxy[str]:
        """The query string parsed (``+`` is a space, blank values kept)."""
        if not self.raw_query_string:
            return _EMPTY_QUERY
        return self.rel_url.query

    @property
    def host(self) -> str:
        """``clone(host=...)``, else the Host header, else ``""``."""
        override = self._overrides.get("host") if self._overrides else None
        if override is not None:
            return str(override)
        return self.headers.get("Host", "")

    @property
    def url(self) -> URL:
        """The full URL: scheme, host and the relative URL."""
        url = self._cache.get("url")
        if url is None:
            try:
                base = URL.build(scheme=self.scheme, authority=self.host)
            except ValueError:
                base = URL.build(scheme=self.scheme, host="localhost")
            url = self._cache["url"] = base.join(self.rel_url)
        return url

    @property
    def secure(self) -> bool:
        """True when ``scheme`` is ``https``."""
        return self.scheme == "https"

    @property
    def remote(self) -> str | None:
        """``clone(remote=...)``, else the peer's address (``None`` when unknown)."""
        override = self._overrides.get("remote") if self._overrides else None
        if override is not None:
            return str(override)
        return self.peer[0] if self.peer is not None else None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The connection's ``transport.get_extra_info(name)``: ``peername``, ``sockname``,
        ``socket``, ``sslcontext``, ``ssl_object``; ``default`` for what it has not."""
        transport = self._transport
        if transport is not None:
            return transport.get_extra_info(name, default)
        if name == "peername" and self.peer is not None:
            return self.peer
        return default

    @property
    def transport(self) -> ConnectionTransport | None:
        """aiohttp's ``request.transport``: ``get_extra_info(...)`` and ``is_closing()`` of the
        connection; ``None`` once the client has gone (as aiohttp), or for a request made
        without a connection (``make_mocked_request``)."""
        transport = self._transport
        return None if transport is None or transport.is_closing() else transport

    @property
    def protocol(self) -> RequestProtocol:
        """What aiohttp programs read of its ``RequestHandler``: ``logger``, ``transport``..."""
        return RequestProtocol(self)

    # -- headers -------------------------------------------------------------------

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The header fields, case-insensitive, in order, repeats kept."""
        headers = self._cache.get("headers")
        if headers is None:
            headers = self._cache["headers"] = CIMultiDictProxy(
                CIMultiDict(
                    (name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
                    for name, value in self.raw_headers
                )
            )
        return headers

    @property
    def content_type(self) -> str:
        """The body's media type, lowercased (``application/octet-stream`` when not given)."""
        media, _ = parse_media_type(self.headers.get("Content-Type"))
        return media or "application/octet-stream"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of ``Content-Type``, or None."""
        _, params = parse_media_type(self.headers.get("Content-Type"))
        return params.get("charset")

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` as an int, or None when absent or not a number."""
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.isascii() and value.isdigit() else None

    @property
    def cookies(self) -> Mapping[str, str]:
        """The ``Cookie`` header's pairs (names that are not tokens are skipped)."""
        cookies = self._cache.get("cookies")
        if cookies is None:
            cookies = self._cache["cookies"] = parse_cookies(self.headers.getall("Cookie", ()))
        return cookies

    @property
    def if_modified_since(self) -> datetime.datetime | None:
        """``If-Modified-Since`` as an aware datetime, or None when absent or malformed."""
        return parse_http_date(self.headers.get("If-Modified-Since"))

    @property
    def if_unmodified_since(self) -> datetime.datetime | None:
        """``If-Unmodified-Since`` as an aware datetime, or None when absent or malformed."""
        return parse_http_date(self.headers.get("If-Unmodified-Since"))

    @property
    def if_range(self) -> datetime.datetime | None:
        """``If-Range`` as an aware datetime, or None when absent or not a date."""
        return parse_http_date(self.headers.get("If-Range"))

    @property
    def if_match(self) -> tuple[ETag, ...] | None:
        """The ETags of ``If-Match`` (``ETag("*")`` for ``*``), or None when absent."""
        return parse_etags(self.headers.get("If-Match"))

    @property
    def if_none_match(self) -> tuple[ETag, ...] | None:
        """The ETags of ``If-None-Match`` (``ETag("*")`` for ``*``), or None when absent."""
        return parse_etags(self.headers.get("If-None-Match"))

    @property
    def http_range(self) -> slice:
        """The ``Range`` header as a slice; ``ValueError`` when it is malformed."""
        return parse_range(self.headers.get("Range"))

    @property
    def forwarded(self) -> tuple[Mapping[str, str], ...]:
        """RFC 7239 ``Forwarded`` elements, one mapping per proxy hop, as aiohttp parses them."""
        return parse_forwarded(self.headers.getall("Forwarded", ()))

    # -- the body --------------------------------------------------------------------

    @property
    def body_exists(self) -> bool:
        """True if the request came with a body (even one already read)."""
        return self.content.declared_length != 0 and (
            self.content.total_bytes > 0 or not self.content.at_eof()
        )

    @property
    def can_read_body(self) -> bool:
        """True while some of the body is still to be read."""
        return not self.content.at_eof()

    @property
    def has_body(self) -> bool:
        """Deprecated (``DeprecationWarning``), as in aiohttp: use ``can_read_body``."""
        warnings.warn("Deprecated, use .can_read_body #2005", DeprecationWarning, stacklevel=2)
        return self.can_read_body

    async def read(self) -> bytes:
        """The whole body (kept: a second call gives it again); 413 past ``client_max_size``."""
        cached = self._cache.get("read")
        if cached is not None:
            return bytes(cached)
        limit = self.client_max_size
        declared = self.content.declared_length
        if limit and declared is not None and declared > limit:
            raise HTTPRequestEntityTooLarge(limit, declared)  # before reading a byte
        body = bytearray()
        while chunk := await self.content.readany():
            body += chunk
            if limit and len(body) > limit:
                raise HTTPRequestEntityTooLarge(limit, len(body))
        data = bytes(body)
        self._cache["read"] = data
        return data

    async def text(self) -> str:
        """The body decoded with its charset (UTF-8 by default); 400 if it does not decode."""
        body = await self.read()
        charset = self.charset or "utf-8"
        try:
            return body.decode(charset)
        except (UnicodeDecodeError, LookupError) as exc:
            raise HTTPBadRequest(text=f"request body is not valid {charset}: {exc}") from exc

    async def json(self, *, loads: Callable[[str], Any] = json.loads) -> Any:
        """The body parsed as JSON; :class:`InvalidJSONBody` (a 400) if it is not JSON."""
        text = await self.text()
        try:
            return loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidJSONBody(exc) from exc

    async def release(self) -> None:
        """Read and drop the rest of the body."""
        while await self.content.readany():
            pass

    async def post(self) -> MultiDictProxy[PostValue]:
        """Form fields (urlencoded or multipart; files as ``FileField``); 413 past the limit."""
        from ._multipart import read_post  # the form machinery loads on first use

        cached = self._cache.get("post")
        if cached is None:
            cached = self._cache["post"] = await read_post(self)
        result: MultiDictProxy[PostValue] = cached
        return result

    def _finish(self) -> None:
        """The request is over: close the files ``post()`` spooled, as aiohttp does, here and
        in every clone made of it (the server only knows the request it made)."""
        for clone in self._cache.get("clones", ()):
            clone._finish()
        form = self._cache.get("post")
        if form:
            for value in form.values():
                file = getattr(value, "file", None)
                if file is not None:
                    file.close()

    async def multipart(self) -> MultipartReader:
        """A streaming reader of a ``multipart/*`` body, part by part.

        A part read whole is refused past ``client_max_size`` (413), as in aiohttp.
        """
        from ._multipart import MultipartReader

        return MultipartReader(self.headers, self.content, client_max_size=self.client_max_size)

    # -- clones --------------------------------------------------------------------

    def clone(
        self,
        *,
        method: str | None = None,
        rel_url: URL | str | None = None,
        headers: Mapping[str, str] | None = None,
        scheme: str | None = None,
        host: str | None = None,
        remote: str | None = None,
        client_max_size: int | None = None,
    ) -> Request:
        """A new request with some of its parts replaced; the body and reply are shared.

        The clone starts with a copy of this request's state (``request[key]``),
        as aiohttp's.
        """
        target_path, query = self.raw_target_path, self.raw_query_string
        if rel_url is not None:
            url = URL(str(rel_url))
            if url.absolute:
                raise ValueError("rel_url should be a relative URL")
            target_path, query = url.raw_path, url.raw_query_string
        raw_headers = self.raw_headers
        if headers is not None:
            raw_headers = tuple(
                (str(k).encode("latin-1"), str(v).encode("utf-8", "surrogateescape"))
                for k, v in CIMultiDict(headers).items()
            )
        overrides = dict(self._overrides or {})
        if host is not None:
            overrides["host"] = host
        if remote is not None:
            overrides["remote"] = remote
        clone = Request(
            method.upper() if method is not None else self.method,
            target_path,
            query,
            raw_headers,
            self.content,
            self.reply,
            self.version,
            scheme if scheme is not None else self.scheme,
            self.peer,
            self.keep_alive,
            client_max_size if client_max_size is not None else self.client_max_size,
            self._match_info,
            self._app,
            MappingProxyType(overrides),
            self._state.copy(),  # as aiohttp: what the clone's handler stores stays its own
            disconnected=self.disconnected,
            _transport=self._transport,
        )
        # A middleware's clone (a proxy's, say) may be the one whose post() spools files.
        self._cache.setdefault("clones", []).append(clone)
        return clone

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.path} >"

    def _apps(self) -> tuple[Any, ...]:
        """The apps on this request's way, outermost first (sub-apps after their parent)."""
        apps = getattr(self._match_info, "apps", None)
        if apps is not None:
            return tuple(apps)
        return () if self._app is None else (self._app,)

    def _needs_prepare_hook(self) -> bool:
        return any(getattr(app, "on_response_prepare", None) for app in self._apps())

    async def _prepare_hook(self, response: StreamResponse) -> None:
        """Run ``on_response_prepare`` of each app on the request's way, outermost first."""
        for app in self._apps():
            signal = getattr(app, "on_response_prepare", None)
            if signal:
                for receiver in signal:
                    await receiver(self, response)


MutableMapping.register(BaseRequest)  # as aiohttp's: isinstance(request, MutableMapping)


class Request(BaseRequest):
    """What a handler receives: a request with its route's ``match_info`` and ``app``."""

    __slots__ = ()

    @property
    def match_info(self) -> UrlMappingMatchInfo:
        """The ``{name}`` parts of the route's path, decoded, with the route (``.route``) and
        the applications on the way (``.apps``); empty, with no route, until routed."""
        match_info = self._match_info
        if match_info is None:  # not routed (the bare driver): a new empty one, not kept
            return UrlMappingMatchInfo({}, None, self._apps(), self._app, frozen=True)
        return match_info

    @property
    def app(self) -> Any:
        """The application running now: a sub-application in its own middlewares and handler.

        ``None`` in the bare driver, which has no application.
        """
        current = getattr(self._match_info, "current_app", None)
        return current if current is not None else self._app

    @property
    def config_dict(self) -> Mapping[Any, Any]:
        """``app[key]`` looked up from this request's app out through its parents."""
        return MappingProxyType(ChainMap(*reversed(self._apps())))
