"""WebSockets on the hypercorn transport: the ASGI ``websocket`` scope, bridged to a WSLink.

hypercorn checks the handshake's basics and does the framing (wsproto);
over ASGI we get ``websocket.connect``, whole messages, and
``websocket.disconnect``. Each scope becomes a GET ``Request`` delivered
to the router like any other. A handler's ``WebSocketResponse`` is
accepted (``websocket.accept`` with its subprotocol and extra headers);
then one task takes ``websocket.receive`` messages into the link's
inbound channel (so hypercorn, whose queue to the app is bounded, stops
reading while the handler is behind) and one sends the outbound channel's
messages. Any other answer, or an exception, refuses the upgrade with
that HTTP response (``websocket.http.response.*``, which hypercorn supports).

Gaps against aiohttp, where ASGI or hypercorn cannot say what the
httptools transport does, and what happens instead:

* **ping/pong**: ASGI has no such messages. hypercorn answers a client's
  pings itself, even with ``autoping=False`` (the handler never sees PING
  or PONG); ``ping()`` and ``pong()`` raise ``NotImplementedError``; a
  ``heartbeat`` cannot ping, so it is logged as a warning and does nothing
  (a vanished client is noticed when its TCP connection fails).
* **the client's close frame**: hypercorn answers it itself (echoing its
  code) and tells the app only ``websocket.disconnect`` with 1006, as for a
  lost connection. ``receive()`` returns CLOSED and ``close_code`` is 1006:
  the client's code and reason are not known.
* **our close**: hypercorn sends our close frame (code and reason reach
  the client) and waits for the client's, but reports it as
  ``websocket.disconnect`` with 1000 whatever its code: ``close()`` returns
  then with ``close_code`` 1000 (after ``timeout`` with no answer: 1006 and
  a ``TimeoutError``, as on httptools; the connection is then dropped).
* **protocol errors**: hypercorn's wsproto fails the connection (a message
  over hypercorn's ``websocket_max_message_size``, 16 MiB, is answered
  with 1009; invalid UTF-8 and other errors end the connection without a
  close frame); the handler gets CLOSED, 1006. A message within hypercorn's
  limit but over ``max_msg_size`` is refused here as on httptools: close
  1009 and ERROR for the handler.
* **handshake checks hypercorn makes first**: a GET with ``Connection:
  upgrade`` and ``Upgrade: websocket`` but a version other than 13 or no
  key is answered 400 by hypercorn with an empty body (and the connection
  left open); the handler never runs. ``compress=False`` cannot stop hypercorn from accepting
  permessage-deflate: ``ws.compress`` then says what hypercorn negotiated.
"""

from __future__ import annotations

import logging

import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, WebsocketScope
from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import split_comma_header

from .._pipe import PipeAborted
from .._reply import open_reply
from .._web._exceptions import HTTPInternalServerError, HTTPServiceUnavailable
from .._web._helpers import http_version
from .._web._newrequest import new_request
from .._web._request import DEFAULT_CLIENT_MAX_SIZE, Request
from .._web._response import StreamResponse
from .._web._streams import EMPTY_PAYLOAD
from .._web._transport import ConnectionTransport
from .._web._ws import WebSocketResponse
from .._web._wschannels import OutboxItem, WebSocketInbox
from .._web._wslink import WSLink
from .._web._wsmodels import WebSocketError, WSCloseCode, WSMessage, WSMsgType
from ._base import Deliver
from ._framing import frame

__all__ = ["serve_websocket_scope"]

logger = logging.getLogger("actorhttp")
_HANDSHAKE_FIELDS = ("upgrade", "connection", "sec-websocket-")  # hypercorn writes its own


