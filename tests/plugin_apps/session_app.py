"""aiohttp_session as its documentation shows it, with encrypted cookie storage."""

from __future__ import annotations

import base64

from aiohttp import web
from aiohttp_session import get_session, new_session, setup
from aiohttp_session.cookie_storage import EncryptedCookieStorage

SECRET = base64.urlsafe_b64decode(base64.urlsafe_b64encode(b"k" * 32))


async def count(request: web.Request) -> web.Response:
    session = await get_session(request)
    session["visits"] = session.get("visits", 0) + 1
    return web.Response(text=f"visits: {session['visits']}")


async def login(request: web.Request) -> web.Response:
    session = await new_session(request)
    session["user"] = request.query.get("user", "alice")
    raise web.HTTPFound("/whoami")  # the session set before the raise reaches the client


async def whoami(request: web.Request) -> web.Response:
    session = await get_session(request)
    return web.json_response({"user": session.get("user"), "new": session.new})


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    session.invalidate()
    return web.Response(text="bye")


def make_app() -> web.Application:
    app = web.Application()
    setup(app, EncryptedCookieStorage(SECRET, cookie_name="SESSION"))
    app.router.add_get("/count", count)
    app.router.add_get("/login", login)
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/logout", logout)
    return app
