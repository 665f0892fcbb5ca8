"""The application's typed key for its settings (the database's is ``db.db_key``)."""

from __future__ import annotations

from actorhttp import web

from .settings import Config

config_key = web.AppKey("config_key", Config)
