"""Holding a client's EOF back from hypercorn until the request in flight can take it.

hypercorn reads a connection's socket on its own while the application
handles a request. When the client half-closes (sends its request, then
shuts its side), the EOF reaches hypercorn at once, and hypercorn closes the
connection: an answer the application had not sent yet is lost. That is
how a request refused at our layer (``_scope_rules``: both Content-Length
and Transfer-Encoding, say) from a half-closing client got no answer at
all: the refusal runs in the application's task, after hypercorn's read
loop had seen the EOF.

The httptools transport reads the socket only when a handler asks for the
body (or, with ``handler_cancellation``, watches for the client leaving).
An :class:`EofGate` gives hypercorn the same order: the stream under
hypercorn (``_sockio.SerialSendStream``) holds an EOF back while a request
is in flight, until the application reads from hypercorn (a body, or the
watch for a disconnect: then the EOF is what it must see) or the request
is over. hypercorn's own events say when a request starts and ends
(``Updated(idle=False)`` before it creates the request's stream,
``Updated(idle=True)`` or ``Closed`` after).
"""

from __future__ import annotations

from typing import Any

import trio

__all__ = ["EOF_GATE", "EofGate", "releasing"]

EOF_GATE = "actorhttp.eof_gate"
"""The key of a connection's gate in hypercorn's connection state (``scope["state"]``)."""


class EofGate:
    """One connection's EOF, held while a request it carries is being answered."""

    __slots__ = ("_busy", "_released")

    def __init__(self) -> None:
        self._busy = False
        self._released = trio.Event()

    def busy(self, busy: bool) -> None:
        """A request has started (True), or the connection is idle again (False)."""
        if busy and not self._busy:
            self._released = trio.Event()
        elif not busy:
            self._released.set()
        self._busy = busy

    def release(self) -> None:
        """Let the EOF through: the application reads, or the connection is closing."""
        self._released.set()

    async def wait(self) -> None:
        """Return once an EOF may go up to hypercorn."""
        if self._busy:
            await self._released.wait()


def releasing(scope: Any, receive: Any) -> Any:
    """``receive``, releasing the scope's connection's gate first (if it has one)."""
    state = scope.get("state")
    gate = state.get(EOF_GATE) if isinstance(state, dict) else None
    if gate is None:
        return receive

    async def receive_released() -> Any:
        gate.release()
        return await receive()

    return receive_released
