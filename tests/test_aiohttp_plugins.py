"""aiohttp's server plugins run unchanged under ``actorhttp.aiohttp_patch``, as on aiohttp.

Each program in ``plugin_apps/`` is written as its plugin's documentation
shows, with ``from aiohttp import web``. ``plugin_apps/serve.py`` serves it
in a process of its own, on aiohttp as written, or on actorhttp with
``import actorhttp.aiohttp_patch`` first (the patch changes ``sys.modules``,
so it never runs in the test process). The same client scenario runs
against both servers over real sockets, and what each answered must be the
same.
"""

from __future__ import annotations

import base64
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

PROGRAMS = Path(__file__).parent / "plugin_apps"
SERVERS = ("aiohttp", "actorhttp")
START_TIMEOUT = 60  # importing aiohttp and a plugin, on a busy machine
Scenario = Callable[[httpx.AsyncClient], Awaitable[list[Any]]]


@asynccontextmanager
async def serving(module: str, server: str) -> AsyncIterator[httpx.AsyncClient]:
    """``module``'s app served by ``server`` in a process of its own; a client on it."""
    with tempfile.TemporaryFile() as errors:
        process = await trio.lowlevel.open_process(
            [sys.executable, str(PROGRAMS / "serve.py"), server, module],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            assert process.stdout is not None
            with trio.fail_after(START_TIMEOUT):
                line = b""
                while not line.endswith(b"\n"):
                    chunk = await process.stdout.receive_some(64)
                    if not chunk:
                        break
                    line += chunk
            if not line.strip().isdigit():
                errors.seek(0)
                raise AssertionError(f"{module} on {server} did not start: {errors.read()!r}")
            url = f"http://127.0.0.1:{int(line)}"
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                yield client
        finally:
            process.send_signal(signal.SIGINT)
            with trio.move_on_after(15):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
            if process.stdout is not None:
                await process.stdout.aclose()
        errors.seek(0)
        assert b"Traceback" not in errors.read() or module == "toolbar_app", server


async def on_both(module: str, scenario: Scenario) -> list[Any]:
    """Run ``scenario`` against ``module`` on aiohttp and on actorhttp; they must agree."""
    results: dict[str, list[Any]] = {}

    async def run(server: str) -> None:
        async with serving(module, server) as client:
            results[server] = await scenario(client)

    with trio.fail_after(START_TIMEOUT + 60):
        async with trio.open_nursery() as nursery:
            for server in SERVERS:
                nursery.start_soon(run, server)
    assert results["actorhttp"] == results["aiohttp"]
    return results["actorhttp"]


def head(response: httpx.Response, *names: str) -> list[Any]:
    return [response.status_code, *(response.headers.get(name) for name in names)]


async def jinja(client: httpx.AsyncClient) -> list[Any]:
    hello = await client.get("/hello/world")
    rendered = await client.get("/rendered", params={"name": "<b>"})
    view = await client.get("/view")
    missing = await client.get("/missing")
    return [
        [*head(hello, "content-type"), hello.text],
        [*head(rendered, "content-type", "x-rendered"), rendered.text],
        [*head(view, "content-type"), view.text],
        [missing.status_code, missing.text],
    ]


async def test_aiohttp_jinja2() -> None:
    hello, rendered, view, missing = await on_both("jinja_app", jinja)
    assert hello == [
        200,
        "text/html; charset=utf-8",
        '<p>Hello, world!</p> <a href="/hello/you">again</a>',
    ]
    assert rendered[:3] == [201, "text/html; charset=utf-8", "yes"]
    assert "&lt;b&gt;" in rendered[3]
    assert view[0] == 202
    assert missing == [500, "Template 'nope.html' not found"]


async def session(client: httpx.AsyncClient) -> list[Any]:
    first = await client.get("/count")
    second = await client.get("/count")
    login = await client.get("/login", params={"user": "bob"}, follow_redirects=True)
    redirect = login.history[0]
    cookie = redirect.headers.get("set-cookie", "")
    out = await client.get("/logout")
    after = await client.get("/whoami")
    return [
        first.text,
        second.text,
        [redirect.status_code, redirect.headers["location"], cookie.startswith("SESSION=")],
        [login.status_code, login.json()],
        out.text,
        after.json(),
    ]


async def test_aiohttp_session_encrypted_cookies() -> None:
    result = await on_both("session_app", session)
    assert result == [
        "visits: 1",
        "visits: 2",
        [302, "/whoami", True],  # the session set before `raise web.HTTPFound` was sent
        [200, {"user": "bob", "new": False}],
        "bye",
        {"user": None, "new": True},
    ]


async def security(client: httpx.AsyncClient) -> list[Any]:
    anonymous = await client.get("/me")
    bob = await client.get("/login", params={"user": "bob"}, follow_redirects=True)
    bob_admin = await client.get("/admin")
    await client.get("/logout")
    gone = await client.get("/me")
    await client.get("/login", params={"user": "alice"})
    alice_admin = await client.get("/admin")
    return [
        anonymous.status_code,
        [bob.status_code, bob.text],
        bob_admin.status_code,
        gone.status_code,
        [alice_admin.status_code, alice_admin.text],
    ]


async def test_aiohttp_security() -> None:
    result = await on_both("security_app", security)
    assert result == [401, [200, "you are bob"], 403, 401, [200, "admin area"]]


CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
)
ORIGIN = "http://client.example"


