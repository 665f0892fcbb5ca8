"""What one open WebSocket costs the server, pinned: tasks, tracked objects, and no timer.

At 10,000 sockets per process every object a socket keeps is walked by each
full collection, and every task or timer it owns wakes the process; so the
cost of one idle socket is counted here, on the default (httptools)
transport, for both kinds of route:

* a handler (aiohttp's ``async for message in ws``): the connection's task,
  which reads the socket, and the handler's (nothing else: writes happen in
  the sender's task, heartbeats and the stop are the server's);
* an actor route (``add_websocket``): the connection's task alone (the
  handler ends once the actor has the connection; this actor keeps its
  sockets in a list, with no task of its own for them).

A handshake leaves no cyclic garbage either (llhttp's parser and ours hold
each other until the connection lets go): each cycle left behind brings
the collector's next full pass over every socket nearer.

A socket's objects are the ones the collector tracks that its tasks reach
(and, on an actor route, the connection the actor holds), walked from there
and stopping at anything older than the socket: what else appears meanwhile
(a cache that a module imported by an earlier test fills on its first use)
is not the socket's, so the count is the same in any test order.

The object budgets are today's figures with a little room (aiohttp's own
handler costs about 60); a change that makes a socket keep more fails here.
"""

from __future__ import annotations

import base64
import collections
import gc
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio
import trio.testing

from actorhttp import Application, Request, StreamResponse, WebSocketResponse
from actorhttp.messages import WebSocketConnection
from actorhttp.testing import serve_app

SOCKETS = 20
WARM_UP = 5  # more than the router pool keeps idle (its floor of 4)
HANDLER_OBJECTS = 68  # measured: 67
ACTOR_ROUTE_OBJECTS = 47  # measured: 46


async def open_websocket(port: int) -> socket.socket:
    """A client: the handshake (in this trio loop: no thread for the virtual clock to outrun),
    then the socket is kept open and silent, as a plain socket (no trio objects counted)."""
    sock = trio.socket.socket()
    await sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    while request:
        request = request[await sock.send(request) :]
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await sock.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return socket.socket(fileno=sock.detach())


def tasks() -> set[trio.lowlevel.Task]:
    found, stack = set(), [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is not None:
            found.add(task)
            stack.extend(child for n in task.child_nurseries for child in n.child_tasks)
    return found


def owned(roots: list[object], before: list[object]) -> collections.Counter[str]:
    """The objects the collector tracks that ``roots`` hold and that are not in ``before``.

    Only what belongs to the new sockets is counted: what else appeared meanwhile
    (the caches that a module imported by an earlier test fills on first use, say
    the weak references of an ABC's ``isinstance`` cache) is not reached from them,
    and neither is anything older (the server, the app), where the walk stops.
    ``before`` is kept alive by the caller, so no new object reuses an old one's id.
    """
    old = {id(o) for o in before}
    counted: collections.Counter[str] = collections.Counter()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        o = stack.pop()
        if id(o) in seen or id(o) in old or not gc.is_tracked(o) or isinstance(o, type):
            continue
        seen.add(id(o))
        counted[type(o).__qualname__] += 1
        stack.extend(gc.get_referents(o))
    return counted


class Steps(trio.abc.Instrument):
    """Counts the steps of some tasks (those of the sockets) while it is on."""

    def __init__(self, watched: set[trio.lowlevel.Task]) -> None:
        self.watched = watched
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task in self.watched:
            self.steps += 1


@asynccontextmanager
async def measured(
    app: Application, held: Callable[[], list[object]] = list
) -> AsyncIterator[dict[str, float]]:
    """Open SOCKETS WebSockets (after a few to warm up); yield what each costs.

    A socket's objects are those its tasks reach, and those of ``held()`` (what
    an actor was given for the new sockets).
    """
    cost: dict[str, float] = {}
    clients: list[socket.socket] = []
    async with serve_app(app, transport="httptools") as http:
        port = http.server.port
        try:
            for _ in range(WARM_UP):  # first uses, and the pool's idle workers taken
                clients.append(await open_websocket(port))
            await trio.testing.wait_all_tasks_blocked()
            gc.collect()
            before_tasks, before = tasks(), gc.get_objects()
            for _ in range(SOCKETS):
                clients.append(await open_websocket(port))
            await trio.sleep(5)  # the handshakes' spare workers retire meanwhile
            await trio.testing.wait_all_tasks_blocked()
            # What the collector finds unreachable now (it collected just before).
            cost["cyclic garbage"] = gc.collect() / SOCKETS
            new_tasks = tasks() - before_tasks
            grown = owned([*new_tasks, *held()], before)
            del before
            cost["tasks"] = len(new_tasks) / SOCKETS
            cost["objects"] = sum(grown.values()) / SOCKETS
            steps = Steps(new_tasks)
            trio.lowlevel.add_instrument(steps)
            await trio.sleep(600)  # ten idle minutes
            trio.lowlevel.remove_instrument(steps)
            cost["idle steps"] = steps.steps
            yield cost
        finally:
            for client in clients:
                client.close()


async def test_a_handlers_websocket_costs_two_tasks_and_wakes_nobody_while_idle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def listen(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    app = Application()
    app.router.add_get("/ws", listen)
    with trio.fail_after(900):
        async with measured(app) as cost:
            pass
    print(cost)
    assert cost["tasks"] == 2
    assert cost["objects"] <= HANDLER_OBJECTS, cost
    assert cost["cyclic garbage"] == 0, cost
    assert cost["idle steps"] == 0


async def test_an_actor_routes_websocket_costs_one_task_and_wakes_nobody_while_idle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    kept: list[WebSocketConnection] = []
    mailbox, inbox = trio.open_memory_channel[WebSocketConnection](WARM_UP + SOCKETS)

    async def keeper() -> None:
        async for connection in inbox:
            kept.append(connection)

    app = Application()
    app.router.add_websocket("/ws", mailbox)
    with trio.fail_after(900):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(keeper)
            async with measured(app, lambda: list(kept[WARM_UP:])) as cost:
                pass
            nursery.cancel_scope.cancel()
    assert len(kept) == WARM_UP + SOCKETS
    print(cost)
    assert cost["tasks"] == 1
    assert cost["objects"] <= ACTOR_ROUTE_OBJECTS, cost
    assert cost["cyclic garbage"] == 0, cost
    assert cost["idle steps"] == 0
