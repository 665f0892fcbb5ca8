"""``python -m actorhttp.web``: serve an app made by an ``init(argv)`` function, as aiohttp's.

    python -m actorhttp.web [-H HOST] [-P PORT] package.module:init [app args...]

``init`` receives the arguments this command does not know (the rest of
the command line) and returns a ``web.Application``, or an awaitable of
one. It is served with ``web.run_app`` until Ctrl-C.
"""

from __future__ import annotations

import logging
from argparse import ArgumentParser
from collections.abc import Sequence
from importlib import import_module

from ._serve import run_app

__all__ = ["main"]


def main(argv: Sequence[str]) -> None:
    parser = ArgumentParser(description="actorhttp.web Application server", prog="actorhttp.web")
    parser.add_argument(
        "entry_func",
        metavar="entry-func",
        help="callable returning the web.Application to run, as 'module:function'",
    )
    parser.add_argument(
        "-H", "--hostname", default=None, help="TCP/IP hostname to serve on (default: localhost)"
    )
    parser.add_argument(
        "-P", "--port", type=int, default=8080, help="TCP/IP port to serve on (default: 8080)"
    )
    parser.add_argument(
        "-U", "--path", help="a Unix socket path: not supported, serve on TCP behind the proxy"
    )
    args, extra_argv = parser.parse_known_args(list(argv))
    if args.path is not None:
        parser.error("Unix socket paths (-U) are not supported: serve on TCP (-H/-P)")
    module_name, _, func_name = args.entry_func.partition(":")
    if not func_name or not module_name:
        parser.error("'entry-func' not in 'module:function' syntax")
    if module_name.startswith("."):
        parser.error("relative module names not supported")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        parser.error(f"unable to import {module_name}: {exc}")
    try:
        func = getattr(module, func_name)
    except AttributeError:
        parser.error(f"module {module_name!r} has no attribute {func_name!r}")
    logging.basicConfig(level=logging.DEBUG)
    app = func(extra_argv)
    run_app(app, host=args.hostname or "localhost", port=args.port)
    parser.exit(message="Stopped\n")
