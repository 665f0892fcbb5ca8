"""``python -m actorhttp module:app`` (and the ``actorhttp`` script): serve an app from the shell.

::

    actorhttp myapp:app --host 0.0.0.0 --port 8080 --workers 4

``module:app`` names an ``Application``, or a callable (plain or async)
that returns one, found as an attribute of the module; the current
directory (``--app-dir``) is put on ``sys.path`` first. One worker serves
in this process, with ``run_app``; several are worker processes kept
running by a supervisor (``_workers``). Bad options exit with status 2 and
a message naming the option; a server that had to stop exits with 1.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import Any

import trio

from ._accesslog import access_logger
from ._app import Application
from ._broker import BrokerUnavailable, open_broker
from ._serve import AIOHTTP_ALIASES, SERVE_KEYWORDS, _run_app, run_app, start_command
from ._supervise import _innermost
from ._workers import bind_sockets, report_to_supervisor, reuse_port_default, run_supervisor
from .messages import MinDataRate, StartServer

__all__ = ["main"]


@dataclass(frozen=True, slots=True)
class _Limit:
    """A StartServer setting with its own command-line option."""

    setting: str
    kind: type
    help: str
    metavar: str = "N"
    # run_app's defaults where they differ from StartServer's, given explicitly so that
    # a worker process (which runs run_app's trio part itself) gets the same ones.
    default: float | None = None

    @property
    def flag(self) -> str:
        return "--" + self.setting.replace("_", "-")


# The broker URL when --broker is not given; how a supervisor hands it to its workers.
BROKER_ENV = "ACTORHTTP_BROKER"
_LIMITS = (
    _Limit("client_max_size", int, "largest request body in bytes (default 1 MiB): 413 past it"),
    _Limit("max_concurrency", int, "requests handled at once (default: no cap)"),
    _Limit("max_queued", int, "requests waiting past --max-concurrency (default 1000): then 503"),
    _Limit("max_connections", int, "open connections (default: no cap): then the backlog"),
    _Limit("keep_alive_timeout", float, "idle keep-alive seconds (default 75)", "SECONDS", 75.0),
    _Limit("header_timeout", float, "seconds to send a request's head (default 10)", "SECONDS"),
    _Limit("backlog", int, "listen backlog (default 128)", default=128),
    _Limit("max_header_size", int, "request line and headers, bytes (default 65536): 431"),
    _Limit("max_request_line", int, "request line, bytes (default 4094): 414"),
    _Limit("max_header_line", int, "one header line, bytes (default 8190): 431"),
    _Limit("max_headers", int, "header lines (default 100): 431"),
    _Limit(
        "min_request_body_rate", int, "bytes/s a body must average after 5 s (default 240; 0: none)"
    ),
    _Limit("min_response_rate", int, "bytes/s a client must read after 5 s (default 240; 0: none)"),
)
_RATES = ("min_request_body_rate", "min_response_rate")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actorhttp",
        description="Serve an actorhttp web.Application.",
        epilog="SIGTERM or Ctrl-C stops gracefully (listeners close, on_shutdown runs, "
        "requests in flight get --shutdown-timeout); a second one cuts them.",
    )
    parser.add_argument(
        "app", metavar="module:app", help="an Application, or a callable returning one"
    )
    parser.add_argument("--app-dir", default=".", help="put this on sys.path first (default: .)")
    where = parser.add_argument_group("where")
    where.add_argument("--host", help="address to bind (default 127.0.0.1)")
    where.add_argument("--port", type=int, help="port to bind (default 8080; 0: a free one)")
    where.add_argument(
        "--fd",
        type=int,
        action="append",
        metavar="FD",
        help="serve this inherited listening socket instead (repeatable; systemd's is 3)",
    )
    how = parser.add_argument_group("how")
    how.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    how.add_argument(
        "--reuse-port",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one SO_REUSEPORT socket per worker (default on Linux), or one shared socket",
    )
    how.add_argument(
        "--broker",
        metavar="URL",
        default=os.environ.get(BROKER_ENV) or None,
        help="share topics, presence and named actors across workers and machines: "
        "redis://host:port/db or rediss://... (default: $ACTORHTTP_BROKER, else memory://, "
        "this process only); workers get it through their environment, not their argv",
    )
    how.add_argument(
        "--transport",
        choices=("auto", "httptools", "hypercorn"),
        default="auto",
        help="auto is httptools: HTTP/1.1 and HTTP/2 (ALPN h2 over TLS, h2c in clear text)",
    )
    how.add_argument("--certfile", help="TLS certificate chain (PEM); offers h2 and http/1.1")
    how.add_argument("--keyfile", help="TLS private key (PEM)")
    how.add_argument(
        "--shutdown-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="grace for requests in flight at a stop (default 60)",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line per request to the actorhttp.access logger (default on)",
    )
    logs.add_argument("--access-log-format", help="aiohttp's %%-directives")
    logs.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="(default info)",
    )
    limits = parser.add_argument_group("limits")
    for limit in _LIMITS:
        limits.add_argument(
            limit.flag,
            type=limit.kind,
            metavar=limit.metavar,
            help=limit.help,
            default=limit.default,
        )
    parser.add_argument("--supervisor-fd", type=int, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: parse ``argv`` (default ``sys.argv[1:]``) and serve until stopped.

    Exits with status 2 for bad options, with 1 when a server had to stop.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    settings = _settings(parser, args)
    module, _, attribute = args.app.partition(":")
    if not module or not attribute:
        parser.error(f"{args.app!r} is not in module:app form")
    logging.basicConfig(
        level=args.log_level.upper(), format="[%(process)d] %(levelname)s %(name)s: %(message)s"
    )
    if args.workers > 1:
        if args.broker is not None:
            _check_broker(parser, args.broker)  # once, here: not N workers failing alike
            # Through the environment, which only this user can read, and not the workers'
            # argv, which `ps` shows everyone: a Redis URL may hold a password.
            os.environ[BROKER_ENV] = args.broker
        sys.exit(_supervise(parser, args, settings))
    sys.path.insert(0, os.path.abspath(args.app_dir))
    app = _load(parser, module, attribute)
    if isinstance(app, Application):
        limits = {k: v for k, v in settings.items() if k not in SERVE_KEYWORDS}
        try:
            start_command(app, "127.0.0.1", 0, limits)
        except (TypeError, ValueError) as exc:
            parser.error(str(exc))
    try:
        if args.supervisor_fd is None:
            run_app(app, **_where(args), shutdown_timeout=args.shutdown_timeout, **settings)
            return
        # A worker: run_app's trio part, with the supervisor's channel beside the server.
        alongside = report_to_supervisor(args.supervisor_fd, args.shutdown_timeout)
        settings.update(_where(args))
        trio.run(
            partial(
                _run_app,
                app,
                "127.0.0.1",
                0,
                args.shutdown_timeout,
                None,
                True,
                settings,
                alongside,
            )
        )
    except BaseException as exc:
        cause = _innermost(exc)  # run_app's nursery wraps it
        if isinstance(cause, BrokerUnavailable):
            parser.exit(1, f"actorhttp: {cause}\n")
        raise


def _settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """run_app's keywords from the options given; ``parser.error`` for a bad one."""
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    if args.shutdown_timeout < 0:
        parser.error(f"--shutdown-timeout must be 0 or more, not {args.shutdown_timeout}")
    if args.fd and (args.host is not None or args.port is not None):
        parser.error("--fd serves the sockets it names: leave out --host and --port")
    if args.reuse_port and not reuse_port_default():
        parser.error("--reuse-port needs Linux (SO_REUSEPORT there spreads connections)")
    settings: dict[str, Any] = {"transport": args.transport}
    for limit in _LIMITS:
        value = getattr(args, limit.setting)
        if value is None:
            continue
        if limit.setting in _RATES:
            if value < 0:
                parser.error(f"{limit.flag} must be 0 (none) or more, not {value}")
            value = MinDataRate(bytes_per_second=value) if value else None
        settings[limit.setting] = value
    if "keep_alive_timeout" in settings:
        settings["keepalive_timeout"] = settings.pop("keep_alive_timeout")  # run_app's name
    if args.certfile is not None or args.keyfile is not None:
        for flag, path in (("--certfile", args.certfile), ("--keyfile", args.keyfile)):
            if path is not None and not os.path.isfile(path):
                parser.error(f"{flag} {path}: no such file")
        settings.update(certfile=args.certfile, keyfile=args.keyfile)
    if args.broker is not None:
        try:
            settings["broker"] = open_broker(args.broker)
        except ValueError as exc:
            parser.error(f"--broker: {exc}")
    settings["access_log"] = access_logger if args.access_log else None
    if args.access_log_format is not None:
        settings["access_log_format"] = args.access_log_format
    limits = {AIOHTTP_ALIASES.get(k, k): v for k, v in settings.items()}
    try:  # StartServer's own checks, before any app is imported or worker started
        StartServer(**{k: v for k, v in limits.items() if k not in SERVE_KEYWORDS})
    except ValueError as exc:
        parser.error(str(exc))
    return settings


