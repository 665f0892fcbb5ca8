"""StreamResponse, as aiohttp's: a response whose body is written in parts, handed over when sent.

A handler (or an actor) builds a response and changes it freely. Sending
it -- returning it from a handler, ``await request.reply.send(resp)``, or
``await resp.prepare(request)`` -- hands it to the server: from then on
every change raises aiohttp's ``RuntimeError`` and nothing already sent
changes (headers are frozen; cookies and the body are snapshotted).

``StreamResponse.prepare`` sends the head; each ``write`` then goes to the
connection through a bounded :class:`~actorhttp._pipe.BodyPipe`, so a
client that reads slowly slows the writer. A write to a client that has
gone raises ``ConnectionResetError``, as in aiohttp.

How the answer goes on the wire (Content-Length or chunked, compression,
which headers the server owns) is decided in one place that both
transports use, ``actorhttp._transports._framing``. ``Response`` (a whole
body) is in ``_response``.
"""

from __future__ import annotations

import datetime
import enum
import math
import re
import warnings
from collections.abc import AsyncIterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import trio

from .._pipe import BodyPipe, ClientDisconnectedError
from ._cookiejar import ResponseCookies
from ._headers import Headers, LooseHeaders
from ._helpers import (
    ETAG_ANY,
    QUOTED_ETAG_RE,
    REASON_PHRASES,
    ETag,
    ResponseKey,
    format_http_date,
    must_be_empty_body,
    parse_http_date,
    parse_media_type,
    validate_etag_value,
    warn_str_key,
)

if TYPE_CHECKING:
    from ._request import BaseRequest

__all__ = ["ContentCoding", "StreamResponse"]

T = TypeVar("T")
_SENT = "Cannot change the response {what} after the headers have been sent"
_MISSING: Any = object()
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


def _param(name: str, value: str) -> str:
    """``name=value``, the value quoted (RFC 9110 5.6.4) unless it is a token."""
    if _TOKEN.match(value):
        return f"{name}={value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


class ContentCoding(enum.Enum):
    """The codings ``enable_compression`` can force (aiohttp's enum)."""

    deflate = "deflate"
    gzip = "gzip"
    identity = "identity"


