"""Each example, run as ``python examples/NAME.py`` in its own process, on a free port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio

from .rawhttp import exchange, status_of

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20
URL = re.compile(rb"(https?://127\.0\.0\.1:\d+)")


@dataclass
class Running:
    process: trio.Process
    url: str = ""
    output: bytearray = field(default_factory=bytearray)

    async def read_until(self, needle: bytes) -> None:
        """Read the process's output until ``needle`` shows up (the caller bounds the time)."""
        assert self.process.stdout is not None
        while needle not in self.output:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                raise AssertionError(f"exited before printing {needle!r}: {bytes(self.output)!r}")
            self.output += chunk

    async def finish(self) -> int:
        """Read the rest of the output and wait for the exit code."""
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.receive_some():
            self.output += chunk
        return await self.process.wait()


@asynccontextmanager
async def example(*command: str) -> AsyncIterator[Running]:
    """Start a command from the repo root; yield once it prints the URL it serves on."""
    process = await trio.lowlevel.open_process(
        [*command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    running = Running(process)
    try:
        await running.read_until(b"127.0.0.1:")
        await running.read_until(b"\n")
        found = URL.search(running.output)
        assert found, running.output
        running.url = found.group(1).decode()
        yield running
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()


def script(name: str) -> tuple[str, ...]:
    return (sys.executable, f"examples/{name}.py", "--port", "0")


async def test_hello_serves_and_stops_on_ctrl_c() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("hello")) as run, httpx.AsyncClient(base_url=run.url) as http:
            hello = await http.get("/hello/reader")
            head = await http.head("/hello/reader")
            run.process.send_signal(signal.SIGINT)
            code = await run.finish()
    assert hello.text == "hello, reader\n"
    assert head.content == b""
    assert code == 0


async def test_driver_echoes_and_stops_by_request() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("driver")) as run, httpx.AsyncClient(base_url=run.url) as http:
            echo = await http.get("/echo/ping")
            stop = await http.get("/stop")
            code = await run.finish()
    assert echo.text == "ping\n"
    assert stop.text == "stopping\n"
    assert code == 0
    assert run.output.rstrip().endswith(b"stopped")


async def test_middlewares_show_their_order() -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            example(*script("middlewares")) as run,
            httpx.AsyncClient(base_url=run.url) as http,
        ):
            response = await http.get("/hello/bob")
            await run.read_until(b"outer: out")
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert response.text == "hello, bob\n"
    assert response.headers.get_list("x-middleware") == ["inner", "outer"]
    log = run.output.decode()
    steps = ["outer: in", "inner: in", "handler: bob", "inner: out", "outer: out"]
    positions = [log.index(step) for step in steps]
    assert positions == sorted(positions), log


async def test_nursery_embedding_stops_by_command() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("nursery")) as run, httpx.AsyncClient(base_url=run.url) as http:
            hello = await http.get("/")
            stop = await http.post("/shutdown")
            code = await run.finish()
    assert hello.text == "hello from inside a nursery\n"
    assert stop.text == "stopping\n"
    assert code == 0
    assert b"stopped" in run.output


async def test_actor_route_keeps_state_in_the_actor() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("actors")) as run, httpx.AsyncClient(base_url=run.url) as http:
            first = await http.post("/counter/a")
            second = await http.post("/counter/a")
            other = await http.post("/counter/b")
            refused = await http.delete("/counter/a")
            reset = await http.delete("/counter/a", headers={"X-Admin": "yes"})
            after = await http.post("/counter/a")
            boom = await http.post("/counter/boom")  # kills the actor: supervise restarts it
            again = await http.post("/counter/a")
            run.process.send_signal(signal.SIGINT)
            code = await run.finish()
    assert [r.json()["count"] for r in (first, second, other, after, again)] == [1, 2, 1, 1, 2]
    assert boom.status_code == 500
    assert b"the counter met a boom" in run.output  # logged, with its traceback
    assert refused.status_code == 403  # the middleware answered; the actor never saw it
    assert reset.status_code == 204
    assert first.headers["x-served-by"] == reset.headers["x-served-by"]
    assert first.headers["x-served-by"] == f"counter-actor pid {run.process.pid}"
    assert code == 0


async def test_hypercorn_serves_the_application_as_asgi() -> None:
    command = (sys.executable, "-m", "hypercorn", "-k", "trio", "-b", "127.0.0.1:0")
    with trio.fail_after(TIMEOUT):
        async with (
            example(*command, "examples.hello:app") as run,
            httpx.AsyncClient(base_url=run.url) as http,
        ):
            hello = await http.get("/hello/asgi")
            missing = await http.get("/missing")
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert hello.text == "hello, asgi\n"
    assert missing.status_code == 404


