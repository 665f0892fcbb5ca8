"""An Application served by hypercorn's own worker (``hypercorn -k trio mod:app``): WebSockets.

There the app delivers each request inline (the handler runs inside the
delivery), so the WebSocket bridge must accept from a task of its own.
"""

from __future__ import annotations

import logging

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from actorhttp import Application, Request, StreamResponse, WebSocketResponse

from .wsclient import WSClient

TIMEOUT = 10


async def test_hypercorns_own_worker_serves_an_applications_websockets() -> None:
    async def echo(request: Request) -> StreamResponse:
        ws = WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(f"echo: {message.data}")
        return ws

    app = Application()
    app.router.add_get("/ws", echo)
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = logging.getLogger("tests.hypercorn")
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, app, config)
            port = int(binds[0].rpartition(":")[2])
            async with await WSClient.connect(port) as client:
                await client.send_text("one")
                assert await client.receive() == "echo: one"
                await client.close()
                close = await client.receive_close(reply=False)
            nursery.cancel_scope.cancel()
    assert close.code == 1000  # hypercorn echoes the code it was sent