class StreamResponse(ResponseCookies, MutableMapping[str | ResponseKey[Any], Any]):
    """A response whose body is written in parts after :meth:`prepare`; see the module docs."""

    _body_stream: AsyncIterable[bytes] | None = None

    def __init__(
        self,
        *,
        status: int = 200,
        reason: str | None = None,
        headers: LooseHeaders | None = None,
    ) -> None:
        self._headers = Headers(headers) if headers is not None else Headers._empty()
        self._init_state(status, reason)

    # Class-level defaults: most responses change none of these, and an attribute set
    # on every instance costs every response (aiohttp keeps them on the class too).
    _state_dict: dict[str | ResponseKey[Any], Any] | None = None
    _keep_alive: bool | None = None
    _chunked = False
    _compression = False
    _compression_force: ContentCoding | None = None
    _compression_strategy: int | None = None
    _sent = False
    _eof_sent = False
    _pipe: BodyPipe | None = None

    def _init_state(self, status: int, reason: str | None) -> None:
        if type(status) is int and 100 <= status <= 999 and reason is None:
            self._status = status  # the common case: nothing to check or look up twice
            self._reason = REASON_PHRASES.get(status, "")
        else:
            self._set_status(status, reason)

    @property
    def _state(self) -> dict[str | ResponseKey[Any], Any]:
        state = self._state_dict
        if state is None:
            state = self._state_dict = {}
        return state

    # -- status ----------------------------------------------------------------

    def _set_status(self, status: int, reason: str | None) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
            raise ValueError(f"status must be an int from 100 to 999, not {status!r}")
        if reason is None:
            reason = REASON_PHRASES.get(status, "")
        elif not isinstance(reason, str) or "\r" in reason or "\n" in reason:
            raise ValueError("Reason cannot contain \\r or \\n")
        self._status = status
        self._reason = reason

    @property
    def status(self) -> int:
        """The status code (200 by default)."""
        return self._status

    @property
    def reason(self) -> str:
        """The reason phrase: the one given, else the standard one for the status."""
        return self._reason

    def set_status(self, status: int, reason: str | None = None) -> None:
        """Set the status (and reason); ``RuntimeError`` once the response is sent."""
        self._check_not_sent("status code")
        self._set_status(status, reason)

    def _check_not_sent(self, what: str) -> None:
        if self._sent:
            raise RuntimeError(_SENT.format(what=what))

    # -- flags -----------------------------------------------------------------

    @property
    def prepared(self) -> bool:
        """True once the response has been handed to the server (its head is on its way)."""
        return self._sent

    @property
    def keep_alive(self) -> bool | None:
        """False after ``force_close()``; None leaves it to the request and the server."""
        return self._keep_alive

    def force_close(self) -> None:
        """Close the connection after this response."""
        self._check_not_sent("connection")
        self._keep_alive = False

    @property
    def chunked(self) -> bool:
        """True after ``enable_chunked_encoding()``."""
        return self._chunked

    def enable_chunked_encoding(self, chunk_size: int | None = None) -> None:
        """Send the body chunked (HTTP/1.1); ``RuntimeError`` if a Content-Length is set."""
        self._check_not_sent("transfer encoding")
        if "Content-Length" in self._headers:
            raise RuntimeError("You can't enable chunked encoding when a content length is set")
        if chunk_size is not None:
            warnings.warn("Chunk size is deprecated #1615", DeprecationWarning, stacklevel=2)
        self._chunked = True

    @property
    def compression(self) -> bool:
        """True after ``enable_compression()``."""
        return self._compression

    def enable_compression(
        self, force: bool | ContentCoding | None = None, strategy: int | None = None
    ) -> None:
        """Compress the body with gzip or deflate, as the request's Accept-Encoding allows.

        ``force`` picks the coding whatever the client says.
        """
        self._check_not_sent("content encoding")
        if isinstance(force, bool):
            warnings.warn(
                "Using boolean for force is deprecated #3318", DeprecationWarning, stacklevel=2
            )
            force = ContentCoding.deflate if force else ContentCoding.identity
        elif force is not None and not isinstance(force, ContentCoding):
            raise TypeError(f"force should be one of None, bool or ContentCoding, not {force!r}")
        self._compression = True
        self._compression_force = force
        self._compression_strategy = strategy

    # -- headers and their typed views -----------------------------------------

    @property
    def headers(self) -> Headers:
        """The headers to send (case-insensitive, multi-valued); frozen once sent."""
        return self._headers

    @property
    def content_type(self) -> str:
        """The media type without parameters (``application/octet-stream`` when unset)."""
        media, _ = parse_media_type(self._headers.get("Content-Type"))
        return media or "application/octet-stream"

    @content_type.setter
    def content_type(self, value: str) -> None:
        # Parameters given with the type replace the old ones; else the old ones stay
        # (so setting "text/html" keeps a charset already chosen), as in aiohttp.
        media, params = parse_media_type(str(value))
        _, old = parse_media_type(self._headers.get("Content-Type"))
        self._set_content_type(media, dict(params) if params else dict(old))

    def _set_content_type(self, media: str, params: dict[str, str]) -> None:
        value = "; ".join([media, *(_param(k, v) for k, v in params.items())])
        self._headers["Content-Type"] = value

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of ``Content-Type``, or None."""
        _, params = parse_media_type(self._headers.get("Content-Type"))
        return params.get("charset")

    @charset.setter
    def charset(self, value: str | None) -> None:
        media = self.content_type
        if media == "application/octet-stream":
            raise RuntimeError(
                "Setting charset for application/octet-stream doesn't make sense, "
                "setup content_type first"
            )
        _, old = parse_media_type(self._headers.get("Content-Type"))
        params = dict(old)
        if value is None:
            params.pop("charset", None)
        else:
            params["charset"] = str(value).lower()
        self._set_content_type(media, params)

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` as set, or None."""
        value = self._headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else None

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        if value is None:
            self._headers.pop("Content-Length", None)
            return
        value = int(value)
        if value < 0:
            raise ValueError(f"content_length must be >= 0, not {value}")
        if self._chunked:
            raise RuntimeError("You can't set content length when chunked encoding is enable")
        self._headers["Content-Length"] = str(value)

    @property
    def last_modified(self) -> datetime.datetime | None:
        """``Last-Modified`` as an aware datetime, or None.

        Set it with a datetime, a timestamp or an HTTP date string.
        """
        return parse_http_date(self._headers.get("Last-Modified"))

    @last_modified.setter
    def last_modified(self, value: float | datetime.datetime | str | None) -> None:
        if value is None:
            self._headers.pop("Last-Modified", None)
        elif isinstance(value, int | float):
            self._headers["Last-Modified"] = format_http_date(math.ceil(value))
        elif isinstance(value, datetime.datetime):
            if value.microsecond:
                value = value.replace(microsecond=0) + datetime.timedelta(seconds=1)
            self._headers["Last-Modified"] = format_http_date(value)
        elif isinstance(value, str):
            self._headers["Last-Modified"] = value
        else:
            raise TypeError(f"Unsupported type for last_modified: {type(value).__name__}")

    @property
    def etag(self) -> ETag | None:
        """``ETag`` as an ``ETag(value, is_weak)``, or None. Set it with a string or an ``ETag``."""
        quoted = self._headers.get("ETag")
        if not quoted:
            return None
        if quoted == ETAG_ANY:
            return ETag(ETAG_ANY)
        match = QUOTED_ETAG_RE.fullmatch(quoted)
        if match is None:
            return None
        return ETag(match.group(2), bool(match.group(1)))

    @etag.setter
    def etag(self, value: ETag | str | None) -> None:
        if value is None:
            self._headers.pop("ETag", None)
        elif (isinstance(value, str) and value == ETAG_ANY) or (
            isinstance(value, ETag) and value.value == ETAG_ANY
        ):
            self._headers["ETag"] = ETAG_ANY
        elif isinstance(value, str):
            validate_etag_value(value)
            self._headers["ETag"] = f'"{value}"'
        elif isinstance(value, ETag):
            validate_etag_value(value.value)
            self._headers["ETag"] = f'W/"{value.value}"' if value.is_weak else f'"{value.value}"'
        else:
            raise ValueError(
                f"Unsupported etag type: {type(value)}. etag must be str, ETag or None"
            )

    # -- handing over ------------------------------------------------------------

    def _hand_over(self) -> None:
        """Become the server's: freeze the headers, snapshot what could still change."""
        if self._sent:
            return  # passed on again (an actor's answer forwarded by the router)
        if self._cookies:
            self._snapshot_cookies()
        self._sent = True
        self._headers._freeze()

    async def prepare(self, request: BaseRequest) -> None:
        """Send the head now; the body follows with :meth:`write` and :meth:`write_eof`.

        Runs the app's ``on_response_prepare`` signal first. Raises
        ``ConnectionResetError`` if the client has gone.
        """
        if self._sent:
            return
        await request._prepare_hook(self)
        self._complete_head()
        self._pipe = BodyPipe(discard=must_be_empty_body(request.method, self._status))
        await _send_on_reply(request, self)

    def _complete_head(self) -> None:
        """Fields the body decides, set once ``on_response_prepare`` has run (a subclass's)."""

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` as part of the body; waits while the client is behind."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        if self._eof_sent:
            raise RuntimeError("Cannot call write() after write_eof()")
        pipe = self._pipe
        if pipe is None:
            raise RuntimeError("Cannot call write() before prepare()")
        await pipe.write(bytes(data))

    async def drain(self) -> None:
        """Wait until everything written has gone to the connection (deprecated in aiohttp)."""
        if self._pipe is None:
            raise RuntimeError("Response has not been started")
        warnings.warn(
            "drain method is deprecated, use await resp.write()", DeprecationWarning, stacklevel=2
        )
        await self._pipe.drain()

    async def write_eof(self, data: bytes = b"") -> None:
        """End the body (after ``data``) and wait until the connection has taken it all."""
        if self._eof_sent:
            return
        pipe = self._pipe
        if pipe is None:
            raise RuntimeError("Response has not been started")
        if data:
            await self.write(data)
        self._eof_sent = True
        pipe.close()
        await pipe.drain()

    def _abort(self, exc: BaseException) -> None:
        """The body cannot be finished: the connection is cut so the client sees it."""
        self._eof_sent = True
        if self._pipe is not None:
            self._pipe.abort(exc)

    @property
    def body_length(self) -> int:
        """Bytes written so far."""
        return self._pipe.bytes_written if self._pipe is not None else 0

    # -- per-response state (response[key]) --------------------------------------

    @overload
    def __getitem__(self, key: ResponseKey[T]) -> T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: str | ResponseKey[Any]) -> Any:
        return self._state[key]

    @overload
    def __setitem__(self, key: ResponseKey[T], value: T) -> None: ...
    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __setitem__(self, key: str | ResponseKey[Any], value: Any) -> None:
        warn_str_key("response", key)
        self._state[key] = value

    def __delitem__(self, key: str | ResponseKey[Any]) -> None:
        del self._state[key]

    def __len__(self) -> int:
        return len(self._state)

    def __iter__(self) -> Iterator[str | ResponseKey[Any]]:
        return iter(self._state)

    def __hash__(self) -> int:
        return hash(id(self))

    def __eq__(self, other: object) -> bool:
        return self is other

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        info = "eof" if self._eof_sent else "sent" if self._sent else "not prepared"
        return f"<{type(self).__name__} {self._status} {self._reason} {info}>"


async def _send_on_reply(request: BaseRequest, response: StreamResponse) -> None:
    try:
        await request.reply.send(response)
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise ClientDisconnectedError(f"cannot send the response: {exc}") from exc
