"""http_driver: the two actors wired to one command channel and one outbox.

The program sends commands and reads the outbox: ServerStarted, request
items (answered on ``item.reply``), CommandFailed and ServerStopped. A route
added without a handler delivers its requests to the outbox.
"""

from __future__ import annotations

from typing import TypeAlias

import trio

from ._router import Router, open_router_mailbox
from ._routing import UrlDispatcher
from ._server import ServerActor
from .messages import Event, Request, Target

__all__ = ["Commands", "Outbox", "http_driver"]

Commands: TypeAlias = trio.MemorySendChannel[object]
Outbox: TypeAlias = trio.MemoryReceiveChannel[Event | Request]


async def http_driver(
    *,
    buffer: int = 64,
    task_status: trio.TaskStatus[tuple[Commands, Outbox]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run a server actor and a router actor; hand back ``(commands, outbox)``.

    Runs until ``commands`` is closed: then any running server stops
    gracefully, in-flight requests finish, and the outbox ends.
    """
    commands_send, commands_receive = trio.open_memory_channel[object](buffer)
    outbox_send, outbox_receive = trio.open_memory_channel[Event | Request](buffer)
    router_send, router_receive = open_router_mailbox(buffer)
    router = Router(UrlDispatcher[Target]())
    server = ServerActor(router_send, outbox_send.clone())
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run, router_receive, outbox_send)
        await nursery.start(server.run, commands_receive)
        task_status.started((commands_send, outbox_receive))
