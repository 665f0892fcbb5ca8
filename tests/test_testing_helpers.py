"""The testing helpers: SyncClient, test_utils' TestServer/TestClient, the plugin's fixtures.

The plugin is also run the way a user's project runs it: a throwaway test file
in a temporary folder, pytest in a subprocess, the plugin found by the
``pytest11`` entry point that pyproject.toml declares.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import trio
from multidict import CIMultiDictProxy
from yarl import URL

import actorhttp
from actorhttp import web
from actorhttp.messages import TransportName
from actorhttp.test_utils import ClientResponse, TestClient, TestServer, unused_port
from actorhttp.testing import SyncClient

TIMEOUT = 10
ROOT = Path(actorhttp.__file__).parent.parent
EVENTS = web.AppKey("events", list[str])


async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello, {request.match_info.get('name', 'you')}")


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {"body": body.decode(), "type": request.content_type, "form": dict(await request.post())}
    )


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/hello/redirected")


async def cookie(request: web.Request) -> web.Response:
    response = web.Response(text=request.cookies.get("seen", "first"))
    response.set_cookie("seen", "again")
    return response


def recording_app() -> web.Application:
    """An app whose lifecycle hooks note themselves in ``app[EVENTS]``."""
    app = web.Application()
    app[EVENTS] = []
    events = app[EVENTS]

    async def context(app: web.Application) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("cleanup")

    async def on_shutdown(app: web.Application) -> None:
        events.append("shutdown")

    app.cleanup_ctx.append(context)
    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/hello/{name}", hello)
    app.router.add_get("/", hello)
    app.router.add_post("/echo", echo)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/cookie", cookie)
    return app


def portal_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("trio-portal-")]


# SyncClient: plain `def` tests (trio_mode leaves them alone).


def test_sync_client_serves_the_app_between_startup_and_cleanup(transport: TransportName) -> None:
    app = recording_app()
    with SyncClient(app, transport=transport) as client:
        assert app[EVENTS] == ["startup"]  # startup has run when `with` gives the client
        assert portal_threads()
        response = client.get("/hello/world")
        posted = client.post("/echo", content=b"raw")
        assert client.server.url == f"http://127.0.0.1:{client.server.port}"
    assert response.status_code == 200
    assert response.text == "hello, world"
    assert posted.json()["body"] == "raw"
    assert app[EVENTS] == ["startup", "shutdown", "cleanup"]
    assert portal_threads() == []  # the trio thread has ended
    with pytest.raises(RuntimeError, match="only inside"):
        client.get("/")


def test_sync_client_raises_the_apps_startup_error_from_with() -> None:
    app = recording_app()

    async def broken(app: web.Application) -> None:
        raise RuntimeError("no database")

    app.on_startup.append(broken)
    with pytest.raises(RuntimeError, match="no database"), SyncClient(app):  # not a group
        raise AssertionError("the app must not be served")
    assert app[EVENTS] == ["startup", "cleanup"]  # what had started was cleaned up
    assert portal_threads() == []


def test_sync_client_raises_the_apps_cleanup_error_on_exit() -> None:
    app = recording_app()

    async def broken(app: web.Application) -> None:
        raise RuntimeError("cannot close the database")

    app.on_cleanup.append(broken)
    with pytest.raises(RuntimeError, match="cannot close"), SyncClient(app) as client:
        assert client.get("/").text == "hello, you"
    assert portal_threads() == []


def test_sync_client_refuses_what_serve_refuses_and_a_second_with() -> None:
    with pytest.raises(TypeError, match="no_such_setting"):
        SyncClient(recording_app(), no_such_setting=1).__enter__()
    assert portal_threads() == []
    client = SyncClient(recording_app())
    with pytest.raises(RuntimeError, match="only inside"):
        client.get("/")
    with client:
        pass
    with pytest.raises(RuntimeError, match="reopen"), client:  # httpx's own refusal
        raise AssertionError("a closed client must not serve again")


def test_sync_client_portal_runs_async_code_in_the_servers_thread() -> None:
    with SyncClient(web.Application()) as client:
        assert client.get("/late").status_code == 404
        client.portal.call(client.server.add_route, "GET", "/late", hello)
        assert client.get("/late").text == "hello, you"


# actorhttp.test_utils: aiohttp's TestServer and TestClient on trio.


async def test_test_client_answers_with_aiohttps_response_names(transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with TestClient(TestServer(recording_app(), transport=transport)) as client:
            resp = await client.get("/hello/world")
            assert isinstance(resp, ClientResponse)
            assert resp.status == 200
            assert resp.ok
            assert resp.method == "GET"
            assert resp.url == client.make_url("/hello/world")
            assert await resp.text() == "hello, world"
            assert await resp.read() == b"hello, world"
            assert resp.content_type == "text/plain"
            assert resp.charset == "utf-8"
            assert resp.content_length == 12
            assert isinstance(resp.headers, CIMultiDictProxy)
            assert resp.headers["content-type"] == "text/plain; charset=utf-8"

            async with client.post("/echo", data=b"raw bytes") as posted:  # aiohttp's data=bytes
                assert (await posted.json())["body"] == "raw bytes"
            form = await (await client.post("/echo", data={"a": "1"})).json()
            assert form["type"] == "application/x-www-form-urlencoded"
            assert form["form"] == {"a": "1"}
            sent_json = await client.post("/echo", json={"k": [1]})
            assert (await sent_json.json())["body"] == '{"k":[1]}'

            followed = await client.get("/redirect")  # aiohttp follows redirects by default
            assert await followed.text() == "hello, redirected"
            found = await client.get("/redirect", allow_redirects=False)
            assert found.status == 302
            assert found.headers["Location"] == "/hello/redirected"

            first = await client.get("/cookie")
            assert first.cookies["seen"].value == "again"
            assert await first.text() == "first"
            assert await (await client.get("/cookie")).text() == "again"  # the jar kept it

            missing = await client.request("DELETE", "/hello/x")
            assert missing.status == 405
            assert not missing.ok
            with pytest.raises(httpx.HTTPStatusError):
                missing.raise_for_status()


async def test_test_client_json_checks_the_content_type_as_aiohttp() -> None:
    with trio.fail_after(TIMEOUT):
        async with TestClient(TestServer(recording_app())) as client:
            resp = await client.get("/hello/json")
            with pytest.raises(ValueError, match="unexpected mimetype: text/plain"):
                await resp.json()
            with pytest.raises(ValueError, match="Expecting value"):  # json.loads' own error
                await resp.json(content_type=None)


async def test_test_server_lifecycle_and_urls() -> None:
    app = recording_app()
    server = TestServer(app)
    assert (server.started, server.port) == (False, None)
    with pytest.raises(RuntimeError, match="not started"):
        server.make_url("/")
    with pytest.raises(TypeError, match="async with"), server:
        pass
    with trio.fail_after(TIMEOUT):
        async with server:
            assert server.started
            assert server.server is not None
            assert {server.port} == {server.server.port}  # a set: mypy keeps port optional
            assert server.make_url("/a?b=1") == URL(f"http://127.0.0.1:{server.port}/a?b=1")
            with pytest.raises(ValueError, match="absolute"):
                server.make_url("http://example.com/")
            assert app[EVENTS] == ["startup"]
        assert (server.closed, server.port) == (True, None)
        assert app[EVENTS] == ["startup", "shutdown", "cleanup"]
        await server.close()  # idempotent
        with pytest.raises(RuntimeError, match="closed"):
            await server.start_server()


async def test_test_server_raises_startup_and_cleanup_errors_unwrapped() -> None:
    async def broken(app: web.Application) -> None:
        raise RuntimeError("broken hook")

    starting = recording_app()
    starting.on_startup.append(broken)
    closing = recording_app()
    closing.on_cleanup.append(broken)
    with trio.fail_after(TIMEOUT):
        with pytest.raises(RuntimeError, match="broken hook"):
            await TestServer(starting).start_server()
        with pytest.raises(RuntimeError, match="broken hook"):
            async with TestServer(closing):
                pass


async def test_test_server_is_closed_by_the_task_that_started_it() -> None:
    server = TestServer(recording_app())
    refused: list[RuntimeError] = []

    async def close_elsewhere() -> None:
        try:
            await server.close()
        except RuntimeError as exc:
            refused.append(exc)

    with trio.fail_after(TIMEOUT):
        async with server:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(close_elsewhere)
            assert "task that called start_server" in str(refused[0])
            assert not server.closed
        assert server.closed


async def test_test_client_takes_a_test_server_only_as_aiohttp() -> None:
    with pytest.raises(TypeError, match="server must be TestServer instance"):
        TestClient(recording_app())  # type: ignore[arg-type]
    client = TestClient(TestServer(recording_app()))
    with pytest.raises(TypeError, match="async with"), client:
        pass
    with trio.fail_after(TIMEOUT):
        async with client:
            assert client.app is client.server.app
            assert client.host == "127.0.0.1"
            assert client.port == client.server.port
            via_session = await client.session.get(str(client.make_url("/hello/s")))
            assert via_session.text == "hello, s"
        assert client.server.closed  # closing the client closed its server, as aiohttp's


# The plugin's fixtures, in this suite.


async def test_actorhttp_server_serves_on_a_free_or_a_given_port(
    actorhttp_server: Callable[..., Awaitable[actorhttp.Server]], unused_tcp_port: int
) -> None:
    with trio.fail_after(TIMEOUT):
        given = await actorhttp_server(recording_app(), port=unused_tcp_port)
        free = await actorhttp_server(recording_app(), max_connections=10)
        assert given.port == unused_tcp_port
        assert free.port not in (0, unused_tcp_port)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{given.url}/hello/given")).text == "hello, given"
            assert (await client.get(f"{free.url}/hello/free")).text == "hello, free"
        with pytest.raises(TypeError, match="no_such_setting"):
            await actorhttp_server(recording_app(), no_such_setting=1)


def test_unused_tcp_port_can_be_bound(unused_tcp_port: int) -> None:
    for port in (unused_tcp_port, unused_port()):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


# The plugin in a user's project: found by its entry point, in a pytest subprocess.

USER_TESTS = """
import actorhttp.pytest_plugin
from actorhttp import web

