"""The application: ``app`` (module level, for ``actorhttp examples.polls.main:app``) and
``init_app(argv)``, the original's factory; ``main(argv)`` serves it."""

from __future__ import annotations

import logging
import sys

import aiohttp_jinja2
import jinja2

from actorhttp import web

from .db import sqlite_context
from .middlewares import setup_middlewares
from .routes import setup_routes, setup_static_routes
from .settings import Config, get_config
from .typedefs import config_key


def make_app(config: Config) -> web.Application:
    app = web.Application()

    app[config_key] = config

    # setup Jinja2 template renderer
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader(__package__ or "polls", "templates"))

    # open the database on startup, close it on exit
    app.cleanup_ctx.append(sqlite_context)

    # setup views and routes
    setup_routes(app)
    setup_static_routes(app)
    setup_middlewares(app)

    return app


async def init_app(argv: list[str] | None = None) -> web.Application:
    return make_app(get_config(argv))


app = make_app(get_config([]))


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.DEBUG)

    config = get_config(argv)
    web.run_app(make_app(config), host=config.host, port=config.port)


if __name__ == "__main__":
    main(sys.argv[1:])
