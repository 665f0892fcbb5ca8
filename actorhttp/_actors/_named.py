"""Named actors: one live incarnation across every process that shares the broker.

``app.add_actor(actor, cluster_name="counter")`` returns a
:class:`NamedActor`, a route target. Every worker competes for the name's
lease (``broker.lease``); the one that holds it runs the actor under
``supervise`` on a mailbox of its own. A request routed to the name on the
holder goes to that mailbox, as a mailbox route's does; on any other
worker it crosses the broker (``_broker._wire``: method, path, query,
headers, ``match_info``, the body up to ``client_max_size``) and the
holder's answer (status, headers, body) comes back.

* No holder yet (the holder died and its lease has not expired): the
  request waits for one up to ``4/3 * lease_time``, then gets 503 with
  ``Retry-After``. The route's ``handler_timeout`` still bounds it: 504.
* The holder went away with the request: 503 with ``Retry-After`` (the
  request may or may not have been handled; it is not sent twice).
* The actor answers with a stream (``StreamResponse.prepare``): refused
  for a remote caller with 502, the stream cut, the log saying why. A
  WebSocket route cannot lead to a named actor (``add_websocket`` refuses).

With the in-process broker every lease is granted at once: a named actor
is an ordinary local actor.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from .._broker import Broker, Lease, NoOwnerError
from .._broker._wire import decode_answer, decode_call, encode_answer, encode_call, refusal
from .._reply import open_reply
from .._router import forwarder
from .._supervise import RestartBudget, SupervisionError, supervise
from .._web._exceptions import HTTPServiceUnavailable
from .._web._request import Request
from .._web._response import StreamResponse
from ._declare import check_size

__all__ = ["NamedActor"]

logger = logging.getLogger("actorhttp")
RequestActor = Callable[[trio.abc.ReceiveChannel[Request]], Awaitable[Any]]


class NamedActor:
    """A route target for an actor with one incarnation in the cluster (see the module).

    Call it as a handler (``await named(request)``): that is what its
    routes do. ``cluster_name`` is the name every process competes for;
    ``owner`` says whether this process runs the incarnation now.
    """

    def __init__(
        self,
        actor: RequestActor,
        cluster_name: str,
        mailbox_size: int,
        budget: RestartBudget,
        name: str | None,
    ) -> None:
        if not callable(actor):
            raise TypeError(f"an actor is an async callable taking its inbox, not {actor!r}")
        if not isinstance(cluster_name, str) or not cluster_name:
            raise ValueError(f"cluster_name must be a non-empty str, not {cluster_name!r}")
        if not isinstance(budget, RestartBudget):
            raise TypeError(f"budget must be a RestartBudget, not {budget!r}")
        self.actor = actor
        self.cluster_name = cluster_name
        self.mailbox_size = check_size(mailbox_size)
        self.budget = budget
        self.label = f"actor {name or cluster_name!r}"
        self._broker: Broker | None = None
        self._app: Any = None
        self._mailbox: trio.MemorySendChannel[Request] | None = None
        self._forward: Callable[[Request], Awaitable[StreamResponse]] | None = None
        self._closing = trio.Event()

    @property
    def owner(self) -> bool:
        """True while this process runs the actor's incarnation."""
        return self._mailbox is not None

    # -- the route target ------------------------------------------------------------

    async def __call__(self, request: Request) -> StreamResponse:
        """The actor's answer to ``request``, wherever the actor runs; see the module docstring."""
        forward = self._forward
        if forward is not None:
            return await forward(request)
        broker = self._broker
        if broker is None or self._closing.is_set():
            raise HTTPServiceUnavailable(
                text=f"the actor {self.cluster_name!r} is not running", headers={"Retry-After": "1"}
            )
        deadline = request.reply._deadline
        timeout = None if deadline is None else max(0.0, deadline.deadline - trio.current_time())
        if timeout is not None and math.isinf(timeout):
            timeout = None
        frame = await encode_call(request, timeout)
        try:
            answer = await broker.call(self.cluster_name, frame, limit=timeout)
        except NoOwnerError as exc:
            retry = str(max(1, math.ceil(exc.retry_after)))
            raise HTTPServiceUnavailable(text=str(exc), headers={"Retry-After": retry}) from exc
        return decode_answer(answer)

    # -- where the lease is held: calls from other processes --------------------------

    async def _serve_call(self, frame: bytes) -> bytes:
        """Answer a call frame with the local incarnation; ``NoOwnerError`` if there is none."""
        mailbox = self._mailbox
        if mailbox is None:
            raise NoOwnerError(f"the actor {self.cluster_name!r} is not here", retry_after=1.0)
        reply, receiver = open_reply()
        request, timeout = decode_call(frame, reply, self._app)
        with receiver:
            with trio.move_on_after(math.inf if timeout is None else timeout):
                try:
                    await mailbox.send(request)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    reply.close()
                    raise NoOwnerError(
                        f"the actor {self.cluster_name!r} has stopped here", retry_after=1.0
                    ) from None
                try:
                    response = await receiver.receive()
                except trio.EndOfChannel:
                    return refusal(500, "500: the actor closed the reply without answering")
                if response._pipe is not None:
                    why = (
                        f"the actor {self.cluster_name!r} answered with a stream, which "
                        "cannot be forwarded to a worker in another process"
                    )
                    logger.error("%s %s: %s: cut", request.method, request.path, why)
                    response._abort(RuntimeError(why))
                    return refusal(502, f"502: {why}")
                return encode_answer(
                    response, request.method, request.headers.get("Accept-Encoding")
                )
        return refusal(504, f"504: no answer within {timeout:g} s")

    # -- running: compete for the lease, run the incarnation while held ----------------

    async def run(self, broker: Broker, app: Any, *, task_status: trio.TaskStatus[None]) -> None:
        """Hold or wait for the lease until closed; run the incarnation while it is held."""
        self._broker, self._app = broker, app
        try:
            async with broker.lease(self.cluster_name, self._serve_call) as lease:
                task_status.started()
                while not self._closing.is_set():
                    if not await self._until(lease.wait_owned):
                        break
                    await self._incarnation(lease)
        finally:
            self._broker = None

    async def _until(self, wait: Callable[[], Awaitable[None]]) -> bool:
        """Run ``wait`` until it returns (True) or the actor is closed (False)."""
        returned = False
        async with trio.open_nursery() as nursery:

            async def closing() -> None:
                await self._closing.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(closing)
            await wait()
            returned = True
            nursery.cancel_scope.cancel()
        return returned

    async def _incarnation(self, lease: Lease) -> None:
        mailbox, inbox = trio.open_memory_channel[Request](self.mailbox_size)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._supervised, inbox)
            self._mailbox = mailbox
            self._forward = forwarder(mailbox)
            logger.info("%s runs in this process", self.label)
            await self._until(lease.wait_lost)
            self._mailbox = self._forward = None
            mailbox.close()  # it ends once it has answered what was queued
            if not self._closing.is_set():
                # The lease is lost: what this incarnation holds may finish until another
                # process can take the lease over, and no longer.
                nursery.cancel_scope.deadline = lease.expires_at

    async def _supervised(self, inbox: trio.MemoryReceiveChannel[Request]) -> None:
        try:
            await supervise(self.actor, inbox, budget=self.budget, name=self.label)
        except SupervisionError as exc:
            logger.error("%s; its incarnation here is closed (its routes answer 503)", exc)
        finally:
            self._mailbox = self._forward = None

    def close(self) -> None:
        """Stop competing: the incarnation here (if any) ends once its queue is answered."""
        self._closing.set()

    def __repr__(self) -> str:
        return f"<NamedActor {self.cluster_name!r}>"
