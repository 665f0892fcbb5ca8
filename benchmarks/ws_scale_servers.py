"""Servers for benchmarks/ws_scale.py: ``ws_scale_servers.py KIND PORT``.

Every kind serves, on 127.0.0.1:PORT until SIGTERM:

* ``GET /hello`` -> ``Hello, World!`` (the benchmark's readiness check);
* ``GET /room`` -> a WebSocket in one room: a member gets ``welcome`` once it
  is in the room, then every TEXT message a member sends goes to every other
  member, as TEXT;
* ``GET /echo`` -> a WebSocket that sends every TEXT message back as TEXT and
  every BINARY one as BINARY.

The kinds:

* ``aiohttp``: aiohttp, with the room written as aiohttp's users write it (a set
  of ``WebSocketResponse``; ``on_shutdown`` closes each with 1001, as aiohttp's
  documentation shows);
* ``actorhttp-handler``: actorhttp running that very handler code (``web`` is
  either module), without the ``on_shutdown`` loop: actorhttp's server closes
  every open WebSocket with 1001 by itself (the loop works on actorhttp too,
  closing one socket after another, each waiting for its client's answer);
* ``actorhttp-actor``: actorhttp with both WebSocket routes served by actors
  declared on the app (``add_actor``, ``add_websocket``, served by
  ``run_app``): a room actor that owns the members and broadcasts with
  ``send_nowait``, with a small task per member turning its inbox into room
  events, as ``examples/chat.py`` does; and an echo actor with a task per
  socket. A stop closes the actors' mailboxes first: the room sends every
  member a close 1001 (going away), each member's task ends with its socket,
  and the room once they all have.

Access logging is off everywhere. Both actorhttp kinds run the default
(httptools) transport.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Running this as a script puts its folder first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` package (aiohttp imports it). Put the
# repository root there instead: the echo is benchmarks.ws_servers'.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path[0] = dirname(dirname(abspath(__file__)))

from typing import TYPE_CHECKING, Any

from benchmarks.ws_servers import echo_handler

if TYPE_CHECKING:
    import trio

    from actorhttp.messages import WebSocketConnection

KINDS = ("actorhttp-actor", "actorhttp-handler", "aiohttp")
HOST = "127.0.0.1"
HELLO = "Hello, World!"
WELCOME = "welcome"  # what a member gets first: it is in the room


def handler_routes(web: Any, room: set[Any]) -> list[Any]:
    """The three routes as aiohttp's users write them (``web`` is either module)."""

    async def hello(request: Any) -> Any:
        return web.Response(text=HELLO)

    async def member(request: Any) -> Any:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        room.add(ws)
        await ws.send_str(WELCOME)
        try:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    for other in list(room):
                        if other is not ws:
                            try:
                                await other.send_str(message.data)
                            except ConnectionResetError:
                                pass  # gone: its own handler takes it out of the room
        finally:
            room.discard(ws)
        return ws

    echo = echo_handler(web)
    return [web.get("/hello", hello), web.get("/room", member), web.get("/echo", echo)]


def handler_app(web: Any, *, close_on_shutdown: bool) -> Any:
    """The app; ``close_on_shutdown``: close the room's sockets in ``on_shutdown``, as
    aiohttp's documentation shows (actorhttp's server does it by itself)."""
    room: set[Any] = set()

    async def close_all(app: Any) -> None:
        for ws in list(room):
            await ws.close(code=1001, message=b"server shutdown")  # going away

    app = web.Application()
    app.add_routes(handler_routes(web, room))
    if close_on_shutdown:
        app.on_shutdown.append(close_all)
    return app


# -- the actor kind --------------------------------------------------------------------


async def room_actor(mailbox: trio.abc.ReceiveChannel[WebSocketConnection]) -> None:
    """The room: members join through ``mailbox``; ends once it is closed and all have left.

    As ``examples/chat.py``'s room, with one send channel for every member's
    task (no clone each: the room ends on its own count of members).
    """
    import trio

    from actorhttp import WSCloseCode, WSMessage, WSMsgType
    from actorhttp.messages import WebSocketConnection

    going_away = WSMessage(WSMsgType.CLOSE, WSCloseCode.GOING_AWAY, "the server is stopping")
    members: set[WebSocketConnection] = set()
    events_send, events = trio.open_memory_channel[tuple[WebSocketConnection, str | None] | None](
        64
    )

    def broadcast(text: str, besides: WebSocketConnection) -> None:
        for connection in list(members):
            if connection is besides:
                continue
            try:
                connection.outbox.send_nowait(text)
            except trio.WouldBlock:
                connection.outbox.close()  # too far behind: it is dropped
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # gone already: its leaving is on the way

    async def listen(connection: WebSocketConnection) -> None:
        async for message in connection.inbox:
            if isinstance(message.data, str):
                await events_send.send((connection, message.data))
        await events_send.send((connection, None))  # it left

    async def join(nursery: trio.Nursery) -> None:
        async with mailbox:
            async for connection in mailbox:
                members.add(connection)
                connection.outbox.send_nowait(WELCOME)
                nursery.start_soon(listen, connection)
        for connection in list(members):  # the server is stopping: say goodbye
            try:
                connection.outbox.send_nowait(going_away)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                connection.outbox.close()
        await events_send.send(None)  # the room's end: its members' tasks end with them

    stopping = False
    async with trio.open_nursery() as nursery:
        nursery.start_soon(join, nursery)
        async for event in events:
            if event is None:
                stopping = True  # everyone was told: the room ends once they have all left
            elif event[1] is not None:
                if not stopping:
                    broadcast(event[1], event[0])
            else:
                members.discard(event[0])
                event[0].outbox.close()
            if stopping and not members:
                break


async def echo_actor(mailbox: trio.abc.ReceiveChannel[WebSocketConnection]) -> None:
    import trio

    async def echo(connection: WebSocketConnection) -> None:
        async with connection.outbox:
            async for message in connection.inbox:
                await connection.outbox.send(message.data)

    async with trio.open_nursery() as nursery, mailbox:
        async for connection in mailbox:
            nursery.start_soon(echo, connection)


def actor_app() -> Any:
    """The actor kind's app: the room and the echo declared on it (``add_actor``, as
    ``examples/chat.py`` declares its room), so they start and stop with it, mailbox first."""
    from actorhttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=HELLO)

    app = web.Application()
    app.router.add_get("/hello", hello)
    # As examples/chat.py: room in the mailbox for a burst of joins.
    app.router.add_websocket("/room", app.add_actor(room_actor, name="room", mailbox_size=128))
    app.router.add_websocket("/echo", app.add_actor(echo_actor, name="echo"))
    return app


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in KINDS or not argv[1].isdigit():
        raise SystemExit(f"usage: ws_scale_servers.py {{{','.join(KINDS)}}} PORT")
    kind, port = argv[0], int(argv[1])
    if kind == "aiohttp":
        from aiohttp import web as aioweb

        app = handler_app(aioweb, close_on_shutdown=True)
        aioweb.run_app(app, host=HOST, port=port, access_log=None, print=None)
    elif kind == "actorhttp-handler":
        from actorhttp import web

        app = handler_app(web, close_on_shutdown=False)
        web.run_app(app, host=HOST, port=port, access_log=None, print=None)
    else:
        from actorhttp import web

        web.run_app(actor_app(), host=HOST, port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
