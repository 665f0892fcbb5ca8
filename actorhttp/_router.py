"""The router actor: resolves each request, runs its middleware chain, replies.

It owns the route table. Each request is handled in a task of the actor's
own nursery, so a slow handler never holds up the next request; the task
always closes the request's ``reply`` channel, with a response on it when
there is one. A route's target is a handler, or an actor's mailbox that gets
the request and answers on ``request.reply``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import trio

from ._answers import exception_response
from ._exceptions import (
    HTTPException,
    HTTPInternalServerError,
    HTTPMethodNotAllowed,
    HTTPNotFound,
    HTTPServiceUnavailable,
)
from ._routing import (
    Match,
    MethodNotAllowed,
    Middleware,
    ResourceRoute,
    UrlDispatcher,
    check_method,
    compose,
)
from .messages import (
    AddRoute,
    CancelRequests,
    CommandFailed,
    Handler,
    Request,
    Response,
    Target,
    open_reply_channel,
)

__all__ = ["Router", "RouterInbox"]

logger = logging.getLogger("actorhttp")
RouterInbox = trio.MemoryReceiveChannel[Request | AddRoute | CancelRequests]


class NoReplyError(Exception):
    """An actor closed a request's reply channel without answering."""


def _forwarder(mailbox: trio.MemorySendChannel[Any]) -> Handler:
    """A handler that hands the request to an actor and waits for its answer."""

    async def forward(request: Request) -> Response:
        reply_send, reply_receive = open_reply_channel()
        with reply_receive:
            try:
                await mailbox.send(dataclasses.replace(request, reply=reply_send))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                reply_send.close()
                raise HTTPServiceUnavailable(text="the actor for this route has stopped") from exc
            try:
                return await reply_receive.receive()
            except trio.EndOfChannel:
                raise NoReplyError(
                    f"actor {mailbox!r} closed the reply without answering"
                ) from None

    return forward


def _describe(handler: object) -> str:
    module = getattr(handler, "__module__", None)
    name = getattr(handler, "__qualname__", None) or repr(handler)
    return f"{module}.{name}" if module else name


async def _raise_not_found(request: Request) -> Response:
    raise HTTPNotFound()


class _Generation:
    """A nursery for handler tasks that stays open until closed (or cancelled)."""

    def __init__(self) -> None:
        self._closing = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[trio.Nursery]) -> None:
        async with trio.open_nursery() as nursery:
            task_status.started(nursery)
            await self._closing.wait()

    def close(self) -> None:
        self._closing.set()


