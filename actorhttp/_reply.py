"""The one-shot reply: how a request's answer travels back to the connection that asked.

``open_reply()`` makes a pair, as ``trio.open_memory_channel`` does: a
:class:`Reply` that travels with the request (the handler, the router or an
actor answers on it) and a :class:`ReplyReceiver` that the connection task
waits on. It carries exactly one response, once:

* ``send``/``send_nowait`` hand the response over (it refuses changes from
  then on); a second answer raises :class:`ReplyError` to its sender;
* ``close`` (or leaving ``async with reply:``) without answering makes the
  waiting connection answer 500; closing after answering changes nothing;
* the receiver closing first (the client went away, the server stopped)
  makes a later ``send`` raise ``trio.BrokenResourceError``.

Built on ``trio.lowlevel`` parking rather than a memory channel: opening,
answering and closing a channel cost about 7 us per request, this about 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final

import outcome
import trio

from ._closing import SyncClose

if TYPE_CHECKING:
    from ._web._response import StreamResponse

__all__ = ["Reply", "ReplyError", "ReplyReceiver", "open_reply"]

_OPEN: Final = 0
_ANSWERED: Final = 1
_CLOSED: Final = 2  # closed by the sender with no answer
_ABANDONED: Final = 3  # the receiver gave up first


class ReplyError(RuntimeError):
    """A second answer on a one-shot reply."""


class Reply(SyncClose):
    """The sending half: answer a request once with ``await reply.send(response)``.

    Closing it without an answer (``close``, ``aclose`` or the end of
    ``async with reply:``) gets the client a 500, so an actor that cannot
    answer never leaves a connection waiting.
    """

    __slots__ = ("_deadline", "_gone", "_on_answer", "_on_close", "_response", "_state", "_waiter")

    def __init__(self) -> None:
        self._state = _OPEN
        self._response: StreamResponse | None = None
        self._waiter: trio.lowlevel.Task | None = None
        self._on_answer: Callable[[StreamResponse], None] | None = None
        self._on_close: Callable[[], None] | None = None
        # The router's handler_timeout scope: it bounds the time to the answer, so the
        # answer lifts it (a stream, once its head is out, may run as long as it likes).
        self._deadline: trio.CancelScope | None = None
        # The scope the router runs a cancellable handler in (handler_cancellation, or a
        # transport that cancels every handler whose client gave up: an HTTP/2 reset).
        self._gone: trio.CancelScope | None = None

    def send_nowait(self, response: StreamResponse) -> None:
        """Answer now; the response is handed over and refuses changes from here on.

        Raises :class:`ReplyError` if this reply has already been answered,
        ``trio.ClosedResourceError`` if it was closed unanswered,
        ``trio.BrokenResourceError`` if nobody waits any more (the client
        went away or the server stopped), and ``TypeError`` for anything
        that is not a response.
        """
        state = self._state
        if state != _OPEN:
            if state == _ANSWERED:
                raise ReplyError(
                    f"this request was already answered with {self._response!r}; "
                    f"a reply carries one response, not {response!r}"
                )
            if state == _CLOSED:
                raise trio.ClosedResourceError("this reply was closed without an answer")
            raise trio.BrokenResourceError(
                "nobody waits for this reply any more: the client went away or the server stopped"
            )
        hand_over = getattr(response, "_hand_over", None)
        if hand_over is None:
            raise TypeError(f"a reply carries a web.StreamResponse, not {response!r}")
        hand_over()
        self._response = response
        self._state = _ANSWERED
        deadline = self._deadline
        if deadline is not None:
            self._deadline = None
            deadline.deadline = math.inf
        self._on_close = None
        on_answer = self._on_answer
        if on_answer is not None:
            self._on_answer = None
            on_answer(response)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            trio.lowlevel.reschedule(waiter, outcome.Value(None))

    async def send(self, response: StreamResponse) -> None:
        """Answer, as :meth:`send_nowait` does; a checkpoint, like a channel's ``send``."""
        await trio.lowlevel.checkpoint_if_cancelled()
        self.send_nowait(response)
        await trio.lowlevel.cancel_shielded_checkpoint()

    @property
    def answered(self) -> bool:
        """True once a response has been sent on this reply."""
        return self._state == _ANSWERED

    @property
    def settled(self) -> bool:
        """True once answered or closed: nothing more can be sent on this reply."""
        return self._state != _OPEN

    def _client_gone(self) -> None:
        """The client gave up on this request: cancel its handler, if it runs cancellable.

        A transport calls this with ``request.disconnected`` set; the router runs
        the handler of such a request in a scope it leaves here.
        """
        scope = self._gone
        if scope is not None:
            scope.cancel()

    def close(self) -> None:
        """Give up answering; the client gets a 500 unless a response was already sent."""
        if self._state == _OPEN:
            self._state = _CLOSED
            self._on_answer = None
            on_close = self._on_close
            if on_close is not None:
                self._on_close = None
                on_close()
            waiter = self._waiter
            if waiter is not None:
                self._waiter = None
                trio.lowlevel.reschedule(waiter, outcome.Value(None))

    async def __aenter__(self) -> Reply:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = ("open", "answered", "closed", "abandoned")[self._state]
        return f"<Reply {state}>"


def _abort(reply: Reply) -> trio.lowlevel.Abort:
    reply._waiter = None
    return trio.lowlevel.Abort.SUCCEEDED


class ReplyReceiver(SyncClose):
    """The receiving half, held by the connection task that will write the answer."""

    __slots__ = ("_reply",)

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    async def receive(self) -> StreamResponse:
        """Wait for the response; ``trio.EndOfChannel`` if the reply was closed unanswered.

        Cancellation while waiting is clean: nothing is left parked.
        """
        reply = self._reply
        if reply._state == _OPEN:
            if reply._waiter is not None:
                raise trio.BusyResourceError("another task is already waiting for this reply")
            reply._waiter = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(lambda _: _abort(reply))
        else:
            await trio.lowlevel.checkpoint()
        if reply._state == _ANSWERED:
            response = reply._response
            assert response is not None
            return response
        if reply._state == _ABANDONED:
            raise trio.ClosedResourceError("this receiver was closed")
        raise trio.EndOfChannel

    def on_answer(self, callback: Callable[[StreamResponse], None]) -> None:
        """Have ``callback(response)`` run at the hand-over, in the answering task.

        It runs once the response is frozen and before this receiver's task
        wakes: a transport uses it to put a whole answer on the wire at once.
        It must not raise and cannot wait (it is not async).
        """
        self._reply._on_answer = callback

    def on_close(self, callback: Callable[[], None]) -> None:
        """Have ``callback()`` run if the reply is closed unanswered, in the closing task.

        With :meth:`on_answer`, a transport learns how a request settled
        without a task waiting in :meth:`receive`. It must not raise.
        """
        self._reply._on_close = callback

    def close(self) -> None:
        """Stop waiting: a later answer raises ``trio.BrokenResourceError`` to its sender."""
        reply = self._reply
        if reply._state == _OPEN:
            reply._state = _ABANDONED


def open_reply() -> tuple[Reply, ReplyReceiver]:
    """A fresh one-shot reply: the half that travels with the request, and the half that waits."""
    reply = Reply()
    return reply, ReplyReceiver(reply)