async def cors(client: httpx.AsyncClient) -> list[Any]:
    preflight = await client.options(
        "/api",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    simple = await client.get("/api", headers={"Origin": ORIGIN})
    posted = await client.post("/api", json={"a": 1}, headers={"Origin": ORIGIN})
    stranger = await client.options(
        "/api",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    private = await client.get("/private", headers={"Origin": ORIGIN})
    return [
        head(preflight, *CORS_HEADERS),
        head(simple, *CORS_HEADERS),
        [*head(posted, "access-control-allow-origin"), posted.json()],
        stranger.status_code,
        head(private, "access-control-allow-origin"),
    ]


async def test_aiohttp_cors_preflight_and_headers() -> None:
    preflight, simple, posted, stranger, private = await on_both("cors_app", cors)
    assert preflight[:3] == [200, ORIGIN, "true"]
    assert preflight[3] == "POST"
    assert preflight[4] == "CONTENT-TYPE"
    assert preflight[6] == "3600"
    assert simple[:3] == [200, ORIGIN, "true"]
    assert simple[5] == "X-Custom"
    assert posted == [201, ORIGIN, {"a": 1}]
    assert stranger == 403
    assert private == [200, None]


async def toolbar(client: httpx.AsyncClient) -> list[Any]:
    page = await client.get("/")
    link = re.search(r'href="(/_debugtoolbar/[0-9a-f]+)"', page.text)
    toolbar_page = await client.get(link.group(1)) if link else None
    failure = await client.get("/fail")
    redirect = await client.get("/redirect")
    return [
        [page.status_code, "pDebug" in page.text],
        toolbar_page is not None and toolbar_page.status_code,
        [failure.status_code, "RuntimeError: boom for the toolbar" in failure.text],
        [redirect.status_code, 'href="/"' in redirect.text, "Redirect" in redirect.text],
    ]


async def test_aiohttp_debugtoolbar() -> None:
    result = await on_both("toolbar_app", toolbar)
    assert result == [[200, True], 200, [500, True], [200, True, True]]


async def apispec(client: httpx.AsyncClient) -> list[Any]:
    spec = await client.get("/api/docs/swagger.json")
    docs = await client.get("/api/docs")
    good = await client.post("/v1/test", json={"id": 1, "name": "x"})
    bad = await client.post("/v1/test", json={"id": "one"})
    return [
        [spec.status_code, spec.json()],
        [docs.status_code, "swagger" in docs.text.lower()],
        [good.status_code, good.json()],
        [bad.status_code, bad.headers.get("content-type"), bad.json()],
    ]


async def test_aiohttp_apispec() -> None:
    spec, docs, good, bad = await on_both("apispec_app", apispec)
    assert spec[0] == 200
    assert spec[1]["info"] == {"title": "My Documentation", "version": "v1"}
    operation = spec[1]["paths"]["/v1/test"]["post"]
    assert operation["summary"] == "Test method summary"
    assert docs == [200, True]
    assert good == [200, {"msg": "done", "data": {"id": 1, "name": "x"}}]
    assert bad[0] == 422
    assert bad[1:] == [
        "application/json",
        {"id": ["Not a valid integer."], "name": ["Missing data for required field."]},
    ]


async def remotes(client: httpx.AsyncClient) -> list[Any]:
    proxied = await client.get(
        "/",
        headers={
            "Host": "example.com",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
        },
    )
    stranger = await client.get("/", headers={"Host": "evil.example"})
    spoofed = await client.get(
        "/", headers={"Host": "example.com", "X-Forwarded-For": "a, b, c, d"}
    )
    direct = await client.get("/", headers={"Host": "example.com"})
    credentials = base64.b64encode(b"admin:secret").decode()
    proxy = {"Host": "example.com", "X-Forwarded-For": "203.0.113.7"}
    locked = await client.get("/admin/", headers=proxy)
    unlocked = await client.get(
        "/admin/", headers={**proxy, "Authorization": f"Basic {credentials}"}
    )
    return [
        [proxied.status_code, proxied.json()],
        stranger.status_code,
        spoofed.status_code,
        direct.status_code,
        head(locked, "www-authenticate"),
        unlocked.status_code,
    ]


async def test_aiohttp_remotes() -> None:
    result = await on_both("remotes_app", remotes)
    assert result[0] == [200, {"remote": "203.0.113.7", "scheme": "https", "host": "example.com"}]
    assert result[1:4] == [400, 400, 400]  # an unknown host; too many hops; no X-Forwarded-For
    assert result[4] == [401, "Basic realm=the realm"]  # aiohttp_remotes' own spelling
    assert result[5] == 200


def test_the_patch_refuses_when_aiohttp_web_came_first() -> None:
    code = "from aiohttp import web\nimport actorhttp.aiohttp_patch\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "ImportError: actorhttp.aiohttp_patch must be imported before" in result.stderr
    assert "aiohttp.web" in result.stderr


@pytest.mark.parametrize("first", ["import aiohttp", "pass"])
def test_the_patch_is_idempotent_and_leaves_the_client(first: str) -> None:
    code = f"""{first}
import importlib
import actorhttp.aiohttp_patch
importlib.reload(actorhttp.aiohttp_patch)
import actorhttp.aiohttp_patch
import aiohttp, actorhttp
from aiohttp import web, hdrs, web_exceptions
from aiohttp.abc import AbstractView, AbstractResolver
from aiohttp.typedefs import Handler
assert web.Response is actorhttp.Response and web_exceptions.HTTPFound is actorhttp.HTTPFound
assert aiohttp.web is web and aiohttp.WSMsgType is actorhttp.WSMsgType
assert AbstractView is actorhttp.abc.AbstractView and hdrs is actorhttp.hdrs
assert AbstractResolver.__module__ == "aiohttp.abc"
import aiohttp_sse, actorhttp.sse
assert aiohttp_sse is actorhttp.sse and aiohttp_sse.sse_response is actorhttp.sse.sse_response
assert aiohttp.ClientSession.__module__ == "aiohttp.client"
try:
    web.AppRunner
except AttributeError as exc:
    print(exc)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "aiohttp.web.AppRunner is not there under actorhttp" in result.stdout
    assert "run_app" in result.stdout


def test_the_patched_modules_hold_aiohttps_names() -> None:
    # aiohttp's real modules are read first, then dropped from sys.modules so the patch
    # can be imported: only in a throwaway process.
    code = """
import sys
import aiohttp.web
real = {name: module for name, module in sys.modules.items() if name.startswith("aiohttp.web")}
for name in real:
    del sys.modules[name]
del sys.modules["aiohttp"].web
import actorhttp
import actorhttp.aiohttp_patch as patch
for name, module in real.items():
    patched = sys.modules[name]
    assert patched is not module, name
    ours = set(patched.__all__)
    missing = {n for n in ours if not hasattr(module, n)}
    assert not missing, (name, missing)  # every name is one aiohttp's module has
    theirs = set(getattr(module, "__all__", ()))
    left_out = theirs - ours - patch._RUNNER_LAYER
    assert not left_out, (name, left_out)  # only the runner layer is left out
    for n in ours:
        assert getattr(patched, n) is getattr(actorhttp, n), (name, n)
print(sorted(real) == sorted(n for n in patch.PATCHED_MODULES if n.startswith("aiohttp.web")))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
