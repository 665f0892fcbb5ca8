"""A chat room across workers and machines: a room actor per worker, a topic between them.

    python examples/chat.py [--host 127.0.0.1] [--port 8080] [--transport hypercorn]
                            [--broker redis://127.0.0.1:6379/0]
    actorhttp examples.chat:app --workers 4 --broker redis://127.0.0.1:6379/0
    then open http://127.0.0.1:8080/?name=alice and /?name=bob in two windows

``/`` serves the page (plain JavaScript ``WebSocket``); ``/ws?name=...`` is a
WebSocket route whose target is the room actor's mailbox, declared on the
app (``app.add_actor``). Each worker runs its own room actor holding that
worker's sockets, and the room's topic (``actorhttp.open_room``) joins them:
what a member says is published to the topic, and what the topic carries
reaches every member on every worker. With no broker (one process) the
same code is a room in one process. ``/members`` lists who is in the room
across the cluster (the broker's presence), and so does each welcome.

Every message reaches the others as ``name: text``; joining and leaving are
announced (``* alice joined``, ``* alice left``), also for members of a
worker that died. Delivery never waits for a slow member: a member whose
outbox is full (16 messages behind) is dropped by closing that outbox, which
closes its socket once what was queued has gone out. At a stop the room's
mailbox closes first: the room closes every socket with 1001 (going away),
so the server's stop does not wait for them.
"""

from __future__ import annotations

import argparse
import itertools

import trio

from actorhttp import (
    Application,
    Request,
    Response,
    Room,
    WSCloseCode,
    WSMessage,
    WSMsgType,
    json_response,
    open_room,
    run_app,
)
from actorhttp.broker import BrokerUnavailable
from actorhttp.messages import WebSocketConnection

TOPIC = "chat:lobby"
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
<p>In the room: <span id="members"></span></p>
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
  const members = document.getElementById("members");
  const refresh = () => fetch("/members").then((r) => r.json())
    .then((names) => { members.textContent = names.join(", "); });
  socket.onmessage = (event) => {
    if (event.data.startsWith("* ")) refresh();
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


async def room(inbox: trio.abc.ReceiveChannel[WebSocketConnection]) -> None:
    """This worker's room actor: members join through ``inbox``; returns when it is closed."""
    numbers = itertools.count(1)
    async with (
        open_room(
            app.broker,
            TOPIC,
            on_join=lambda name: f"* {name} joined",
            on_leave=lambda name: f"* {name} left",
        ) as lobby,
        trio.open_nursery() as members,
    ):
        async for connection in inbox:
            name = connection.request.query.get("name") or f"guest-{next(numbers)}"
            members.start_soon(member, lobby, connection, name)
        # The mailbox closed: the server is stopping. Say goodbye (1001, going away);
        # the room ends once every member's socket has closed.
        lobby.close_all(GOING_AWAY)


async def member(lobby: Room, connection: WebSocketConnection, name: str) -> None:
    """One member: joined while its socket is open, its lines published to the room."""
    async with connection.outbox, lobby.join(connection, name) as me:
        try:
            here = ", ".join(await lobby.members())
        except BrokerUnavailable:
            here = "unknown for now"
        connection.outbox.send_nowait(f"* welcome, {name} (here: {here})")
        async for message in connection.inbox:
            if isinstance(message.data, str):
                await lobby.publish(f"{name}: {message.data}", sender=me)


async def page(request: Request) -> Response:
    return Response(text=PAGE, content_type="text/html")


async def members(request: Request) -> Response:
    """Who is in the room, across every worker and machine sharing the broker."""
    try:
        return json_response(sorted(await request.app.broker.presence(TOPIC)))
    except BrokerUnavailable as exc:
        return json_response({"error": str(exc)}, status=503, headers={"Retry-After": "1"})


app = Application()
# Clients join in bursts (a reload, a reconnect after a restart): a scheduler round can
# finish a hundred handshakes at once, and a join that finds the mailbox full parks a
# router worker until the room takes it. Room for a burst costs nothing while empty.
mailbox = app.add_actor(room, name="chat room", mailbox_size=128)
app.router.add_get("/", page)
app.router.add_get("/members", members)
app.router.add_websocket("/ws", mailbox)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--transport", choices=["httptools", "hypercorn"], default="httptools")
    parser.add_argument("--broker", help="redis://host:port/db (default: this process only)")
    args = parser.parse_args()
    run_app(
        app,
        host=args.host,
        port=args.port,
        transport=args.transport,
        broker=args.broker,
        shutdown_timeout=5,
        access_log=None,
    )
    print("stopped", flush=True)