class Router:
    """The router actor. ``run`` serves its inbox until the inbox's senders all close.

    ``app`` is put on every request it dispatches; ``middlewares`` wrap every
    route, 404 and 405 included, the first listed outermost.
    """

    def __init__(
        self,
        routes: UrlDispatcher[Target],
        *,
        middlewares: Sequence[Middleware[Request, Response]] = (),
        app: object = None,
    ) -> None:
        self.routes = routes
        self._middlewares = tuple(middlewares)
        self._app = app
        self._chains: dict[ResourceRoute[Target], Handler] = {}
        self._not_found = compose(self._middlewares, _raise_not_found)
        self._outbox: trio.MemorySendChannel[Any] | None = None

    # -- the actor -------------------------------------------------------

    async def run(
        self,
        inbox: RouterInbox,
        outbox: trio.MemorySendChannel[Any] | None = None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Handle requests and commands from ``inbox`` until it ends, then wait for handlers.

        ``outbox`` (closed on return) gets CommandFailed events, and the
        requests of routes added with no handler.
        """
        self._outbox = outbox
        async with trio.open_nursery() as generations:
            # Handlers run in the current generation's nursery; CancelRequests
            # cancels that whole generation at once and opens the next one, so
            # no request pays for a cancel scope of its own.
            generation = _Generation()
            handlers: trio.Nursery = await generations.start(generation.run)
            task_status.started()
            async with inbox:
                while True:
                    # Take what is already queued without a scheduler round trip per
                    # message; block only when the inbox is empty (bounded by its size).
                    try:
                        message = inbox.receive_nowait()
                    except trio.WouldBlock:
                        try:
                            message = await inbox.receive()
                        except trio.EndOfChannel:
                            break
                    except trio.EndOfChannel:
                        break
                    if isinstance(message, Request):
                        handlers.start_soon(self.respond, message)
                    elif isinstance(message, AddRoute):
                        await self._add_route(message)
                    elif isinstance(message, CancelRequests):
                        handlers.cancel_scope.cancel()
                        generation = _Generation()
                        handlers = await generations.start(generation.run)
            generation.close()  # the handlers still running finish; then we return
        if outbox is not None:
            await outbox.aclose()

    async def _add_route(self, command: AddRoute) -> None:
        try:
            self.add_route(command)
        except (ValueError, RuntimeError, TypeError) as exc:
            logger.error("AddRoute failed: %s", exc)
            if self._outbox is not None:
                try:
                    await self._outbox.send(CommandFailed(command, str(exc)))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # nobody reads the outbox any more

    def add_route(self, command: AddRoute) -> None:
        """Add every method of ``command`` or none of them (errors name the conflict)."""
        target = command.handler if command.handler is not None else self._outbox
        if target is None:
            raise ValueError(f"AddRoute for {command.path!r} has no handler and no outbox")
        methods = [check_method(method) for method in command.methods]  # all checked first
        resource = self.routes.add_resource(command.path, name=command.name)
        taken = resource.allowed_methods & set(methods)
        if taken:
            raise RuntimeError(
                f"methods {sorted(taken)} are already registered on {resource.canonical!r}"
            )
        for method in methods:
            resource.add_route(method, target)

    async def respond(self, request: Request) -> None:
        """Handle ``request`` and answer on its reply channel, which this always closes."""
        reply = request.reply
        try:
            response = await self.handle(request)
            try:
                # A reply channel is one-shot with room for one: this never blocks.
                reply.send_nowait(response)
            except (trio.BrokenResourceError, trio.WouldBlock):
                pass  # the transport gave up on it (client gone, server stopped) or
                # someone else answered first: either way there is nobody to tell
        finally:
            reply.close()

    # -- the pipeline ------------------------------------------------------

    def _chain(self, route: ResourceRoute[Target]) -> Handler:
        chain = self._chains.get(route)
        if chain is None:
            target = route.target
            handler = _forwarder(target) if isinstance(target, trio.MemorySendChannel) else target
            chain = self._chains[route] = compose(self._middlewares, handler)
        return chain

    def _method_not_allowed(self, miss: MethodNotAllowed) -> Handler:
        async def raise_405(request: Request) -> Response:
            raise HTTPMethodNotAllowed(miss.method, miss.allowed)

        return compose(self._middlewares, raise_405)

    async def handle(self, request: Request) -> Response:
        """The response to ``request``: never raises, errors become 4xx/5xx responses."""
        resolution = self.routes.resolve(request.method, request.raw_path)
        if isinstance(resolution, Match):
            chain = self._chain(resolution.route)
            request = request.routed(resolution.match_info, self._app)
            handler: object = resolution.route.target
        else:
            if isinstance(resolution, MethodNotAllowed):
                chain = self._method_not_allowed(resolution)
            else:
                chain = self._not_found
            request = request.routed(request.match_info, self._app)
            handler = chain
        try:
            response: object = await chain(request)
        except HTTPException as exc:
            return exception_response(exc)
        except ConnectionResetError as exc:
            # The client went away mid-request: not the application's error, nobody to answer.
            logger.debug("%s %s: client went away: %s", request.method, request.raw_path, exc)
            return exception_response(HTTPInternalServerError())
        except Exception:
            logger.exception("error handling %s %s", request.method, request.raw_path)
            return exception_response(HTTPInternalServerError())
        if not isinstance(response, Response):
            logger.error(
                "handler %s returned %r for %s %s, not a Response",
                _describe(handler),
                type(response).__name__,
                request.method,
                request.raw_path,
            )
            return exception_response(HTTPInternalServerError())
        return response
