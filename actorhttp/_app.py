"""Application: aiohttp's ``web.Application`` for trio: routes, middlewares, state, lifecycle.

It is frozen once served (``serve``/``run_app`` freeze it): its router,
middlewares and signals refuse changes from then on, and a route added
while serving goes through the router actor as an ``AddRoute`` command
(``await server.add_route(...)``). It is also a plain ASGI application,
so ``hypercorn -k trio module:app`` serves it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, TypeVar, overload

import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from ._actors import Declared, LocalActor, NamedActor
from ._actors._lifespan import asgi_lifespan
from ._approuter import AppRouter
from ._broker import Broker, open_broker
from ._lifecycle import CleanupContext, FrozenList, Signal
from ._router import Router
from ._routing import Resource, ResourceRoute, UrlDispatcher, check_timeout
from ._routing._domain import Domain, MaskDomain, MatchedSubAppResource
from ._routing._subapp import PrefixedSubAppResource
from ._supervise import DEFAULT_RESTART_BUDGET, RestartBudget
from ._transports import AsgiBridge
from ._web._helpers import AppKey, warn_str_key
from ._web._request import DEFAULT_CLIENT_MAX_SIZE, Request
from .messages import Target

__all__ = ["AppRouter", "Application"]  # AppRouter: re-exported from _approuter

logger = logging.getLogger("actorhttp")
T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R", bound=Resource[Target])


class Application(MutableMapping[str | AppKey[Any], Any]):
    """aiohttp's ``web.Application`` for trio.

    ``middlewares`` wrap every handler, the first listed outermost: a
    function marked ``@web.middleware`` is ``(request, handler)``; anything
    else is an aiohttp-2-era factory ``async def f(app, handler) -> handler``,
    accepted with a DeprecationWarning as aiohttp 3.x does. ``client_max_size``
    bounds ``request.read()``/``post()`` (413 past it). ``app[key]`` holds
    shared state (``web.AppKey`` keys are typed; a ``str`` key warns once).
    ``handler_timeout`` (seconds; aiohttp has none) bounds the time from a
    request's delivery to its response's head: past it the handler is
    cancelled and the client gets 504. ``None`` (the default) sets no bound;
    a route's own ``handler_timeout`` overrides it, and a sub-application's
    applies to its routes. ``restart_budget`` bounds how often the router
    actor is restarted after a bug of actorhttp's kills it (5 times within
    60 s by default); past it the server stops with ``SupervisionError``.
    ``broker`` (a :class:`~actorhttp.broker.Broker` or a URL: ``memory://``,
    the default, or ``redis://host:port/db``) carries topics, presence and
    named actors across processes; ``serve(..., broker=...)`` and the CLI's
    ``--broker`` override it. Actors declared with :meth:`add_actor` run
    while the app is served.
    """

    def __init__(
        self,
        *,
        logger: logging.Logger = logger,
        router: UrlDispatcher[Target] | None = None,
        middlewares: Iterable[Any] = (),
        handler_args: Mapping[str, Any] | None = None,
        client_max_size: int | None = DEFAULT_CLIENT_MAX_SIZE,
        handler_timeout: float | None = None,
        restart_budget: RestartBudget = DEFAULT_RESTART_BUDGET,
        broker: Broker | str | None = None,
        loop: object = None,
        debug: Any = ...,
    ) -> None:
        if router is not None:
            raise TypeError("router argument is not supported: use app.router")
        if loop is not None:
            warnings.warn("loop argument is deprecated", DeprecationWarning, stacklevel=2)
        if debug is not ...:
            warnings.warn("debug argument is deprecated", DeprecationWarning, stacklevel=2)
        if client_max_size is not None and (
            isinstance(client_max_size, bool)
            or not isinstance(client_max_size, int)
            or client_max_size <= 0
        ):
            raise ValueError(
                f"client_max_size must be a positive int or None, not {client_max_size!r}"
            )
        self.logger = logger
        self._middlewares: FrozenList[Any] = FrozenList(middlewares)
        for mw in self._middlewares:
            if not callable(mw):
                raise TypeError(f"middleware {mw!r} is not callable")
        self._handler_args = dict(handler_args or {})
        self._client_max_size = client_max_size
        self._handler_timeout = check_timeout("handler_timeout", handler_timeout)
        if not isinstance(restart_budget, RestartBudget):
            raise TypeError(f"restart_budget must be a RestartBudget, not {restart_budget!r}")
        self._restart_budget = restart_budget
        self._router = AppRouter()
        self._state: dict[str | AppKey[Any], Any] = {}
        self._frozen = False
        self._on_response_prepare = Signal(self)
        self._on_startup = Signal(self)
        self._on_shutdown = Signal(self)
        self._on_cleanup = Signal(self)
        self._cleanup_ctx = CleanupContext()
        self._subapps: list[Application] = []
        self._pre_frozen = False
        self._on_startup.append(self._cleanup_ctx._on_startup)
        self._on_cleanup.append(self._cleanup_ctx._on_cleanup)
        self._asgi: AsgiBridge | None = None
        self._stopping = trio.Event()
        self._broker = open_broker(broker)
        self._actors: list[Declared] = []

    # -- properties ------------------------------------------------------------

    @property
    def router(self) -> AppRouter:
        """Routes: aiohttp's ``UrlDispatcher`` and ``add_websocket``, frozen once served."""
        return self._router

    @property
    def middlewares(self) -> FrozenList[Any]:
        """The middlewares, the first listed outermost; frozen once served."""
        return self._middlewares

    @property
    def client_max_size(self) -> int | None:
        """The largest request body ``read()``, ``text()``, ``json()`` and ``post()`` take.

        Past it they raise ``HTTPRequestEntityTooLarge`` (413). ``None``: no limit.
        """
        return self._client_max_size

    @property
    def handler_timeout(self) -> float | None:
        """Seconds a handler of this app may take to its response's head (``None``: no bound)."""
        return self._handler_timeout

    @property
    def handler_args(self) -> Mapping[str, Any]:
        """Server settings this app asks for (``run_app``/``serve`` keywords take precedence)."""
        return self._handler_args

    @property
    def on_response_prepare(self) -> Signal:
        """``async def receiver(request, response)``: before each response's head is sent."""
        return self._on_response_prepare

    @property
    def on_startup(self) -> Signal:
        """Coroutines ``async def f(app)`` run in order before serving begins.

        One that raises stops the start: ``serve`` raises it after the cleanup.
        """
        return self._on_startup

    @property
    def on_shutdown(self) -> Signal:
        """Run when a stop begins, before in-flight requests are waited for (close WebSockets)."""
        return self._on_shutdown

    @property
    def on_cleanup(self) -> Signal:
        """Coroutines ``async def f(app)`` run once the server has stopped."""
        return self._on_cleanup

    @property
    def cleanup_ctx(self) -> CleanupContext:
        """Async generators ``async def f(app)`` that ``yield`` once.

        Each runs to its ``yield`` at startup and on from it at cleanup, in reverse
        order; if the startup fails half-way, only those that started are resumed.
        """
        return self._cleanup_ctx

    @property
    def stopping(self) -> trio.Event:
        """Set when a stop of the server begins (before ``on_shutdown`` runs).

        For long-lived handlers: a server-sent-event stream or a WebSocket loop
        can wait on it (or check it) and end on its own, so a stop finishes
        promptly instead of waiting out the grace period. Not in aiohttp.
        """
        return self._stopping

    @property
    def broker(self) -> Broker:
        """The broker: topics, presence and named actors (connected while the app is served).

        The one given to ``Application(broker=...)``, or the one ``serve``
        was given while it serves; a sub-application's is its parent's.
        """
        return self._broker

    def _use_broker(self, broker: Broker) -> None:
        self._broker = broker
        for subapp in self._subapps:
            subapp._use_broker(broker)

    @overload
    def add_actor(
        self,
        actor: Callable[[trio.abc.ReceiveChannel[T]], Awaitable[Any]],
        *,
        mailbox_size: int = ...,
        budget: RestartBudget = ...,
        name: str | None = ...,
        cluster_name: None = ...,
    ) -> trio.MemorySendChannel[T]: ...
    @overload
    def add_actor(
        self,
        actor: Callable[[trio.abc.ReceiveChannel[Request]], Awaitable[Any]],
        *,
        mailbox_size: int = ...,
        budget: RestartBudget = ...,
        name: str | None = ...,
        cluster_name: str,
    ) -> NamedActor: ...
    def add_actor(
        self,
        actor: Callable[[trio.abc.ReceiveChannel[Any]], Awaitable[Any]],
        *,
        mailbox_size: int = 16,
        budget: RestartBudget = DEFAULT_RESTART_BUDGET,
        name: str | None = None,
        cluster_name: str | None = None,
    ) -> trio.MemorySendChannel[Any] | NamedActor:
        """Declare an actor of this app; returns its mailbox, a route target.

        ``actor(inbox)`` runs while the app is served (``serve``, ``run_app``,
        the CLI, an ASGI server's lifespan): started after the broker
        connects and ``on_startup`` ran, before the server listens, under
        :func:`~actorhttp.supervise` with ``budget``. At a stop its mailbox
        is closed first (the actor ends once it has taken what was queued),
        then it is awaited until the stop's grace, then cancelled. ``name``
        labels it in logs.

        Without ``cluster_name`` it is per process: each worker runs its own
        incarnation, and the mailbox (a ``trio.MemorySendChannel`` of
        ``mailbox_size``) takes requests from routes, WebSocket connections
        from ``add_websocket``, or any message of the program's. With
        ``cluster_name`` it takes requests and has **one** incarnation among
        all processes sharing the broker: what is returned is a
        :class:`~actorhttp.NamedActor`, a handler that brings each request
        to wherever that incarnation runs (see ``docs/actors.md``).

        Raises ``RuntimeError`` once the app is frozen (served).
        """
        if self._frozen or self._pre_frozen:
            raise RuntimeError("Cannot add an actor to a frozen application")
        declared: LocalActor[Any] | NamedActor
        if cluster_name is None:
            declared = LocalActor(actor, mailbox_size, budget, name)
            self._actors.append(declared)
            return declared.mailbox
        declared = NamedActor(actor, cluster_name, mailbox_size, budget, name)
        self._actors.append(declared)
        return declared

    def _all_actors(self) -> list[Declared]:
        """This app's declared actors and its sub-applications', parents first."""
        found = list(self._actors)
        for subapp in self._subapps:
            found.extend(subapp._all_actors())
        return found

    def add_routes(self, routes: Iterable[Any]) -> list[ResourceRoute[Target]]:
        """Register route definitions (``web.get(...)``, a ``RouteTableDef``...)."""
        return self._router.add_routes(routes)

    def add_subapp(self, prefix: str, subapp: Application) -> PrefixedSubAppResource[Target]:
        """Mount ``subapp`` at ``prefix``: its routes answer there, inside this app's middlewares.

        As in aiohttp: the sub-application's routes get the prefix (``url_for``
        includes it), its middlewares wrap only its routes, ``request.app`` is
        the sub-application in its handlers, its signals run with this app's,
        and it can no longer change (``RuntimeError``).
        """
        if not isinstance(prefix, str):
            raise TypeError("Prefix must be str")
        prefix = prefix.rstrip("/")
        if not prefix:
            raise ValueError("Prefix cannot be empty")
        self._check_mountable(subapp)
        return self._mount(PrefixedSubAppResource(prefix, subapp, subapp.router), subapp)

    def add_domain(self, domain: str, subapp: Application) -> MatchedSubAppResource[Target]:
        """Mount ``subapp`` for the requests whose ``Host`` is ``domain``, as aiohttp's.

        ``example.com`` (a port other than 80 included: ``example.com:8080``),
        or a mask such as ``*.example.com``. Such sub-applications are tried
        before any path, in the order added; one whose domain matches owns
        the request (its 404 and 405 too). Its routes keep their paths; the
        rest is ``add_subapp``'s. ``TypeError``/``ValueError`` for a bad domain.
        """
        rule = MaskDomain(domain) if isinstance(domain, str) and "*" in domain else Domain(domain)
        self._check_mountable(subapp)
        return self._mount(MatchedSubAppResource(rule, subapp, subapp.router), subapp)

    def _check_mountable(self, subapp: Application) -> None:
        if self._frozen:
            raise RuntimeError("Cannot add sub application to frozen application")
        if subapp._pre_frozen or subapp._frozen:
            raise RuntimeError("Cannot add frozen application")
        if subapp is self:
            raise ValueError("an application cannot be its own sub-application")

    def _mount(self, resource: R, subapp: Application) -> R:
        """Add a sub-application's resource; its signals run with ours; it is fixed now."""
        self._router.register_resource(resource)
        for name in ("on_startup", "on_shutdown", "on_cleanup"):
            self._forward_signal(name, subapp)
        self._subapps.append(subapp)
        subapp._pre_freeze()
        return resource

    def _forward_signal(self, name: str, subapp: Application) -> None:
        signal: Signal = getattr(subapp, name)

        async def forward(app: Application) -> None:
            await signal.send(subapp)

        getattr(self, name).append(forward)

    # -- state -------------------------------------------------------------------

    def _check_frozen(self) -> None:
        if self._frozen:
            warnings.warn(
                "Changing state of started or joined application is deprecated",
                DeprecationWarning,
                stacklevel=3,
            )

    @overload
    def __getitem__(self, key: AppKey[T]) -> T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: str | AppKey[Any]) -> Any:
        return self._state[key]

    @overload
    def __setitem__(self, key: AppKey[T], value: T) -> None: ...
    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __setitem__(self, key: str | AppKey[Any], value: Any) -> None:
        self._check_frozen()
        warn_str_key("app", key)
        self._state[key] = value

    def __delitem__(self, key: str | AppKey[Any]) -> None:
        self._check_frozen()
        del self._state[key]

    def __iter__(self) -> Iterator[str | AppKey[Any]]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    @overload  # type: ignore[override]
    def get(self, key: AppKey[T], default: None = ...) -> T | None: ...
    @overload
    def get(self, key: AppKey[T], default: U) -> T | U: ...
    @overload
    def get(self, key: str, default: Any = ...) -> Any: ...
    def get(self, key: str | AppKey[Any], default: Any = None) -> Any:
        """``app[key]`` if set, else ``default`` (as ``dict.get``)."""
        return self._state.get(key, default)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<Application 0x{id(self):x}>"

    # -- lifecycle -----------------------------------------------------------------

    @property
    def frozen(self) -> bool:
        """True once served: routes, middlewares and signals refuse changes (``RuntimeError``).

        Changing ``app[key]`` then warns (``DeprecationWarning``), as in aiohttp.
        """
        return self._frozen

    def _pre_freeze(self) -> None:
        """Mounted as a sub-application: its routes, middlewares and signals are fixed now."""
        if self._pre_frozen:
            return
        self._pre_frozen = True
        self._middlewares.freeze()
        self._router.freeze()
        for signal in (
            self._on_response_prepare,
            self._on_startup,
            self._on_shutdown,
            self._on_cleanup,
        ):
            signal.freeze()
        self._cleanup_ctx.freeze()

    def freeze(self) -> None:
        """No more changes to routes, middlewares and signals: the app is being served."""
        if self._frozen:
            return
        for subapp in self._subapps:
            subapp.freeze()
        for mw in self._middlewares:
            if getattr(mw, "__middleware_version__", None) != 1:
                warnings.warn(
                    f'old-style middleware "{mw!r}" deprecated, see #2252',
                    DeprecationWarning,
                    stacklevel=2,
                )
        self._frozen = True
        self._middlewares.freeze()
        self._router.freeze()
        for signal in (self._on_response_prepare, self._on_startup, self._on_shutdown):
            signal.freeze()
        self._on_cleanup.freeze()
        self._cleanup_ctx.freeze()

    def make_router(self) -> Router:
        """A router actor for this app: its route table, middlewares and ``request.app``."""
        return Router(
            self._router,
            middlewares=tuple(self._middlewares),
            app=self,
            restart_budget=self._restart_budget,
        )

    async def startup(self) -> None:
        """Run ``on_startup`` (cleanup contexts enter here, in order).

        The app is frozen after it, as aiohttp's runner does: startup hooks
        may still set state and add routes.
        """
        self._on_startup.freeze()
        self._cleanup_ctx.freeze()
        await self._on_startup.send(self)

    async def shutdown(self) -> None:
        """Run ``on_shutdown``: a stop has begun."""
        await self._on_shutdown.send(self)

    async def cleanup(self) -> None:
        """Run ``on_cleanup`` (cleanup contexts exit here, last entered first).

        After a startup that failed half-way only the contexts that started
        are cleaned up.
        """
        if self._on_cleanup.frozen:
            await self._on_cleanup.send(self)
        else:
            await self._cleanup_ctx._on_cleanup(self)

    # -- ASGI ----------------------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """ASGI entry: hypercorn's own workers serve the app through this."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._asgi is None:
            # Under a plain ASGI server each request already has its own task: run inline.
            self.freeze()
            args = self._handler_args
            self._asgi = AsgiBridge(
                self.make_router().respond,
                client_max_size=self._client_max_size,
                auto_decompress=args.get("auto_decompress", True),
                read_bufsize=args.get("read_bufsize", 2**16),
            )
        await self._asgi(scope, receive, send)

    async def _lifespan(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        await asgi_lifespan(self, receive, send)
