"""aiohttp_security as its documentation shows it: a session identity and a policy of our own."""

from __future__ import annotations

from enum import Enum

from aiohttp import web
from aiohttp_security import (
    AbstractAuthorizationPolicy,
    SessionIdentityPolicy,
    authorized_userid,
    check_authorized,
    check_permission,
    forget,
    remember,
)
from aiohttp_security import setup as setup_security
from aiohttp_session import SimpleCookieStorage
from aiohttp_session import setup as setup_session

PERMISSIONS = {"alice": {"read", "admin"}, "bob": {"read"}}


class Policy(AbstractAuthorizationPolicy):
    async def authorized_userid(self, identity: str) -> str | None:
        return identity if identity in PERMISSIONS else None

    async def permits(
        self, identity: str | None, permission: str | Enum, context: object = None
    ) -> bool:
        return identity is not None and permission in PERMISSIONS.get(identity, set())


async def login(request: web.Request) -> web.Response:
    user = request.query["user"]
    response = web.HTTPFound("/me")
    await remember(request, response, user)
    raise response


async def me(request: web.Request) -> web.Response:
    await check_authorized(request)
    return web.Response(text=f"you are {await authorized_userid(request)}")


async def admin(request: web.Request) -> web.Response:
    await check_permission(request, "admin")
    return web.Response(text="admin area")


async def logout(request: web.Request) -> web.Response:
    response = web.Response(text="logged out")
    await forget(request, response)
    return response


def make_app() -> web.Application:
    app = web.Application()
    setup_session(app, SimpleCookieStorage())
    setup_security(app, SessionIdentityPolicy(), Policy())
    app.router.add_get("/login", login)
    app.router.add_get("/me", me)
    app.router.add_get("/admin", admin)
    app.router.add_get("/logout", logout)
    return app