async def serve_websocket_scope(
    deliver: Deliver,
    scope: WebsocketScope,
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
    *,
    client_max_size: int | None = DEFAULT_CLIENT_MAX_SIZE,
    going_away: trio.Event | None = None,
    transport: ConnectionTransport | None = None,
) -> None:
    """Deliver a ``websocket`` scope as a Request; accept and carry it, or refuse it.

    When ``going_away`` is set (the server is stopping) the socket is closed with 1001.
    """
    if (await receive())["type"] != "websocket.connect":
        return  # gone before the handshake reached us
    raw_headers = list(scope["headers"])
    client = scope.get("client")
    reply, receiver = open_reply()
    request = new_request(
        "GET",
        scope["raw_path"].decode("latin-1").partition("?")[0],
        scope["query_string"].decode("latin-1"),
        raw_headers,
        EMPTY_PAYLOAD,
        reply,
        http_version(scope["http_version"]),
        "https" if scope["scheme"] == "wss" else "http",
        (client[0], client[1]) if client else None,
        True,
        client_max_size,
        transport=transport,
    )
    # Delivered from a task of its own: when Application serves itself under a plain
    # ASGI server, delivering runs the whole handler, which needs this task to accept.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_deliver, deliver, request)
        with receiver:
            try:
                response = await receiver.receive()
            except trio.EndOfChannel:
                logger.error("%s: reply closed without a response", request.raw_path)
                response = HTTPInternalServerError()
        if isinstance(response, WebSocketResponse) and response._link is not None:
            await _carry(response, response._link, raw_headers, receive, send, going_away)
        else:
            await _refuse(send, response)


async def _deliver(deliver: Deliver, request: Request) -> None:
    try:
        await deliver(request)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        request.reply.send_nowait(HTTPServiceUnavailable(text="the router has stopped"))


async def _refuse(send: ASGISendCallable, response: StreamResponse) -> None:
    """The handler answered with HTTP: send that instead of accepting (and the stream, if any)."""
    wire = frame(response, "GET", framed_below=True)
    headers = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in wire.headers]
    await send({"type": "websocket.http.response.start", "status": wire.status, "headers": headers})
    pipe = wire.pipe
    if pipe is None:
        await send({"type": "websocket.http.response.body", "body": wire.body, "more_body": False})
        return
    try:
        while data := await pipe.read():
            data = wire.encode(data)
            if data and wire.send_body:
                await send(
                    {"type": "websocket.http.response.body", "body": data, "more_body": True}
                )
        tail = wire.finish()
    except PipeAborted:
        return  # no last body message: hypercorn cuts the connection (the router logged why)
    except ValueError as exc:
        logger.error("streamed response cut: %s", exc)
        pipe.break_(str(exc))
        return
    except BaseException:
        pipe.break_("the client went away")
        raise
    await send({"type": "websocket.http.response.body", "body": tail, "more_body": False})


def _negotiated_deflate(raw_headers: list[tuple[bytes, bytes]]) -> int:
    """permessage-deflate's window bits as hypercorn will accept it (it always offers it)."""
    offers = [
        offer
        for name, value in raw_headers
        if name.lower() == b"sec-websocket-extensions"
        for offer in split_comma_header(value)
    ]
    deflate = PerMessageDeflate()
    if offers and server_extensions_handshake(offers, [deflate]) is not None:
        return deflate.server_max_window_bits
    return 0


async def _carry(
    response: WebSocketResponse,
    link: WSLink,
    raw_headers: list[tuple[bytes, bytes]],
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
    going_away: trio.Event | None = None,
) -> None:
    """Accept, then carry messages both ways until hypercorn says the connection is over."""
    wire = frame(response, "GET", framed_below=True)
    extra = [
        (name.encode("utf-8"), value.encode("utf-8"))
        for name, value in wire.headers
        if not name.lower().startswith(_HANDSHAKE_FIELDS)
    ]
    await send({"type": "websocket.accept", "subprotocol": link.protocol, "headers": extra})
    if link.heartbeat is not None:
        logger.warning(
            "heartbeat=%s does nothing on the hypercorn transport: ASGI has no ping/pong "
            "(serve with transport='httptools' to detect clients that stop answering)",
            link.heartbeat,
        )
    if link.actor:  # an actor closing its inbox: what it queued goes, then close 1000
        link.inbound.attach(_InboxCloser(link))
    link.accept(can_ping=False, compress=_negotiated_deflate(raw_headers))
    closing = _Closing()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_write, send, link, closing, nursery.cancel_scope)
            if going_away is not None:
                nursery.start_soon(_go_away, send, closing, going_away)
            await _read(receive, send, link, closing)
            # hypercorn's disconnect: nothing more can be sent, and waiting on (a stop, the
            # handler's next message) would keep the app, so the connection, open.
            nursery.cancel_scope.cancel()
    finally:
        link.finish()
    # Returning ends the stream: hypercorn closes a connection it may still hold open
    # for a client that never answered our close frame.


