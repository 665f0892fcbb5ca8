"""aiohttp-demos' polls application, ported to actorhttp: SQLite through ``trio.to_thread``.

    python -m examples.polls [--db polls.sqlite3] [--host 127.0.0.1] [--port 8080]
    actorhttp examples.polls.main:app               # the module-level app, any way it is served

The original (``demos/polls`` in aio-libs/aiohttp-demos, Apache-2.0; the
templates are its own) runs on aiohttp with PostgreSQL through SQLAlchemy's
asyncio engine. The port changes what trio asks for and nothing else:

* ``aiohttp`` in the server-side imports is ``actorhttp`` (``from actorhttp
  import web``);
* its plugin, aiohttp_jinja2, is imported unchanged, after
  ``import actorhttp.aiohttp_patch`` (this file's first line), so its
  ``@template`` and ``render_template`` build actorhttp's responses;
* the database is SQLite through the standard library, each query run in a
  worker thread by ``trio.to_thread.run_sync`` (``db.py``), where the
  original awaited asyncpg; ``cleanup_ctx`` still opens and closes it;
* the settings are command-line options instead of a YAML file.

Its tests, the original's ``tests/test_integration.py`` with the same
fixture names (``aiohttp_client``), are in ``tests/polls_app``.
"""

import actorhttp.aiohttp_patch  # noqa: F401  (first: aiohttp_jinja2 is imported after it)
