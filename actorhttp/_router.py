"""The router actor: resolves each request, runs its middleware chain, answers on its reply.

It owns the route table. Each request is handled in a task of the actor's
own nursery, so a slow handler never holds up the next request; that task
always closes the request's ``reply``, answered when there is an answer.
A route's target is a handler, or an actor's mailbox that gets the request
(with a reply of its own) and answers on it; middlewares wrap both alike.

Finishing a response is aiohttp's: a response returned unsent is handed
over on the reply (after ``on_response_prepare``), a streamed one that the
handler prepared is ended with ``write_eof``, and an error after the head
went out cuts the connection instead of sending a second answer.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

from ._accesslog import AbstractAccessLogger
from ._lifecycle import GracefulExit
from ._pipe import ClientDisconnectedError
from ._pool import Mailbox, MailboxSender, open_mailbox
from ._reply import open_reply
from ._routing import (
    Match,
    MethodNotAllowed,
    ResourceRoute,
    UrlDispatcher,
    check_method,
    compose_layers,
)
from ._routing._matchinfo import SystemRoute, UrlMappingMatchInfo
from ._supervise import DEFAULT_RESTART_BUDGET, RestartBudget, Restarts, orphan
from ._web._exceptions import (
    HTTPException,
    HTTPGatewayTimeout,
    HTTPInternalServerError,
    HTTPMethodNotAllowed,
    HTTPNotFound,
    HTTPServiceUnavailable,
)
from ._web._request import Request
from ._web._response import Response, StreamResponse
from .messages import AddRoute, CancelRequests, CommandFailed, Handler, Target

__all__ = [
    "NoReplyError",
    "Router",
    "RouterInbox",
    "RouterMailbox",
    "forwarder",
    "open_router_mailbox",
]

logger = logging.getLogger("actorhttp")
_UNANSWERED = HTTPInternalServerError()  # what an access log shows for a reply closed unanswered
RouterInbox = Mailbox[Request | AddRoute | CancelRequests]
RouterMailbox = MailboxSender[Request | AddRoute | CancelRequests]


def open_router_mailbox(
    limit: int = 1000, *, max_concurrency: int | None = None
) -> tuple[RouterMailbox, RouterInbox]:
    """The router actor's mailbox and its first sender.

    At most ``max_concurrency`` requests are handled at once (``None``: no
    cap) and ``limit`` wait; ``send_nowait`` past that raises ``trio.WouldBlock``.
    Commands (AddRoute, CancelRequests) are never held back by the cap.
    """
    return open_mailbox(limit, max_running=max_concurrency, counted=_is_request)


def _is_request(message: object) -> bool:
    return isinstance(message, Request)


class NoReplyError(Exception):
    """An actor closed a request's reply without answering."""


def forwarder(mailbox: trio.MemorySendChannel[Any]) -> Handler:
    """A handler that hands the request to an actor and waits for its answer.

    The actor gets the request with a reply of its own, so that the answer
    comes back through the middlewares. A stream the actor prepares goes to
    the client at once; the forwarder returns when the actor has ended it.
    """

    async def forward(request: Request) -> StreamResponse:
        reply, receiver = open_reply()
        with receiver:
            try:
                await mailbox.send(dataclasses.replace(request, reply=reply))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                reply.close()
                raise HTTPServiceUnavailable(text="the actor for this route has stopped") from exc
            try:
                response = await receiver.receive()
            except trio.EndOfChannel:
                raise NoReplyError(
                    f"actor {mailbox!r} closed the reply without answering"
                ) from None
        pipe = response._pipe
        if pipe is not None and not request.reply.answered:
            # The actor streams: its head goes out now, and the worker waits for its end.
            await request.reply.send(response)
            await pipe.wait_finished()
        return response

    return forward


def _describe(handler: object) -> str:
    module = getattr(handler, "__module__", None)
    name = getattr(handler, "__qualname__", None) or repr(handler)
    return f"{module}.{name}" if module else name


def _expecting(expect: Callable[[Request], Awaitable[Any]], chain: Handler) -> Handler:
    """``chain``, after the route's ``expect_handler`` for a request with ``Expect``.

    As aiohttp: its answer (returned, or an HTTPException raised) is the
    response, before any middleware; ``None`` goes on. The 100 Continue is
    the server's, sent when the handler reads the body.
    """

    async def expecting(request: Request) -> StreamResponse:
        if "Expect" in request.headers:
            answer = await expect(request)
            if answer is not None:
                response: StreamResponse = answer
                return response
        return await chain(request)

    return expecting


