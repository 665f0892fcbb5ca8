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
            run.process.send_signal(signal.SIGINT)
            code = await run.finish()
    assert [r.json()["count"] for r in (first, second, other, after)] == [1, 2, 1, 1]
    assert refused.status_code == 403  # the middleware answered; the actor never saw it
    assert reset.status_code == 204
    assert first.headers["x-served-by"] == reset.headers["x-served-by"] == "counter-actor"
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
