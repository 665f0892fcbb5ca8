"""The ASGI bridge: each ASGI HTTP request becomes a Request message, answered on its reply.

Used by the hypercorn transport and by ``Application`` itself when another
ASGI server (``hypercorn -k trio mod:app``) serves it. The response is
framed by ``_framing`` (the one place that decides it; hypercorn does the
chunking) and a streamed body is taken from its pipe and sent as
``http.response.body`` messages as it is written. WebSocket scopes go to
``_asgiws``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    HTTPScope,
    Scope,
    WebsocketScope,
)

from .._pipe import BodyPipe, PipeAborted
from .._reply import open_reply
from .._web._decoding import body_stream
from .._web._exceptions import RequestPayloadError
from .._web._helpers import http_version
from .._web._newrequest import new_request
from .._web._request import DEFAULT_CLIENT_MAX_SIZE, Request
from .._web._response import Response
from .._web._streams import DEFAULT_LIMIT, EMPTY_PAYLOAD, Receive, StreamReader
from .._web._transport import ConnectionTransport
from ..messages import MinDataRate
from ._asgiws import serve_websocket_scope
from ._base import Deliver, client_gone, exchange
from ._eofgate import releasing
from ._framing import Wire, frame
from ._h1 import H1Limits, Refusal, origin_form
from ._rate import RateMeter, receive_within
from ._scope_rules import refusal_for

__all__ = ["AsgiBridge"]

logger = logging.getLogger("actorhttp")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for field, value in headers:
        if field.lower() == name:
            return value
    return None


class AsgiBridge:
    """An ASGI app that turns each HTTP request into a Request message and answers it."""

    def __init__(
        self,
        deliver: Deliver,
        *,
        client_max_size: int | None = DEFAULT_CLIENT_MAX_SIZE,
        limits: H1Limits | None = None,
        going_away: trio.Event | None = None,
        handler_cancellation: bool = False,
        min_request_body_rate: MinDataRate | None = None,
        transports: Mapping[tuple[str, int], ConnectionTransport] | None = None,
        auto_decompress: bool = True,
        read_bufsize: int = DEFAULT_LIMIT,
    ) -> None:
        """``limits``: refuse what the scope shows breaks them (our hypercorn transport).

        ``going_away``: set when the server's stop begins; open WebSockets get close 1001.
        ``min_request_body_rate``: a body whose ASGI messages come slower is
        answered 408 and its connection closed. (Under another ASGI server,
        that server's own timeouts apply: None.)
        ``transports``: each live connection's ``request.transport`` by client
        address (our hypercorn transport); without one, it is made from the scope.
        ``auto_decompress`` and ``read_bufsize``: as ``StartServer``'s.
        """
        self._deliver = deliver
        self._client_max_size = client_max_size
        self._limits = limits
        self._going_away = going_away
        self._handler_cancellation = handler_cancellation
        self._min_request_body_rate = min_request_body_rate
        self._transports = transports
        self._auto_decompress = auto_decompress
        self._read_bufsize = read_bufsize

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        receive = releasing(scope, receive)  # our hypercorn transport holds EOFs till we read
        if scope["type"] != "http":
            # Lifespan belongs to Application.
            if scope["type"] == "websocket":
                await serve_websocket_scope(
                    self._deliver,
                    scope,
                    receive,
                    send,
                    client_max_size=self._client_max_size,
                    going_away=self._going_away,
                    transport=self.transport_for(scope),
                )
            return
        await self.http(scope, receive, send)

    def transport_for(self, scope: HTTPScope | WebsocketScope) -> ConnectionTransport:
        """The ``request.transport`` of the connection ``scope`` came on."""
        client = scope.get("client")
        peer = (client[0], client[1]) if client else None
        if peer is not None and self._transports is not None:
            known = self._transports.get(peer)
            if known is not None:
                return known
        server = scope.get("server")
        sockname = (server[0], server[1] or 0) if server else None
        return ConnectionTransport(None, peer, sockname=sockname)

    async def http(
        self, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        raw_headers = list(scope["headers"])
        # h11 passes an absolute-form target (http://host/path, RFC 9112 3.2.2) on as it is.
        target = origin_form(scope["method"], scope["raw_path"])
        refusal: Refusal | None = None
        if isinstance(target, Refusal):
            refusal = target
        elif self._limits is not None:
            refusal = refusal_for(
                scope["method"], target, scope["http_version"], raw_headers, self._limits
            )
        if refusal is not None:
            answer = refusal_response(refusal)
            answer._hand_over()
            wire = frame(answer, scope["method"], framed_below=True)
            wire.close = True
            await _send_wire(send, wire)
            return
        assert isinstance(target, bytes)  # not a Refusal: refused above
        length = _header(raw_headers, b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        chunked = _header(raw_headers, b"transfer-encoding") is not None
        body_done = declared == 0 or (declared is None and not chunked)
        minimum = self._min_request_body_rate
        meter = RateMeter(minimum) if minimum is not None and not body_done else None

        async def receive_body() -> bytes:
            nonlocal body_done
            while not body_done:
                if meter is None:
                    message = await receive()
                else:
                    message = await receive_within(meter, receive, _body_size)
                if message["type"] != "http.request":
                    raise RequestPayloadError("client disconnected before the body was complete")
                body_done = not message.get("more_body", False)
                if message["body"] or body_done:
                    return bytes(message["body"])
            return b""

        reply, receiver = open_reply()
        client = scope.get("client")
        request = new_request(
            scope["method"],
            target.decode("latin-1").partition("?")[0],
            scope["query_string"].decode("latin-1"),
            raw_headers,
            EMPTY_PAYLOAD if body_done else self._body(receive_body, raw_headers, declared),
            reply,
            http_version(scope["http_version"]),
            scope["scheme"],
            (client[0], client[1]) if client else None,
            True,
            self._client_max_size,
            disconnected=trio.Event() if self._handler_cancellation else None,
            transport=self.transport_for(scope),
        )
        if request.disconnected is None or not body_done:
            response = await exchange(self._deliver, request, receiver)
        else:
            async with trio.open_nursery() as watching:
                watching.start_soon(_watch, receive, request)
                response = await exchange(self._deliver, request, receiver)
                watching.cancel_scope.cancel()
        accept = _header(raw_headers, b"accept-encoding") if response._compression else None
        wire = frame(
            response,
            request.method,
            framed_below=True,
            accept_encoding=accept.decode("latin-1") if accept is not None else None,
        )
        # Over HTTP/1 a body left unread cannot be skipped safely: say the connection ends.
        if scope["http_version"] in ("1.0", "1.1") and not body_done:
            wire.close = True
        if wire.pipe is None or not body_done:
            await _send_wire(send, wire)
            return
        # A stream: hypercorn drops what is sent after the client has gone, so its
        # http.disconnect must break the pipe, or the writer would write into nothing.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_break_on_disconnect, receive, wire.pipe)
            await _send_wire(send, wire)
            nursery.cancel_scope.cancel()

    def _body(
        self, receive: Receive, headers: list[tuple[bytes, bytes]], declared: int | None
    ) -> StreamReader:
        return body_stream(
            receive,
            headers,
            declared_length=declared,
            auto_decompress=self._auto_decompress,
            read_bufsize=self._read_bufsize,
        )


async def _break_on_disconnect(receive: ASGIReceiveCallable, pipe: BodyPipe) -> None:
    """Break ``pipe`` when the client goes away (the request body is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    if not pipe.closed:
        pipe.break_("the client went away")


def _body_size(message: ASGIReceiveEvent) -> int:
    return len(message.get("body", b"")) if message["type"] == "http.request" else 0


def refusal_response(refusal: Refusal) -> Response:
    """The answer to a refused request: its status and reason, as plain text."""
    return Response(status=refusal.status, text=refusal.reason)


async def _watch(receive: ASGIReceiveCallable, request: Request) -> None:
    """The body has been read: the next ASGI message can only say the client left."""
    while (await receive())["type"] != "http.disconnect":
        pass
    client_gone(request)


async def _send_wire(send: ASGISendCallable, wire: Wire) -> None:
    headers = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in wire.headers]
    if wire.close:
        headers.append((b"connection", b"close"))
    await send(
        {
            "type": "http.response.start",
            "status": wire.status,
            "headers": headers,
            "trailers": False,
        }
    )
    pipe = wire.pipe
    if pipe is None:
        await send({"type": "http.response.body", "body": wire.body, "more_body": False})
        return
    await _send_stream(send, wire, pipe)


async def _send_stream(send: ASGISendCallable, wire: Wire, pipe: BodyPipe) -> None:
    try:
        while data := await pipe.read():
            data = wire.encode(data)
            if data and wire.send_body:
                await send({"type": "http.response.body", "body": data, "more_body": True})
        tail = wire.finish()
    except PipeAborted:
        # Returning without the last body message makes hypercorn cut the connection:
        # the client sees the body was not complete (the router logged why).
        return
    except ValueError as exc:
        logger.error("streamed response cut: %s", exc)
        pipe.break_(str(exc))
        return
    except BaseException:
        pipe.break_("the client went away")
        raise
    await send({"type": "http.response.body", "body": tail, "more_body": False})
