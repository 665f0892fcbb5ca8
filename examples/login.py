"""A cookie login and logout flow, as aiohttp programs write it, with HTTPFound redirects.

    python examples/login.py [--port 8080]

GET / shows who is logged in (or a login form); POST /login with the form
field ``user`` sets the session cookie on the redirect itself
(``exc = web.HTTPFound("/"); exc.set_cookie(...); raise exc``); POST
/logout deletes it. The "session store" is a dict in the app: the point is
the HTTP flow, not the storage.
"""

from __future__ import annotations

import argparse
import html
import secrets

from actorhttp import web

SESSIONS = web.AppKey("sessions", dict[str, str])
COOKIE = "session"

FORM = """<!doctype html><title>login</title>
<form method="post" action="/login"><input name="user" autofocus> <button>log in</button></form>
"""
WELCOME = """<!doctype html><title>welcome</title>
<p>logged in as <b>{user}</b></p>
<form method="post" action="/logout"><button>log out</button></form>
"""


def current_user(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return request.app[SESSIONS].get(token) if token else None


async def index(request: web.Request) -> web.Response:
    user = current_user(request)
    if user is None:
        return web.Response(text=FORM, content_type="text/html")
    return web.Response(text=WELCOME.format(user=html.escape(user)), content_type="text/html")


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    user = form.get("user")
    if not isinstance(user, str) or not user.strip():
        raise web.HTTPBadRequest(text="a user name is needed")
    token = secrets.token_urlsafe(16)
    request.app[SESSIONS][token] = user.strip()
    exc = web.HTTPFound(location="/")
    exc.set_cookie(COOKIE, token, httponly=True, samesite="Lax")
    raise exc


async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        request.app[SESSIONS].pop(token, None)
    exc = web.HTTPFound(location="/")
    exc.del_cookie(COOKIE)
    raise exc


def make_app() -> web.Application:
    app = web.Application()
    app[SESSIONS] = {}
    app.router.add_get("/", index)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port)