CLEANED = []


async def hello(request):
    return web.Response(text="hello")


def make_app():
    app = web.Application()
    app.router.add_get("/", hello)

    async def cleanup(app):
        CLEANED.append(app)

    app.on_cleanup.append(cleanup)
    return app


def test_the_plugin_came_from_the_entry_point(pytestconfig):
    plugins = pytestconfig.pluginmanager
    plugin = actorhttp.pytest_plugin
    dists = [dist.project_name for p, dist in plugins.list_plugin_distinfo() if p is plugin]
    assert dists == ["actorhttp"]
    assert plugins.get_plugin("actorhttp.pytest_plugin") is plugin


async def test_fixtures(actorhttp_server, actorhttp_client, unused_tcp_port):
    server = await actorhttp_server(make_app(), port=unused_tcp_port)
    assert server.port == unused_tcp_port
    client = await actorhttp_client(make_app())
    assert (await client.get("/")).text == "hello"
    assert (await client.get(f"{server.url}/")).text == "hello"


def test_the_fixtures_stopped_their_servers():
    assert len(CLEANED) == 2


def test_a_sync_test_asking_for_a_trio_fixture(actorhttp_client):
    raise AssertionError("not reached: the fixture fails first")
"""


def user_project(tmp_path: Path) -> dict[str, str]:
    """A project using actorhttp's plugin, and the environment to run its tests.

    Installing actorhttp would write its ``entry_points.txt`` from the
    ``[project.entry-points.pytest11]`` table; installing it into the shared
    virtualenv is not an option here, so the table is written into a
    ``*.dist-info`` folder put first on ``PYTHONPATH``, where
    ``importlib.metadata`` (and so pytest) finds it as installed metadata.
    """
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["pytest11"]
    assert declared == {"actorhttp.pytest_plugin": "actorhttp.pytest_plugin"}
    dist_info = tmp_path / "site" / f"actorhttp-{pyproject['project']['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: actorhttp\nVersion: {pyproject['project']['version']}\n"
    )
    lines = [f"{name} = {target}" for name, target in declared.items()]
    (dist_info / "entry_points.txt").write_text("[pytest11]\n" + "\n".join(lines) + "\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")  # the project's own: not ours
    # Listing the plugin as well must not clash with the entry point (pytest dedups by name).
    (project / "conftest.py").write_text('pytest_plugins = ["actorhttp.pytest_plugin"]\n')
    (project / "test_user.py").write_text(USER_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), str(ROOT)])
    return env


def run_pytest(project: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


def test_the_plugin_works_in_a_users_project_by_its_entry_point(tmp_path: Path) -> None:
    env = user_project(tmp_path)
    output = run_pytest(tmp_path / "project", env, "-o", "trio_mode=true")
    assert "3 passed, 1 error" in output, output
    assert "server and client fixtures are trio fixtures" in output, output
    assert "not run by pytest-trio" in output, output
    # Without pytest-trio the plugin still loads (its module imports only pytest) and
    # the trio fixtures fail saying what is missing.
    output = run_pytest(
        tmp_path / "project", env, "-p", "no:trio", "-k", "entry_point or test_fixtures"
    )
    assert "1 passed, 2 deselected, 1 error" in output, output
    assert "pytest-trio is not loaded" in output, output


@pytest.mark.parametrize("module", ["actorhttp.testing", "actorhttp.test_utils"])
@pytest.mark.parametrize("missing", ["httpx", "anyio"])
def test_without_the_testing_extra_the_import_names_it(module: str, missing: str) -> None:
    # A None in sys.modules makes that import fail as if the package were not installed.
    script = f"import sys; sys.modules[{missing!r}] = None\nimport {module}\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: ")
    assert "pip install 'actorhttp[testing]'" in last
    assert missing in last