async def test_the_command_line_serves_hello_in_two_workers() -> None:
    command = (sys.executable, "-m", "actorhttp", "examples.hello:app", "--port", "0")
    with trio.fail_after(TIMEOUT):
        async with (
            example(*command, "--workers", "2") as run,
            httpx.AsyncClient(base_url=run.url) as http,
        ):
            hello = await http.get("/hello/workers")
            run.process.send_signal(signal.SIGINT)
            code = await run.finish()
    assert hello.text == "hello, workers\n"
    assert b"(2 workers)" in run.output
    assert code == 0


async def test_stream_example_writes_as_it_goes() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("stream")) as run, httpx.AsyncClient(base_url=run.url) as http:
            lines: list[str] = []
            async with http.stream("GET", "/count/3", params={"interval": "0.05"}) as response:
                async for line in response.aiter_lines():
                    lines.append(line)
            numbers = await http.get("/numbers.ndjson", headers={"Accept-Encoding": "gzip"})
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert lines == ["3", "2", "1", "liftoff"]
    assert response.headers["transfer-encoding"] == "chunked"
    assert numbers.headers["content-encoding"] == "gzip"
    rows = numbers.text.splitlines()
    assert len(rows) == 10_000
    assert rows[-1] == '{"n": 9999, "square": 99980001}'


async def test_login_example_sets_and_deletes_the_cookie_on_redirects() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("login")) as run, httpx.AsyncClient(base_url=run.url) as http:
            before = await http.get("/")
            login = await http.post("/login", data={"user": "ada"})
            welcome = await http.get("/")  # httpx keeps the cookie, as a browser would
            logout = await http.post("/logout")
            after = await http.get("/")
            refused = await http.post("/login", data={"user": " "})
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert "<form" in before.text
    assert login.status_code == 302
    assert login.headers["location"] == "/"
    assert "HttpOnly" in login.headers["set-cookie"]
    assert "logged in as <b>ada</b>" in welcome.text
    assert logout.status_code == 302
    assert "Max-Age=0" in logout.headers["set-cookie"]
    assert "<form" in after.text
    assert refused.status_code == 400


async def test_upload_example_reads_forms_and_streams_files_to_disk(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    command = (*script("upload"), "--folder", str(tmp_path))
    with trio.fail_after(TIMEOUT):
        async with example(*command) as run, httpx.AsyncClient(base_url=run.url) as http:
            form = await http.post(
                "/form", data={"title": "report"}, files={"doc": ("a.bin", b"12345", "x/y")}
            )
            urlencoded = await http.post("/form", data={"a": "1", "b": "two words"})
            upload = await http.post("/upload", files={"big": ("../../evil.bin", payload)})
            # A raw client: httpx stops its body half-way when refused, and complains.
            port = httpx.URL(run.url).port
            assert port is not None
            too_big = await exchange(
                port,
                b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11534336\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nf=xxxx",
            )
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert form.json() == {
        "title": "report",
        "doc": {"filename": "a.bin", "size": 5, "type": "x/y"},
    }
    assert urlencoded.json() == {"a": "1", "b": "two words"}
    saved = upload.json()["saved"]
    assert saved[0]["filename"] == "evil.bin"  # the client's path is never used
    assert saved[0]["size"] == len(payload)
    assert (tmp_path / "evil.bin").read_bytes() == payload
    assert status_of(too_big) == 413


async def test_aiohttp_2_factories_program_runs_with_only_the_import_changed() -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            example(*script("factories")) as run,
            httpx.AsyncClient(base_url=run.url) as http,
        ):
            index = await http.get("/")
            await run.read_until(b"i am logger2")
            hello = await http.get("/hello/world")
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert index.text == "<h1>Index</h1>"
    assert index.headers["content-type"].replace(" ", "") == "text/html;charset=utf-8"
    assert hello.text == "<h1>hello,world</h1>"
    log = run.output.decode()
    assert "old-style middleware" in log  # aiohttp 3's DeprecationWarning, shown
    lines = [line for line in log.splitlines() if line.startswith("i am logger")]
    assert lines == ["i am logger1", "i am logger2"] * 2


