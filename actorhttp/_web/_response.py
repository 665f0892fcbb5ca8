"""Response, as aiohttp's: a whole body (bytes, text, a file, a stream), and the JSON helpers.

``Response(body=...)`` takes what aiohttp's payload system takes: bytes,
str, an open file (binary or text, streamed from disk), ``io.BytesIO`` and
``io.StringIO``, a multipart body part, a :class:`~._payload.Payload`, or
any async iterable of bytes (sent chunked as it comes); see ``_payload``
for the Content-Type, Content-Disposition and length each one brings.
Handing over and streaming are ``StreamResponse``'s (``_streamresponse``),
re-exported here.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any

from ._cookiejar import _UNSAFE
from ._headers import Headers, LooseHeaders, check_field
from ._helpers import REASON_PHRASES
from ._payload import Payload, get_payload
from ._streamresponse import _MISSING, ContentCoding, StreamResponse
from ._streamresponse import _send_on_reply as _send_on_reply  # _ws takes it from here
from ._streams import StreamReader

if TYPE_CHECKING:
    from ._request import BaseRequest

__all__ = [
    "ContentCoding",
    "Response",
    "StreamResponse",
    "json_bytes_response",
    "json_response",
]


class Response(StreamResponse):
    """A response with its whole body: bytes, text, a file, or an async iterable of bytes.

    As in aiohttp: ``Response(text="hi")`` is ``text/plain; charset=utf-8``;
    ``Response(body=b"...")`` is ``application/octet-stream`` unless told;
    ``body`` and ``text`` stay settable until the response is sent. A file,
    ``io.BytesIO``, ``io.StringIO``, a multipart part or a ``Payload``
    brings its Content-Type, Content-Disposition and length (``_payload``
    has the rules) and is streamed. A body that is an async iterable is
    sent chunked as it comes, by the task that handled the request.
    """

    _body: bytes | bytearray | memoryview | None

    def __init__(
        self,
        *,
        body: Any = None,
        status: int = 200,
        reason: str | None = None,
        text: str | None = None,
        headers: LooseHeaders | None = None,
        content_type: str | None = None,
        charset: str | None = None,
    ) -> None:
        if (
            type(text) is str
            and body is None
            and headers is None
            and content_type is None
            and charset is None
            and type(status) is int
            and 100 <= status <= 999
            and reason is None
        ):
            # Response(text=...), perhaps with a status: what most handlers return. The
            # same result as the general path below, without its questions.
            real = Headers._empty()
            real._put("Content-Type", "text/plain; charset=utf-8")
            self._headers = real
            self._status = status
            self._reason = REASON_PHRASES.get(status, "")
            self._body = text.encode()
            return
        if body is not None and text is not None:
            raise ValueError("body and text are not allowed together")
        real = Headers(headers) if headers is not None else Headers._empty()
        if content_type is not None and "charset" in content_type:
            raise ValueError("charset must not be in content_type argument")
        if text is not None:
            if "Content-Type" in real:
                if content_type or charset:
                    raise ValueError(
                        "passing both Content-Type header and content_type or charset "
                        "params is forbidden"
                    )
            else:
                if not isinstance(text, str):
                    raise TypeError(f"text argument must be str ({type(text)!r})")
                charset = charset or "utf-8"
                value = f"{content_type or 'text/plain'}; charset={charset}"
                if content_type is not None and _UNSAFE.search(content_type):
                    check_field("Content-Type", value)  # raises: it could split the head
                real._put("Content-Type", value)
                body, text = text.encode(charset), None
        elif "Content-Type" in real:
            if content_type is not None or charset is not None:
                raise ValueError(
                    "passing both Content-Type header and content_type or charset "
                    "params is forbidden"
                )
        elif content_type is not None:
            real["Content-Type"] = f"{content_type}; charset={charset}" if charset else content_type
        self._headers = real
        self._init_state(status, reason)
        self._body = None
        if text is not None:
            self.text = text
        elif type(body) is bytes:
            self._body = body  # the common case, from text= too: the setter's checks hold
        else:
            self.body = body

    @property
    def body(self) -> bytes | bytearray | memoryview | AsyncIterable[bytes] | None:
        """The body: bytes, a :class:`Payload` (a file, a part...), an async iterable, or None.

        Setting it takes what aiohttp's payload system takes (see the class
        docstring); ``ValueError`` for anything else.
        """
        if self._body_stream is not None:
            return self._body_stream
        return self._body

    @body.setter
    def body(self, body: Any) -> None:
        self._check_not_sent("body")
        if body is None or isinstance(body, bytes | bytearray | memoryview):
            self._body, self._body_stream = body, None
        elif isinstance(body, str | io.StringIO):
            if "Content-Type" not in self._headers:
                self._headers["Content-Type"] = "text/plain; charset=utf-8"
            text = body if isinstance(body, str) else body.read()
            self._body, self._body_stream = text.encode(self.charset or "utf-8"), None
        elif hasattr(body, "__aiter__") and not isinstance(body, Payload | StreamReader):
            if "Content-Type" not in self._headers:
                self._headers["Content-Type"] = "application/octet-stream"
            self._body, self._body_stream = None, body
        else:
            try:
                payload = get_payload(body)
            except LookupError:
                raise ValueError(f"Unsupported body type {type(body)!r}") from None
            for name, value in payload.headers.items():
                if name not in self._headers:
                    self._headers[name] = value
            self._body, self._body_stream = None, payload

    @property
    def body_length(self) -> int:
        """The body's size in bytes; a streamed body's, as far as it has been written."""
        if self._pipe is not None or self._body is None:
            return super().body_length
        return len(self._body) if not isinstance(self._body, memoryview) else self._body.nbytes

    @property
    def text(self) -> str | None:
        """The body decoded with ``charset`` (UTF-8 by default), or None.

        Setting it encodes the text, and sets ``text/plain`` unless a type is set.
        """
        if self._body is None:
            return None
        return bytes(self._body).decode(self.charset or "utf-8")

    @text.setter
    def text(self, text: str) -> None:
        self._check_not_sent("body")
        if not isinstance(text, str):
            raise TypeError(f"text argument must be str ({type(text)!r})")
        if self.content_type == "application/octet-stream":
            self.content_type = "text/plain"
        if self.charset is None:
            self.charset = "utf-8"
        self._body, self._body_stream = text.encode(self.charset or "utf-8"), None

    @property
    def content_length(self) -> int | None:
        """The body's length, or None when it is streamed or chunked."""
        if self._chunked or self._body_stream is not None:
            return None
        value = self._headers.get("Content-Length")
        if value is not None and value.isdigit():
            return int(value)
        return len(self._body) if self._body is not None else 0

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        raise RuntimeError("Content length is set automatically")

    def _hand_over(self) -> None:
        if not self._sent and isinstance(self._body, bytearray | memoryview):
            self._body = bytes(self._body)  # a snapshot: the sender may still hold the buffer
        super()._hand_over()

    async def prepare(self, request: BaseRequest) -> None:
        """Hand the whole response over now (after ``on_response_prepare``)."""
        if self._sent:
            return
        if self._body_stream is not None:
            # Streamed by this task, not the connection's: the app's code stays in its context.
            await StreamResponse.prepare(self, request)  # it runs on_response_prepare
            return
        await request._prepare_hook(self)
        await _send_on_reply(request, self)

    def _complete_head(self) -> None:
        stream = self._body_stream
        size = stream.size if isinstance(stream, Payload) else None
        if size is not None and not self._chunked and "Content-Length" not in self._headers:
            self._headers["Content-Length"] = str(size)  # a file's length is known: not chunked

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Before ``prepare()``, ``RuntimeError``: a ``Response`` sends its body whole.

        Use ``StreamResponse`` to write a body in parts.
        """
        if self._pipe is None:
            raise RuntimeError(
                "a Response sends its body whole; use StreamResponse to write() in parts"
            )
        await super().write(data)

    async def write_eof(self, data: bytes = b"") -> None:
        """End the body; a body stream not run yet (HEAD, 204, 304) is closed unrun. Idempotent."""
        if self._eof_sent:
            return
        if data:
            raise ValueError(f"data arg is not supported, got {data!r}")
        stream = self._body_stream
        if self._pipe is None or stream is None:
            self._eof_sent = True
            return
        aclose = getattr(stream, "aclose", None)
        try:
            if not self._pipe.discard:  # HEAD, 204, 304: the stream is never run
                async for chunk in stream:
                    await super().write(chunk)
        finally:
            if aclose is not None:
                await aclose()
        await super().write_eof()


def json_response(
    data: Any = _MISSING,
    *,
    text: str | None = None,
    body: bytes | None = None,
    status: int = 200,
    reason: str | None = None,
    headers: LooseHeaders | None = None,
    content_type: str = "application/json",
    dumps: Callable[[Any], str] = json.dumps,
) -> Response:
    """A JSON response: ``data`` serialised with ``dumps``, or ready-made ``text``/``body``."""
    if data is not _MISSING:
        if text or body:
            raise ValueError("only one of data, text, or body should be specified")
        text = dumps(data)
    return Response(
        text=text,
        body=body,
        status=status,
        reason=reason,
        headers=headers,
        content_type=content_type,
    )


def json_bytes_response(
    data: Any = _MISSING,
    *,
    dumps: Callable[[Any], bytes],
    body: bytes | None = None,
    status: int = 200,
    reason: str | None = None,
    headers: LooseHeaders | None = None,
    content_type: str = "application/json",
) -> Response:
    """A JSON response from an encoder that returns bytes (orjson, say)."""
    if data is not _MISSING:
        if body is not None:
            raise ValueError("only one of data or body should be specified")
        body = dumps(data)
    return Response(
        body=body, status=status, reason=reason, headers=headers, content_type=content_type
    )
