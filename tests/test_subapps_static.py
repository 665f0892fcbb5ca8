"""Sub-applications, static folders, normalize_path_middleware and match_info, served for real."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from actorhttp import web
from actorhttp.messages import Handler, TransportName
from actorhttp.testing import TestClient, serve_app

from .rawhttp import exchange, status_of

TIMEOUT = 10
Client = Callable[..., Awaitable[TestClient]]
NAME = web.AppKey("name", str)
SEEN = web.AppKey("seen", list[str])
ROOT_ONLY = web.AppKey("root_only", str)


def tagging(tag: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        request.app[SEEN].append(f"{tag}:{request.app[NAME]}")
        return await handler(request)

    return mw


def admin_site() -> tuple[web.Application, web.Application]:
    root = web.Application(middlewares=[tagging("root")])
    root[NAME], root[SEEN], root[ROOT_ONLY] = "root", [], "from the root"
    admin = web.Application(middlewares=[tagging("admin")])
    admin[NAME], admin[SEEN] = "admin", []

    async def dashboard(request: web.Request) -> web.Response:
        config = request.config_dict
        return web.json_response(
            {
                "app": request.app[NAME],
                "looked_up": config[NAME],
                "through_the_chain": config[ROOT_ONLY],
                "apps": [app[NAME] for app in request.match_info.apps],
                "url": str(request.app.router["user"].url_for(id="7")),
            }
        )

    async def user(request: web.Request) -> web.Response:
        return web.Response(text=f"user {request.match_info['id']}")

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=f"home of {request.app[NAME]}")

    admin.router.add_get("/", dashboard)
    admin.router.add_get("/users/{id}", user, name="user")
    root.router.add_get("/", home)
    root.router.add_get("/admin-lookalike", home)
    root.add_subapp("/admin/", admin)
    return root, admin


async def test_sub_application_routes_middlewares_and_config(actorhttp_client: Client) -> None:
    root, admin = admin_site()
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(root)
        dashboard = await client.get("/admin/")
        user = await client.get("/admin/users/7")
        home = await client.get("/")
        admin_missing = await client.get("/admin/nothing")
        admin_wrong = await client.post("/admin/users/7")
        bare = await client.get("/admin")  # the sub-app's "/" is "/admin/"
    assert dashboard.json() == {
        "app": "admin",
        "looked_up": "admin",
        "through_the_chain": "from the root",
        "apps": ["root", "admin"],
        "url": "/admin/users/7",
    }
    assert user.text == "user 7"
    assert home.text == "home of root"
    assert admin_missing.status_code == 404
    assert admin_wrong.status_code == 405
    assert admin_wrong.headers["allow"] == "GET,HEAD"
    assert bare.status_code == 404
    # The sub-app's middleware wraps only its routes, inside the parent's; in each
    # middleware request.app is the app the middleware belongs to.
    assert root[SEEN].count("root:root") == 6
    # dashboard, user, its 404, its 405, and "/admin" itself: the prefix is the sub-app's.
    assert admin[SEEN] == ["admin:admin"] * 5
    assert str(admin.router["user"].url_for(id="9")) == "/admin/users/9"


async def test_sub_application_signals_run_with_the_parent() -> None:
    events: list[str] = []
    root, admin = web.Application(), web.Application()

    def note(name: str) -> Callable[[web.Application], Awaitable[None]]:
        async def hook(app: web.Application) -> None:
            events.append(f"{name}:{'admin' if app is admin else 'root'}")

        return hook

    for app, name in ((root, "root"), (admin, "admin")):
        app.on_startup.append(note(f"startup-{name}"))
        app.on_shutdown.append(note(f"shutdown-{name}"))
        app.on_cleanup.append(note(f"cleanup-{name}"))
    root.add_subapp("/admin", admin)
    with trio.fail_after(TIMEOUT):
        async with serve_app(root):
            pass
    assert events == [
        "startup-root:root",
        "startup-admin:admin",
        "shutdown-root:root",
        "shutdown-admin:admin",
        "cleanup-root:root",
        "cleanup-admin:admin",
    ]


def test_sub_applications_are_frozen_once_mounted() -> None:
    root, admin = web.Application(), web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    root.add_subapp("/admin", admin)
    with pytest.raises(RuntimeError):
        admin.router.add_get("/late", handler)
    with pytest.raises(RuntimeError, match="frozen"):
        web.Application().add_subapp("/again", admin)
    with pytest.raises(ValueError, match="empty"):
        root.add_subapp("/", web.Application())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "css" / "main.css").write_text("body {}")
    (root / "data.tar.gz").write_bytes(b"\x1f\x8b not really")
    (root / "with space.txt").write_text("spaced")
    secret = tmp_path / "secret.txt"
    secret.write_text("never served")
    (root / "leak").symlink_to(secret)
    (root / "inner-link").symlink_to(root / "index.html")
    (root / "loop").symlink_to(root / "loop")
    return root


async def test_static_files_are_served_with_file_response_semantics(
    actorhttp_client: Client, folder: Path
) -> None:
    app = web.Application()
    resource = app.router.add_static("/static", folder, name="static", append_version=True)
    assert isinstance(resource, web.StaticResource)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        page = await client.get("/static/index.html")
        css = await client.get("/static/css/main.css")
        spaced = await client.get("/static/with%20space.txt")
        tarball = await client.get("/static/data.tar.gz")
        again = await client.get(
            "/static/index.html", headers={"If-None-Match": page.headers["etag"]}
        )
        part = await client.get("/static/index.html", headers={"Range": "bytes=4-7"})
        head = await client.head("/static/css/main.css")
        listing = await client.get("/static/css")
        inside_link = await client.get("/static/inner-link")
    assert page.text == "<h1>home</h1>"
    assert page.headers["content-type"].startswith("text/html")
    assert css.headers["content-type"].startswith("text/css")
    assert spaced.text == "spaced"
    assert tarball.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in tarball.headers  # arrives as stored
    assert again.status_code == 304
    assert (part.status_code, part.text) == (206, "home")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "7")
    assert listing.status_code == 403  # no index unless show_index
    assert inside_link.text == "<h1>home</h1>"  # a link staying inside the folder is fine
    url = resource.url_for(filename="css/main.css")
    assert url.path == "/static/css/main.css"
    assert len(url.query["v"]) == 44  # sha256, urlsafe base64
    assert str(app.router["static"].url_for(filename="x.txt")) == "/static/x.txt"  # no file
    assert resource.url_for(filename="css/main.css", append_version=False).query == {}


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/css/../../secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/leak",
        "/static/loop",
        "/static/css%00.txt",
        "/static/..\\secret.txt",
    ],
)
async def test_nothing_outside_the_folder_is_ever_served(
    transport: TransportName, folder: Path, path: str
) -> None:
    app = web.Application()
    app.router.add_static("/static", folder)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app, transport=transport) as client:
            request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            answer = await exchange(client.server.port, request.encode())
    assert status_of(answer) in (400, 403, 404), answer[:200]
    assert b"never served" not in answer


async def test_follow_symlinks_and_show_index(actorhttp_client: Client, folder: Path) -> None:
    app = web.Application()
    app.router.add_static("/static", folder, show_index=True, follow_symlinks=True)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        leak = await client.get("/static/leak")
        index = await client.get("/static/")
        climb = await client.get("/static/%2e%2e/secret.txt")
    assert leak.text == "never served"  # follow_symlinks: the link may lead out...
    assert climb.status_code in (403, 404)  # ...the URL never does
    assert index.headers["content-type"].startswith("text/html")
    assert '<a href="/static/css">css/</a>' in index.text
    assert '<a href="/static/with%20space.txt">with space.txt</a>' in index.text


def test_add_static_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        web.Application().router.add_static("/s", tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        web.Application().router.add_static("/s", tmp_path / "file")


@pytest.mark.parametrize(
    ("options", "path", "location"),
    [
        ({}, "/about", "/about/"),
        ({}, "/about?x=1", "/about/?x=1"),
        ({}, "//about//", "/about/"),
        ({"append_slash": False, "remove_slash": True}, "/contact/", "/contact"),
        ({"merge_slashes": False}, "//about", "/about/"),  # a leading "//" never stays
        ({}, "//evil.example//", None),
    ],
)
async def test_normalize_path_middleware(
    actorhttp_client: Client, options: dict[str, Any], path: str, location: str | None
) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=request.path)

    app = web.Application(middlewares=[web.normalize_path_middleware(**options)])
    app.router.add_get("/about/", page)
    app.router.add_get("/contact", page)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        port = client.server.port
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        answer = await exchange(port, request)
    if location is None:
        assert status_of(answer) == 404
    else:
        assert status_of(answer) == 308
        assert f"Location: {location}\r\n".encode() in answer


def test_normalize_path_middleware_refuses_both_slash_rules() -> None:
    with pytest.raises(ValueError, match="both"):
        web.normalize_path_middleware(append_slash=True, remove_slash=True)
    with pytest.raises(AssertionError, match="both"):  # what aiohttp raises
        web.normalize_path_middleware(append_slash=True, remove_slash=True)


async def test_match_info_names_the_route_or_the_system_route(actorhttp_client: Client) -> None:
    seen: list[object] = []

    @web.middleware
    async def look(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = request.match_info
        seen.append((type(info).__name__, info.http_exception is not None))
        return await handler(request)

    async def item(request: web.Request) -> web.Response:
        info = request.match_info
        assert isinstance(info, web.UrlMappingMatchInfo)
        assert info.route.resource is request.app.router["item"]
        assert info.handler is item
        return web.Response(text=info["id"])

    app = web.Application(middlewares=[look])
    app.router.add_get("/items/{id}", item, name="item")
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        assert (await client.get("/items/5")).text == "5"
        assert (await client.get("/nothing")).status_code == 404
    assert seen == [("UrlMappingMatchInfo", False), ("UrlMappingMatchInfo", True)]


async def test_graceful_exit_from_a_handler_stops_the_server() -> None:
    async def stop(request: web.Request) -> web.Response:
        raise web.GracefulExit()

    app = web.Application()
    app.router.add_get("/stop", stop)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app) as client:
            answer = await client.get("/stop")
            await client.server.wait_stopped()
    assert answer.status_code == 503