async def test_python_m_actorhttp_web_serves_an_init_function() -> None:
    command = (sys.executable, "-m", "actorhttp.web", "-H", "127.0.0.1", "-P", "0")
    with trio.fail_after(TIMEOUT):
        async with (
            example(*command, "examples.hello:init", "--ignored", "arg") as run,
            httpx.AsyncClient(base_url=run.url) as http,
        ):
            hello = await http.get("/hello/cli")
            run.process.send_signal(signal.SIGINT)
            code = await run.finish()
    assert hello.text == "hello, cli\n"
    assert code == 0
    assert run.output.rstrip().endswith(b"Stopped")


async def test_python_m_actorhttp_web_explains_a_bad_entry_point() -> None:
    process = await trio.run_process(
        [sys.executable, "-m", "actorhttp.web", "examples.hello"],
        cwd=ROOT,
        capture_stderr=True,
        check=False,
    )
    assert process.returncode == 2
    assert b"'entry-func' not in 'module:function' syntax" in process.stderr


async def test_views_example_is_a_notes_api() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("views")) as run, httpx.AsyncClient(base_url=run.url) as http:
            created = await http.post("/notes", json={"text": "buy milk"})
            listed = await http.get("/notes")
            location = created.headers["location"]
            changed = await http.put(location, json={"text": "buy oat milk"})
            one = await http.get(location)
            refused = await http.patch(location, json={})
            empty = await http.post("/notes", json={"text": ""})
            deleted = await http.delete(location)
            gone = await http.get(location)
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert created.status_code == 201
    assert location == "/notes/1"
    assert listed.json() == [{"id": 1, "text": "buy milk"}]
    assert changed.json() == one.json() == {"id": 1, "text": "buy oat milk"}
    assert refused.status_code == 405
    assert refused.headers["allow"] == "DELETE,GET,PUT"
    assert empty.status_code == 422
    assert (deleted.status_code, gone.status_code) == (204, 404)


async def test_subapp_example_guards_only_the_admin_routes() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("subapp")) as run, httpx.AsyncClient(base_url=run.url) as http:
            home = await http.get("/")
            refused = await http.get("/admin/")
            dashboard = await http.get("/admin/", headers={"X-Token": "letmein"})
            users = await http.get("/admin/users", headers={"X-Token": "letmein"})
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert home.text == "example site; admin at /admin/\n"
    assert refused.status_code == 401
    assert dashboard.json() == {"site": "example site", "users": "/admin/users"}
    assert users.json() == ["ada", "grace"]
    for response in (home, dashboard, users):
        assert int(response.headers["x-elapsed-us"]) >= 0  # the root's middleware wraps all
    assert "x-elapsed-us" not in refused.headers  # raised through it, as in aiohttp


async def test_static_example_serves_versioned_files_and_a_listing() -> None:
    with trio.fail_after(TIMEOUT):
        async with example(*script("static")) as run, httpx.AsyncClient(base_url=run.url) as http:
            page = await http.get("/")
            css_url = re.search(r'href="([^"]+)"', page.text)
            assert css_url is not None
            css = await http.get(css_url.group(1))
            cached = await http.get(
                css_url.group(1), headers={"If-None-Match": css.headers["etag"]}
            )
            listing = await http.get("/files/")
            archive = await http.get("/files/archive.tar.gz")
            escape = await http.get("/files/%2e%2e/%2e%2e/etc/passwd")
            run.process.send_signal(signal.SIGINT)
            await run.finish()
    assert css_url.group(1).startswith("/files/style.css?v=")
    assert css.text == "h1 { color: teal; }\n"
    assert cached.status_code == 304
    assert 'href="/files/docs">docs/</a>' in listing.text
    assert "content-encoding" not in archive.headers
    assert archive.headers["content-type"] == "application/gzip"
    assert escape.status_code in (403, 404)


async def test_sse_example_streams_events_as_they_come_and_ends_them_on_stop() -> None:
    events: list[str] = []
    with trio.fail_after(TIMEOUT):
        async with example(*script("sse")) as run, httpx.AsyncClient(base_url=run.url) as http:
            async with http.stream("GET", "/clock", params={"interval": "0.1"}) as response:
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        events.append(line)
                        if len(events) == 3:
                            started = trio.current_time()
                            run.process.send_signal(signal.SIGINT)  # a graceful stop
                    if line == "event: bye":
                        events.append(line)
            code = await run.finish()
            took = trio.current_time() - started
    assert response.headers["content-type"] == "text/event-stream"
    assert events[:3] == ["id: 0", "id: 1", "id: 2"]
    assert events[-1] == "event: bye"
    assert code == 0
    assert took < 5  # the streams ended themselves: the 60 s shutdown_timeout was not waited