def _where(args: argparse.Namespace) -> dict[str, Any]:
    """run_app's address keywords: inherited sockets, or host and port."""
    fds = list(args.fd or [])
    if args.supervisor_fd is None and not fds:
        return {"host": args.host or "127.0.0.1", "port": 8080 if args.port is None else args.port}
    return {"sock": [_inherited(fd) for fd in fds]}


def _inherited(fd: int) -> socket.socket:
    try:
        return socket.socket(fileno=fd)
    except OSError as exc:
        raise SystemExit(f"actorhttp: --fd {fd}: {exc.strerror}") from None


def _load(
    parser: argparse.ArgumentParser, module_name: str, attribute: str
) -> Application | Awaitable[Application]:
    """The app ``module:attribute`` names, made if it is a factory; ``parser.error`` if none."""
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            parser.error(f"no module named {exc.name!r} (from {module_name}:{attribute})")
        raise  # a module the app itself imports is missing: its traceback says which
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            parser.error(f"module {module_name!r} has no attribute {attribute!r}")
    if isinstance(target, Application):
        return target
    if not callable(target):
        parser.error(
            f"{module_name}:{attribute} is a {type(target).__name__}, "
            "not a web.Application or a callable returning one"
        )
    made = target()
    if not (inspect.isawaitable(made) or isinstance(made, Application)):
        parser.error(f"{module_name}:{attribute}() returned {made!r}, not a web.Application")
    return made