async def _raise_system(request: Request) -> StreamResponse:
    """What a SystemRoute does: raise its 404 or 405."""
    exc = request.match_info.http_exception
    assert exc is not None
    raise exc


class Router:
    """The router actor. ``run`` serves its inbox until the inbox's senders all close.

    ``app`` is put on every request it dispatches; ``middlewares`` wrap every
    route, 404 and 405 included, the first listed outermost.
    """

    def __init__(
        self,
        routes: UrlDispatcher[Target],
        *,
        middlewares: Sequence[Any] = (),
        app: object = None,
        restart_budget: RestartBudget = DEFAULT_RESTART_BUDGET,
    ) -> None:
        self.routes = routes
        self.restart_budget = restart_budget
        self._access: AbstractAccessLogger | None = None
        self._errors = logger
        # add_domain's sub-apps match the Host: only then is the header looked at.
        self._wants_host = getattr(routes, "wants_host", False)
        self._root_layer: tuple[object, Sequence[Any]] = (app, tuple(middlewares))
        self._app = app
        self._chains: dict[ResourceRoute[Target], Handler] = {}
        self._miss_chains: dict[tuple[Any, ...], Handler] = {}
        self._stacks: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}
        self._timeouts: dict[tuple[Any, ...], float | None] = {}
        self.on_graceful_exit: Callable[[], None] | None = None
        self._mailbox: RouterInbox | None = None
        self._outbox: trio.MemorySendChannel[Any] | None = None

    # -- the actor -------------------------------------------------------

    async def run(
        self,
        mailbox: RouterInbox,
        outbox: trio.MemorySendChannel[Any] | None = None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Handle requests and commands from ``mailbox`` until its senders all close.

        A pool of workers behind the mailbox (``_pool``) handles them: each
        request in its own copy of the context. ``outbox`` (closed on return)
        gets CommandFailed events, and the requests of routes added with no
        handler.

        Supervised: if a bug of actorhttp's kills the pool, the requests in
        flight are answered 500 (their replies close), and a new pool starts
        on the same mailbox, whose queue is kept. Past ``restart_budget``,
        raises ``SupervisionError``, which stops the server.
        """
        self._outbox = outbox
        self._mailbox = mailbox
        restarts = Restarts("the router actor", self.restart_budget)
        try:
            while True:
                try:
                    await mailbox.run(self._on_message, task_status=task_status)
                    return
                except Exception as exc:
                    for message in mailbox.recover():
                        orphan(message)
                    restarts.died(exc)
                    task_status = trio.TASK_STATUS_IGNORED  # started once, by the first
        finally:
            if outbox is not None:
                await outbox.aclose()

    async def _on_message(self, message: Request | AddRoute | CancelRequests) -> None:
        try:
            if isinstance(message, Request):
                await self.respond(message)
            elif isinstance(message, AddRoute):
                await self._add_route(message)
            else:  # CancelRequests
                assert self._mailbox is not None
                for dropped in self._mailbox.cancel_all():
                    if isinstance(dropped, Request):
                        dropped.reply.close()  # queued behind max_concurrency: never started
        except Exception:
            # A bug of ours must not take the router actor down with it.
            logger.exception("router actor: handling %r failed", message)

    async def _add_route(self, command: AddRoute) -> None:
        try:
            self.add_route(command)
        except (ValueError, RuntimeError, TypeError) as exc:
            logger.error("AddRoute failed: %s", exc)
            if command.done is not None:
                command.done(exc)
            if self._outbox is not None:
                try:
                    await self._outbox.send(CommandFailed(command, str(exc)))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # nobody reads the outbox any more
        else:
            if command.done is not None:
                command.done(None)

    def add_route(self, command: AddRoute) -> None:
        """Add every method of ``command`` or none of them (errors name the conflict)."""
        target = command.handler if command.handler is not None else self._outbox
        if target is None:
            raise ValueError(f"AddRoute for {command.path!r} has no handler and no outbox")
        methods = [check_method(method) for method in command.methods]  # all checked first
        # A served app's router refuses add_resource: AddRoute is the way in while serving.
        add_resource = getattr(self.routes, "_add_resource_while_serving", self.routes.add_resource)
        resource = add_resource(command.path, name=command.name)
        taken = resource.allowed_methods & set(methods)
        if taken:
            raise RuntimeError(
                f"methods {sorted(taken)} are already registered on {resource.canonical!r}"
            )
        for method in methods:
            resource.add_route(method, target, handler_timeout=command.handler_timeout)

    def log_access(self, access: AbstractAccessLogger | None) -> None:
        """Log each finished request with ``access`` (None, the default: no access log)."""
        self._access = access

    def log_errors(self, errors: logging.Logger) -> None:
        """Log what handlers raise or return wrongly to ``errors`` (``actorhttp`` by default).

        aiohttp's ``logger`` server setting (``handler_args``, ``AppRunner``).
        """
        self._errors = errors

    async def respond(self, request: Request) -> None:
        """Handle ``request`` and answer on its reply, which this always closes."""
        reply = request.reply
        access = self._access
        # Timed only when a line will be written: the logger may drop INFO (run_app's
        # default until logging is configured), and then this costs one check.
        start = time.perf_counter() if access is not None and access.enabled else None
        try:
            await self.finish(request, await self.handle(request))
        except Exception as exc:
            # Raised while the body was being produced (a streamed body's source, a
            # FileResponse's disk): the head may be out, so the connection is cut.
            self._errors.exception(
                "Error sending the response to %s %s", request.method, request.path
            )
            self._abort_sent(request, exc)
        finally:
            reply.close()
            request._finish()  # the temporary files of post(), as aiohttp releases them
        if start is not None and access is not None:
            # A reply closed unanswered went out as a 500 (the transport's answer).
            answer = reply._response or _UNANSWERED
            access.log(request, answer, time.perf_counter() - start)

    async def finish(self, request: Request, response: StreamResponse) -> None:
        """Hand ``response`` over on the request's reply, or end the stream it started."""
        reply = request.reply
        try:
            if reply.answered:
                sent = reply._response
                if sent is response or sent is None:
                    await response.write_eof()
                else:
                    # The head of another response went out already: a second answer
                    # cannot be sent, so cut the connection rather than lie.
                    self._errors.error(
                        "%s %s: a response was returned after another had been sent; "
                        "cutting the connection",
                        request.method,
                        request.path,
                    )
                    sent._abort(RuntimeError("a second response was returned"))
                return
            if type(response) is Response and response._body_stream is None:
                if request._needs_prepare_hook():
                    await request._prepare_hook(response)
                reply.send_nowait(response)  # one-shot and never full: this cannot block
                return
            await response.prepare(request)
            await response.write_eof()
        except (trio.BrokenResourceError, ClientDisconnectedError) as exc:
            # The connection gave up on this request (the client went away, a stop).
            logger.debug("%s %s: answer not delivered: %s", request.method, request.path, exc)

    # -- the pipeline ------------------------------------------------------

    def _layers(self, apps: tuple[Any, ...]) -> tuple[tuple[object, Sequence[Any]], ...]:
        """``(app, middlewares)`` from the root to the innermost sub-application."""
        return (self._root_layer, *((app, tuple(app.middlewares)) for app in apps))

    async def _chain(self, route: ResourceRoute[Target], apps: tuple[Any, ...]) -> Handler:
        chain = self._chains.get(route)
        if chain is None:
            target = route.target
            handler = forwarder(target) if isinstance(target, trio.MemorySendChannel) else target
            built = await compose_layers(self._layers(apps), handler)
            if route.expect_handler is not None:
                built = _expecting(route.expect_handler, built)
            # Built once per route; a request that raced us to it keeps the first chain.
            chain = self._chains.setdefault(route, built)
        return chain

    async def _miss_chain(self, apps: tuple[Any, ...]) -> Handler:
        """404 and 405 pass through the middlewares too (of every app on the way)."""
        chain = self._miss_chains.get(apps)
        if chain is None:
            built = await compose_layers(self._layers(apps), _raise_system)
            chain = self._miss_chains.setdefault(apps, built)
        return chain

    def _stack(self, apps: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
        """For the sub-applications a resolution went through: every app on the request's
        way (the root first) and the current one. Kept: there are as many as sub-apps."""
        stack = self._stacks.get(apps)
        if stack is None:
            root = self._app
            full = apps if root is None else (root, *apps)
            stack = self._stacks[apps] = (full, apps[-1] if apps else root)
        return stack

    def _app_timeout(self, apps: tuple[Any, ...]) -> float | None:
        """The handler_timeout of the innermost app on the way that sets one."""
        try:
            return self._timeouts[apps]
        except KeyError:
            pass
        full = self._stack(apps)[0]
        timeout = next(
            (t for app in reversed(full) if (t := getattr(app, "handler_timeout", None))), None
        )
        self._timeouts[apps] = timeout
        return timeout

    async def handle(self, request: Request) -> StreamResponse:
        """The response to ``request``: never raises, errors become 4xx/5xx responses."""
        host = request.headers.get("Host") if self._wants_host else None
        resolution = self.routes.resolve(request.method, request.raw_target_path, host)
        handler: object
        apps = resolution.apps
        try:
            if isinstance(resolution, Match):
                route = resolution.route
                match_info = UrlMappingMatchInfo(
                    resolution.match_info, route, *self._stack(apps), frozen=True
                )
                request._route(match_info, self._app)
                handler = route.target
                chain = self._chains.get(route) or await self._chain(route, apps)
                timeout = route.handler_timeout or self._app_timeout(apps)
            else:
                exc = (
                    HTTPMethodNotAllowed(resolution.method, resolution.allowed)
                    if isinstance(resolution, MethodNotAllowed)
                    else HTTPNotFound()
                )
                match_info = UrlMappingMatchInfo(
                    {}, SystemRoute(exc), *self._stack(apps), frozen=True
                )
                request._route(match_info, self._app)
                chain = handler = await self._miss_chain(apps)
                timeout = self._app_timeout(apps)
            if timeout is None and request.disconnected is None:
                response: object = await chain(request)
            else:
                response = await self._bounded(chain, request, timeout, handler)
        except HTTPException as exc:
            return exc
        except GracefulExit:
            # aiohttp stops the server when GracefulExit is raised: ask for a graceful stop.
            logger.info("%s %s raised GracefulExit: stopping", request.method, request.path)
            if self.on_graceful_exit is not None:
                self.on_graceful_exit()
            return HTTPServiceUnavailable(text="the server is stopping")
        except ClientDisconnectedError as exc:
            # The client went away mid-request: not the application's error. The answer
            # below goes nowhere, or is cut with the connection.
            logger.debug("%s %s: client went away: %s", request.method, request.path, exc)
            return self._abort_sent(request, exc) or HTTPInternalServerError()
        except Exception as exc:
            self._errors.exception("Error handling request %s %s", request.method, request.path)
            # A head already out is cut, and stays the answer: finish() has nothing to add.
            return self._abort_sent(request, exc) or HTTPInternalServerError()
        if response is None and request.reply.answered:
            # The handler answered on its reply itself, as an actor does: that is its answer.
            sent = request.reply._response
            assert sent is not None
            return sent
        if type(response) is Response:
            return response  # the common answer: neither of the checks below can apply
        if not isinstance(response, StreamResponse):
            self._errors.error(
                "handler %s returned %r for %s %s, not a web.StreamResponse",
                _describe(handler),
                type(response).__name__,
                request.method,
                request.path,
            )
            return HTTPInternalServerError()
        if isinstance(response, HTTPException):
            warnings.warn(
                "returning HTTPException object is deprecated (#2415) and will be removed, "
                "please raise the exception instead",
                DeprecationWarning,
                stacklevel=1,
            )
        return response

    async def _bounded(
        self, chain: Handler, request: Request, limit: float | None, handler: object
    ) -> object:
        """Run ``chain`` within ``limit`` seconds of now, if given, and cancelled when the
        client goes away if the transport asked for it (``request.disconnected``).

        Past the deadline the chain is cancelled and the answer is 504, unless the
        response's head went out first: the answer lifts the deadline. A client
        that goes away (the transport sets ``disconnected`` and calls the reply's
        ``_client_gone``) cancels the chain: ``ClientDisconnectedError``.
        """
        reply = request.reply
        gone = request.disconnected
        with trio.CancelScope() as scope:
            if limit is not None:
                scope.deadline = trio.current_time() + limit
                reply._deadline = scope
            if gone is not None:
                # One scope, cancelled by the transport: no task waits on the event.
                reply._gone = scope
                if gone.is_set():
                    scope.cancel()
            try:
                return await chain(request)
            finally:
                reply._deadline = None
                reply._gone = None
        if gone is not None and gone.is_set():
            logger.debug("%s %s: client went away: handler cancelled", request.method, request.path)
            raise ClientDisconnectedError("the client went away: its handler was cancelled")
        self._errors.warning(
            "%s %s: %s took longer than handler_timeout=%gs: cancelled, answered 504",
            request.method,
            request.path,
            _describe(handler),
            limit,
        )
        raise HTTPGatewayTimeout(text=f"no answer within {limit:g} s")

    @staticmethod
    def _abort_sent(request: Request, exc: BaseException) -> StreamResponse | None:
        """A handler failed after its head went out: cut the stream so the client sees it.

        Returns the response whose head went out, if one did.
        """
        sent = request.reply._response if request.reply.answered else None
        if sent is not None:
            sent._abort(exc)
        return sent
