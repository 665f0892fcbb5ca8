"""A chat room: one actor owns the room, each WebSocket reaches it as a pair of channels.

    python examples/chat.py [--host 127.0.0.1] [--port 8080] [--transport hypercorn]
    then open http://127.0.0.1:8080/?name=alice and /?name=bob in two windows

``/`` serves the page (plain JavaScript ``WebSocket``); ``/ws?name=...`` is a
WebSocket route whose target is the room actor's mailbox
(``app.router.add_websocket``). For each client the actor gets a
``WebSocketConnection``: its ``inbox`` yields what that client says and
ends when it leaves; its ``outbox`` takes what to send it. The room owns
the set of members and nobody else touches it: a small task per member
only turns its inbox into room events.

Every message reaches the others as ``name: text``; joining and leaving are
announced (``* alice joined``, ``* alice left``). Broadcasting never waits
for a slow member: ``send_nowait`` into its outbox, and a member whose
outbox is full (16 messages behind) is dropped by closing that outbox,
which closes its socket once what was queued has gone out. Ctrl-C closes
the mailbox first: the room closes every socket with 1001 (going away),
so the server's stop does not wait for them.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
from dataclasses import dataclass, field
from functools import partial

import trio

from actorhttp import Application, Request, Response, WSCloseCode, WSMessage, WSMsgType, serve
from actorhttp.messages import TransportName, WebSocketConnection

GOING_AWAY = WSMessage(WSMsgType.CLOSE, WSCloseCode.GOING_AWAY, "the server is stopping")

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>actorhttp chat</title>
<style>
  body { font-family: sans-serif; max-width: 40em; margin: 2em auto; }
  #log { list-style: none; padding: 0; min-height: 10em; border: 1px solid #ccc; }
  #log li { padding: .2em .5em; }
</style></head>
<body>
<h1>Chat <small id="status">connecting</small></h1>
<ul id="log"></ul>
<form id="form"><input id="text" autocomplete="off" autofocus>
<button id="send">Send</button></form>
<script>
  const name = new URLSearchParams(location.search).get("name") || "";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws?name=${encodeURIComponent(name)}`);
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  socket.onopen = () => { status.textContent = "connected"; };
  socket.onclose = () => { status.textContent = "disconnected"; };
  socket.onmessage = (event) => {
    const item = document.createElement("li");
    item.textContent = event.data;
    log.appendChild(item);
  };
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (input.value) { socket.send(input.value); input.value = ""; }
  };
</script>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class Said:
    member: Member
    text: str


@dataclass(frozen=True, slots=True)
class Left:
    member: Member


@dataclass(eq=False)
class Member:
    name: str
    connection: WebSocketConnection = field(repr=False)


async def room(
    mailbox: trio.MemoryReceiveChannel[WebSocketConnection],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The room actor: members join through ``mailbox``; returns when it is closed."""
    members: set[Member] = set()
    numbers = itertools.count(1)
    events_send, events = trio.open_memory_channel[Said | Left](64)

    def broadcast(text: str, *, besides: Member | None = None) -> None:
        for member in list(members):
            if member is besides:
                continue
            try:
                member.connection.outbox.send_nowait(text)
            except trio.WouldBlock:
                member.connection.outbox.close()  # too far behind: it is dropped
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # gone already: its Left event is on the way

    async def listen(member: Member, events_send: trio.MemorySendChannel[Said | Left]) -> None:
        async with events_send:
            async for message in member.connection.inbox:
                if isinstance(message.data, str):
                    await events_send.send(Said(member, message.data))
            await events_send.send(Left(member))

    async def join(nursery: trio.Nursery) -> None:
        async with mailbox:
            async for connection in mailbox:
                name = connection.request.query.get("name") or f"guest-{next(numbers)}"
                member = Member(name, connection)
                members.add(member)
                broadcast(f"* {name} joined", besides=member)
                connection.outbox.send_nowait(f"* welcome, {name}")
                nursery.start_soon(listen, member, events_send.clone())
        # The mailbox closed: the server is stopping. Say goodbye (1001, going away);
        # the room ends once every member's socket has closed.
        for member in list(members):
            with contextlib.suppress(trio.WouldBlock, trio.BrokenResourceError):
                member.connection.outbox.send_nowait(GOING_AWAY)
        await events_send.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(join, nursery)
        task_status.started()
        async for event in events:
            if isinstance(event, Said):
                broadcast(f"{event.member.name}: {event.text}", besides=event.member)
            else:
                members.discard(event.member)
                await event.member.connection.outbox.aclose()
                broadcast(f"* {event.member.name} left")


def make_app(mailbox: trio.MemorySendChannel[WebSocketConnection]) -> Application:
    async def page(request: Request) -> Response:
        return Response(text=PAGE, content_type="text/html")

    app = Application()
    app.router.add_get("/", page)
    app.router.add_websocket("/ws", mailbox)
    return app


async def main(host: str, port: int, transport: TransportName) -> None:
    mailbox, inbox = trio.open_memory_channel[WebSocketConnection](16)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(room, inbox)
            server = await nursery.start(
                partial(serve, make_app(mailbox), host, port, transport=transport)
            )
            print("serving on", server.url, flush=True)
            async for _ in signals:
                break
            await mailbox.aclose()  # the room closes every socket with 1001, then ends
            await server.stop(grace=5)
    print("stopped", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--transport", choices=["httptools", "hypercorn"], default="httptools")
    args = parser.parse_args()
    trio.run(main, args.host, args.port, args.transport)