class _InboxCloser:
    """An actor's socket: closing the inbox ends the outbox once what it queued has gone."""

    __slots__ = ("_link",)

    def __init__(self, link: WSLink) -> None:
        self._link = link

    def write(self, item: OutboxItem, cork: bool) -> bool:
        return False  # the writer task sends everything (ASGI's send is async)

    def sender_closed(self) -> None:
        pass  # the writer task sees the outbox end

    def receiver_closed(self) -> None:
        self._link.outbound.seal("the actor closed the WebSocket's inbox")


async def _go_away(send: ASGISendCallable, closing: _Closing, going_away: trio.Event) -> None:
    """A stop has begun: close 1001 unless a close went out already."""
    await going_away.wait()
    if not closing.sent:
        closing.sent = True
        await send({"type": "websocket.close", "code": 1001, "reason": "server shutdown"})


class _Closing:
    """Whether our websocket.close went out (hypercorn then ends the connection)."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


async def _read(
    receive: ASGIReceiveCallable, send: ASGISendCallable, link: WSLink, closing: _Closing
) -> None:
    """Take hypercorn's messages until its disconnect; the handler gets them in order.

    Keeps taking them after the handler has stopped receiving: hypercorn's queue
    to us is bounded, and a full one would keep it from ever ending the connection.
    """
    inbound = link.inbound
    limit = link.max_msg_size
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code", WSCloseCode.ABNORMAL_CLOSURE)
            if code != WSCloseCode.ABNORMAL_CLOSURE and not link.actor:  # an actor: no CLOSE
                # After our close: the code hypercorn reports (1000), as the close's end.
                reason = str(message.get("reason") or "")
                await _give(inbound, WSMessage(WSMsgType.CLOSE, code, reason))
            link.finish()  # the rest is CLOSED for the handler, and its sends fail
            return
        if message["type"] != "websocket.receive":
            continue
        text = message.get("text")
        data: str | bytes = text if text is not None else message.get("bytes") or b""
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        if limit and size > limit and not closing.sent:
            reason = f"Message size {size} exceeds limit {limit}"
            closing.sent = True
            await send(
                {"type": "websocket.close", "code": WSCloseCode.MESSAGE_TOO_BIG, "reason": reason}
            )
            error = WebSocketError(WSCloseCode.MESSAGE_TOO_BIG, reason)
            try:
                inbound.put_nowait(WSMessage(WSMsgType.ERROR, error, None))
            except trio.WouldBlock:
                link.fail(error)  # a full channel: the handler learns at its next receive
            except trio.BrokenResourceError:
                pass
            link.finish()
            continue  # on to hypercorn's disconnect
        kind = WSMsgType.TEXT if isinstance(data, str) else WSMsgType.BINARY
        await _give(inbound, WSMessage(kind, data, None))


async def _give(inbound: WebSocketInbox, message: WSMessage) -> None:
    try:
        try:
            inbound.put_nowait(message)  # room: no scheduler round trip (receive() checkpoints)
        except trio.WouldBlock:
            await inbound.put(message)
    except trio.BrokenResourceError:
        pass  # the handler has stopped receiving: dropped


async def _write(
    send: ASGISendCallable, link: WSLink, closing: _Closing, carrying: trio.CancelScope
) -> None:
    """Send the handler's messages; when it is done, close (1011 if it never did) and end."""
    outbound = link.outbound
    while True:
        try:
            message = await outbound.take()
        except trio.EndOfChannel:
            break
        except trio.ClosedResourceError:
            return  # the connection is over
        if isinstance(message, str):
            await send({"type": "websocket.send", "bytes": None, "text": message})
        elif isinstance(message, bytes):
            await send({"type": "websocket.send", "bytes": message, "text": None})
        elif message.type is WSMsgType.CLOSE and not closing.sent:
            closing.sent = True
            await send(
                {"type": "websocket.close", "code": message.data, "reason": message.extra or ""}
            )
        # PING and PONG never come: WebSocketResponse refuses them (link.can_ping is False).
    if not closing.sent:
        closing.sent = True
        await send({"type": "websocket.close", "code": link.abort_code, "reason": ""})
    carrying.cancel()  # the handler is done with the socket: stop waiting for hypercorn
