"""The fast HTTP/1.1 transport: trio streams and :class:`~._h1.H1Parser` (llhttp).

One task per connection, one request at a time (pipelined requests wait in
the parser's queue, so answers keep their order). Bytes are read only when
the parser has no event to give, which is the backpressure: a handler that
does not read its body leaves the socket alone. Deadlines: a request's head
must arrive within ``header_timeout`` (408), its body within ``body_timeout``
(408), and an idle keep-alive connection is closed after ``keep_alive_timeout``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Coroutine
from email.utils import formatdate
from time import time
from typing import Any
from urllib.parse import unquote

import trio

from .._body import EMPTY_BODY, BodyReader
from .._exceptions import HTTPBadRequest, HTTPRequestTimeout
from .._headers import Headers
from ..messages import Request, Response, StartServer, open_reply_channel
from ._base import (
    Deliver,
    Peer,
    StopSignal,
    accept_connections,
    aclosing_stream,
    body_allowed,
    exchange,
    listener_address,
    status_has_body,
)
from ._h1 import END, H1Limits, H1Parser, Head, Refusal

__all__ = ["serve_httptools"]

logger = logging.getLogger("actorhttp")
READ_SIZE = 64 * 1024
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024  # at most this much drained from a client we are done with
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Clock:
    """The Date header, formatted once a second rather than once a request."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def date(self) -> bytes:
        now = int(time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
        return self._value


_clock = _Clock()


def encode_head(
    response: Response,
    *,
    body_length: int | None,
    keep_alive: bool,
    http10: bool,
    chunked: bool = False,
) -> bytes:
    """Status line and header block; framing and Connection are ours, never the user's."""
    status = response.status
    parts = [f"HTTP/1.1 {status} {response.reason}\r\n"]
    for name, value in response.headers.multi_items():
        lowered = name.lower()
        if lowered not in ("content-length", "transfer-encoding", "connection"):
            parts.append(f"{name}: {value}\r\n")
    if body_length is not None and status_has_body(status):
        parts.append(f"Content-Length: {body_length}\r\n")
    elif chunked:
        parts.append("Transfer-Encoding: chunked\r\n")
    if not keep_alive:
        parts.append("Connection: close\r\n")
    elif http10:
        parts.append("Connection: keep-alive\r\n")
    head = "".join(parts).encode("utf-8")
    return head + b"Date: " + _clock.date() + b"\r\n\r\n"


class _Connection:
    """One client connection: reads requests, delivers them, writes the answers.

    A single cancel scope spans the connection's life. ``deadline`` follows
    the phase (idle: keep-alive timeout, head arriving: header timeout,
    handler running: none) and the server's reaper cancels the scope once it
    has passed: a float written per phase instead of a timer moved in trio's
    deadline heap, at the price of firing up to one reaper tick late.
    """

    __slots__ = (
        "body_deadline",
        "body_done",
        "body_refused",
        "client",
        "continue_pending",
        "deadline",
        "deliver",
        "eof",
        "idle",
        "parser",
        "scheme",
        "scope",
        "settings",
        "stopping",
        "stream",
    )

    def __init__(
        self,
        stream: trio.SocketStream,
        peer: Peer,
        settings: StartServer,
        limits: H1Limits,
        deliver: Deliver,
        stopping: trio.Event,
    ) -> None:
        self.stream = stream
        self.settings = settings
        self.parser = H1Parser(limits)
        self.deliver = deliver
        self.stopping = stopping
        self.scheme = "http"
        self.client = peer
        self.eof = False
        self.idle = False  # waiting for a request to begin: a stop may close it at once
        self.scope = trio.CancelScope()
        self.deadline = math.inf
        # The request being handled (one at a time per connection):
        self.body_done = True
        self.body_refused = False
        self.continue_pending = False
        self.body_deadline = math.inf

    async def _read(self) -> bool:
        """Feed one read to the parser; False at EOF."""
        if self.eof:
            return False
        try:
            data = await self.stream.receive_some(READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if data:
            self.parser.feed(data)
            return True
        self.eof = True
        self.parser.feed_eof()
        return False

    async def _next_head(self) -> Head | Refusal | None:
        """The next request's head, a refusal to answer, or None to close quietly."""
        events = self.parser.events
        while True:
            while events:
                event = events.pop(0)
                if isinstance(event, Head | Refusal):
                    return event
            if self.parser.done:
                return None
            if not self.parser.in_message:
                if self.stopping.is_set():
                    return None
                self.idle = True
                self.deadline = trio.current_time() + self.settings.keep_alive_timeout
                # Read here, not through _read: idle connections are most of a busy
                # server's connections, and each frame they sit in costs memory.
                try:
                    data = await self.stream.receive_some(READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                self.idle = False
                if not data:
                    self.eof = True
                    return None
                self.parser.feed(data)
                self.deadline = trio.current_time() + self.settings.header_timeout
            elif not await self._read():
                continue  # EOF: feed_eof queued a refusal, or the parser is done

    async def run(self, live: set[_Connection]) -> None:
        """Serve this connection until it ends, then close it; ``live`` tracks it meanwhile."""
        live.add(self)
        try:
            async with self.stream:
                await self._serve()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            # The client went away (reset, closed, stopped reading): its business, not an error.
            logger.debug("connection from %s ended by the client: %s", self.client, exc)
        except Exception:
            # A bug of ours in one connection must not end serve(); say so loudly.
            logger.exception("connection from %s failed", self.client)
        finally:
            live.discard(self)

    async def _serve(self) -> None:
        refusal: Refusal | None = None
        with self.scope:
            while True:
                head = await self._next_head()
                if head is None:
                    return
                if isinstance(head, Refusal):
                    refusal = head
                    break
                self.deadline = math.inf  # a handler takes the time it takes
                if not await self._handle(head):
                    if self.parser.in_message:
                        await self._linger()
                    return
        if refusal is None:  # our deadline passed
            if self.idle or not self.parser.in_message:
                return  # keep-alive timeout, or a stop, while idle: close quietly
            refusal = Refusal(408, "request head not received in time")
        await self._refuse(refusal)
        await self._linger()

    async def _linger(self) -> None:
        """Half-close, then drain what the client still sends, for a bounded time.

        Closing with unread input makes the kernel reset the connection, which
        can destroy the answer just sent before the client reads it.
        """
        try:
            await self.stream.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        drained = 0
        with trio.move_on_after(LINGER_SECONDS):
            while drained < LINGER_BYTES:
                data = await self.stream.receive_some(READ_SIZE)
                if not data:
                    return
                drained += len(data)

    async def _refuse(self, refusal: Refusal) -> None:
        response = Response(status=refusal.status, text=refusal.reason)
        await self._write(response, "GET", keep_alive=False, http10=False)

    async def _receive_body(self) -> bytes:
        """The next piece of the current request's body; ``b""`` at its end."""
        events = self.parser.events
        while True:
            if events:
                event = events.pop(0)
                if isinstance(event, bytes):
                    return event
                if event is END:
                    self.body_done = True
                    return b""
                assert isinstance(event, Refusal)
                self.body_refused = True
                raise HTTPBadRequest(text=event.reason)
            if self.continue_pending:
                # Sent only now that a handler reads: a 413 can still refuse first.
                self.continue_pending = False
                try:
                    await self.stream.send_all(_CONTINUE)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise ConnectionResetError("the client went away before its body") from exc
            # Body reads happen in the handler's task: they need a scope of their own.
            with trio.CancelScope(deadline=self.body_deadline) as scope:
                got = await self._read()
            if scope.cancelled_caught:
                raise HTTPRequestTimeout(text="request body not received in time")
            if not got and not events:
                raise HTTPBadRequest(text="connection closed in the middle of the body")

    async def _handle(self, head: Head) -> bool:
        """Deliver one request and answer it; True when the connection may carry another."""
        events = self.parser.events
        self.body_done = head.content_length in (None, 0) and not head.chunked
        self.body_refused = False
        if self.body_done:
            if events and events[0] is END:
                events.pop(0)
            content = EMPTY_BODY
        else:
            self.body_deadline = trio.current_time() + self.settings.body_timeout
            self.continue_pending = head.expect_continue
            content = BodyReader(
                self._receive_body,
                max_size=self.settings.client_max_size,
                declared_length=head.content_length,
            )
        raw_path, _, query = head.target.partition(b"?")
        raw = raw_path.decode("latin-1")
        reply_send, reply_receive = open_reply_channel()
        request = Request(
            head.method,
            unquote(raw) if "%" in raw else raw,
            raw,
            query.decode("latin-1"),
            Headers._trusted((k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers),
            content,
            reply_send,
            self.scheme,
            head.http_version,
            self.client,
        )
        response = await exchange(self.deliver, request, reply_receive)
        if not self.body_done and END in events and not self.parser.done:
            # The unread rest of the body has already arrived whole (its END is queued,
            # perhaps before a pipelined request): drop it and keep the connection.
            while events.pop(0) is not END:
                pass
            self.body_done = True
        keep_alive = (
            head.keep_alive
            and self.body_done
            and not self.body_refused
            and not self.parser.done
            and not self.stopping.is_set()
            and "close" not in response.headers.get("Connection", "").lower()
        )
        http10 = head.http_version == "1.0"
        if response.stream is not None:
            # HTTP/1.0 has no chunked encoding: the end of the connection ends the body.
            keep_alive = keep_alive and not http10
            complete = await self._write_stream(response, head.method, keep_alive, http10)
            return keep_alive and complete
        await self._write(response, head.method, keep_alive=keep_alive, http10=http10)
        return keep_alive

    async def _write(
        self, response: Response, method: str, *, keep_alive: bool, http10: bool
    ) -> None:
        body = response.body
        head = encode_head(response, body_length=len(body), keep_alive=keep_alive, http10=http10)
        if not body_allowed(method, response.status):
            await self.stream.send_all(head)
        elif len(body) <= 16 * 1024:
            await self.stream.send_all(head + body)
        else:
            await self.stream.send_all(head)
            await self.stream.send_all(body)

    async def _write_stream(
        self, response: Response, method: str, keep_alive: bool, http10: bool
    ) -> bool:
        """Send a streamed body as it comes; False when the stream failed part-way."""
        stream = response.stream
        assert stream is not None
        send = self.stream.send_all
        chunked = not http10 and status_has_body(response.status)
        head = encode_head(
            response, body_length=None, keep_alive=keep_alive, http10=http10, chunked=chunked
        )
        async with aclosing_stream(stream):
            await send(head)
            if not body_allowed(method, response.status):
                return True
            chunks = aiter(stream)
            while True:
                # Only the application's stream is guarded here: a failed send (the
                # client went away) propagates to run(), which logs it at DEBUG.
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception:
                    # The status line is gone already: all that is left is to cut the
                    # connection, so the client sees the body was not complete.
                    logger.exception("streamed response to %s raised part-way", method)
                    return False
                if chunk:
                    await send(b"%X\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                await send(b"0\r\n\r\n")
        return True


def _limits(settings: StartServer) -> H1Limits:
    return H1Limits(
        max_request_line=settings.max_request_line,
        max_header_line=settings.max_header_line,
        max_headers=settings.max_headers,
        max_header_size=settings.max_header_size,
    )


async def serve_httptools(
    settings: StartServer,
    deliver: Deliver,
    stop: StopSignal,
    *,
    task_status: trio.TaskStatus[tuple[str, ...]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop``; then stop accepting, drain for its grace, cut."""
    if settings.certfile is not None:
        raise ValueError("the httptools transport has no TLS: use transport='hypercorn'")
    listeners = await trio.open_tcp_listeners(
        settings.port, host=settings.host, backlog=settings.backlog
    )
    urls = tuple(f"http://{listener_address(listener)}" for listener in listeners)
    limits = _limits(settings)
    stopping = trio.Event()
    live: set[_Connection] = set()
    tick = min(max(min(settings.keep_alive_timeout, settings.header_timeout) / 10, 0.01), 1.0)

    async def reap() -> None:
        while True:
            await trio.sleep(tick)
            now = trio.current_time()
            for conn in live:
                if conn.deadline <= now:
                    conn.scope.cancel()

    def connection(stream: trio.SocketStream, peer: Peer) -> Coroutine[Any, Any, None]:
        # Not async itself: the task starts straight in run(), one frame less per connection.
        return _Connection(stream, peer, settings, limits, deliver, stopping).run(live)

    async with trio.open_nursery() as reaping:
        reaping.start_soon(reap)
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                for listener in listeners:
                    accepting.start_soon(accept_connections, listener, connection, connections)
                task_status.started(urls)
                grace = await stop.wait()
                accepting.cancel_scope.cancel()  # closes the listeners: no new connections
            stopping.set()
            for conn in live:
                if conn.idle:
                    conn.scope.cancel()  # idle keep-alive connections close now
            # Sends here are not shielded, so cancelling at the deadline cuts everything.
            connections.cancel_scope.deadline = trio.current_time() + grace
        reaping.cancel_scope.cancel()