def _supervise(
    parser: argparse.ArgumentParser, args: argparse.Namespace, settings: dict[str, Any]
) -> int:
    """Bind the port, run ``args.workers`` worker processes; the exit status."""
    reuse_port = reuse_port_default() if args.reuse_port is None else args.reuse_port
    if args.fd:
        sets = [[_inherited(fd) for fd in args.fd]]
    else:
        try:
            sets = bind_sockets(
                args.host or "127.0.0.1",
                8080 if args.port is None else args.port,
                backlog=settings.get("backlog", 128),
                copies=args.workers if reuse_port else 1,
                reuse_port=reuse_port,
            )
        except OSError as exc:
            parser.exit(1, f"actorhttp: {exc.strerror or exc}\n")
    scheme = "https" if args.certfile is not None else "http"
    command = partial(_worker_command, args)
    failure = trio.run(
        partial(
            run_supervisor,
            command,
            sets,
            workers=args.workers,
            shutdown_timeout=args.shutdown_timeout,
            scheme=scheme,
        )
    )
    if failure is not None:
        print(f"actorhttp: {failure}", file=sys.stderr)
        return 1
    return 0


def _check_broker(parser: argparse.ArgumentParser, url: str) -> None:
    """Exit 1 naming ``url`` if the broker cannot be reached."""

    async def connect() -> None:
        async with open_broker(url):
            pass

    try:
        trio.run(connect)
    except BrokerUnavailable as exc:
        parser.exit(1, f"actorhttp: {exc}\n")


def _worker_command(args: argparse.Namespace, fds: Sequence[int], supervisor_fd: int) -> list[str]:
    """A worker's command line: this one's options, its sockets and its supervisor's channel."""
    argv = [sys.executable, "-m", "actorhttp", args.app, "--app-dir", os.path.abspath(args.app_dir)]
    argv += ["--transport", args.transport, "--shutdown-timeout", str(args.shutdown_timeout)]
    argv += ["--log-level", args.log_level]
    argv.append("--access-log" if args.access_log else "--no-access-log")
    for flag in ("access_log_format", "certfile", "keyfile"):  # the broker: see main()
        if getattr(args, flag) is not None:
            argv += ["--" + flag.replace("_", "-"), getattr(args, flag)]
    for limit in _LIMITS:
        if getattr(args, limit.setting) is not None:
            argv += [limit.flag, str(getattr(args, limit.setting))]
    for fd in fds:
        argv += ["--fd", str(fd)]
    return [*argv, "--supervisor-fd", str(supervisor_fd)]
