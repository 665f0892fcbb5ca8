"""Soak with faults: mixed, hostile load for a while, then check that nothing leaked.

What it does
------------
Serves an app in this process (handlers that answer, raise, sleep, stream
and echo; a counting actor behind a mailbox route, under ``supervise``),
warms it up, takes a baseline of its open file descriptors, trio tasks and
RSS, and runs ``--clients`` client processes (``benchmarks/soak_client.py``)
for ``--seconds``: keep-alive and pipelined requests, handlers that raise,
sleep or stream, clients that vanish mid-head, mid-body and mid-response,
slow readers, oversized bodies, malformed requests, and increments of the
counting actor, some of which crash it. Then it lets the server settle and
takes the same figures again.

It passes when every action got the class of answer it must, the counting
actor's total equals the increments the clients saw acknowledged, and the
file descriptors and tasks are back where they were and RSS within
``RSS_BOUND_MIB``. ``tests/test_soak.py`` runs a short soak on both
transports; this script runs a long one and prints the figures::

    .venv/bin/python benchmarks/soak.py                      # 5 minutes, httptools
    .venv/bin/python benchmarks/soak.py --seconds 60 --transport hypercorn --clients 3
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from os.path import abspath, dirname
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where benchmarks/http.py
# would shadow the standard library's http; the repository root goes there instead.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import trio

from actorhttp import (
    Application,
    Request,
    Response,
    RestartBudget,
    StreamResponse,
    json_response,
    serve,
    supervise,
)
from actorhttp.messages import TransportName
from benchmarks.soak_client import REQUESTS_PER_ACTION

ROOT = Path(__file__).resolve().parent.parent
RSS_BOUND_MIB = 16.0
SETTLE_SECONDS = 10.0
BIG = 4 * 1024 * 1024
STREAM_CHUNK = 16 * 1024


@dataclass
class Snapshot:
    """What the server process holds at one moment."""

    fds: int
    tasks: int
    rss_mib: float


@dataclass
class SoakReport:
    """The soak's figures, and whether they pass."""

    seconds: float
    transport: str
    clients: int
    before: Snapshot
    after: Snapshot
    actions: Counter[str] = field(default_factory=Counter)
    faults: int = 0
    acked_increments: int = 0
    counted: int = 0
    unexpected: list[str] = field(default_factory=list)
    logged: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        """Requests sent, whole or cut short (an action may send several)."""
        return sum(n * REQUESTS_PER_ACTION.get(name, 1) for name, n in self.actions.items())

    def problems(self) -> list[str]:
        """What is wrong, in words; empty when the soak passed."""
        found = list(self.unexpected)
        found += [
            f"logged: {what} ({n}x)" for what, n in self.logged.items() if not _expected(what)
        ]
        if self.counted != self.acked_increments:
            found.append(
                f"the counting actor counted {self.counted}, "
                f"the clients saw {self.acked_increments} acknowledged"
            )
        if self.after.fds > self.before.fds:
            found.append(f"file descriptors: {self.before.fds} before, {self.after.fds} after")
        if self.after.tasks > self.before.tasks:
            found.append(f"trio tasks: {self.before.tasks} before, {self.after.tasks} after")
        if self.after.rss_mib - self.before.rss_mib > RSS_BOUND_MIB:
            found.append(
                f"RSS grew {self.after.rss_mib - self.before.rss_mib:.1f} MiB "
                f"(bound {RSS_BOUND_MIB:g})"
            )
        return found

    def table(self) -> str:
        b, a = self.before, self.after
        rows = [
            "| figure | before | after |",
            "|---|---|---|",
            f"| open file descriptors | {b.fds} | {a.fds} |",
            f"| trio tasks | {b.tasks} | {a.tasks} |",
            f"| RSS (MiB) | {b.rss_mib:.1f} | {a.rss_mib:.1f} |",
        ]
        actions = ", ".join(f"{name} {n}" for name, n in sorted(self.actions.items()))
        return "\n".join(
            [
                f"soak: {self.seconds:g} s, {self.clients} client processes, "
                f"{self.transport} transport",
                f"requests: {self.requests}; actions: {sum(self.actions.values())} ({actions})",
                f"faults injected: {self.faults}",
                f"counting actor: {self.counted} counted, {self.acked_increments} acknowledged",
                f"unexpected outcomes: {len(self.unexpected)}",
                "errors logged: "
                + (", ".join(f"{what!r} {n}" for what, n in self.logged.most_common()) or "none"),
                "",
                *rows,
            ]
        )


def snapshot() -> Snapshot:
    """File descriptors, trio tasks and RSS of this process, after a full collection.

    glibc keeps freed memory for reuse (a 4 MiB body freed moves its mmap
    threshold up, and the next ones come from the heap): ``malloc_trim``
    hands it back, so that RSS shows what is held, not what was once used.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: RSS includes the allocator's reserve
    fds = len(os.listdir("/proc/self/fd"))
    rss = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    root = trio.lowlevel.current_root_task()
    return Snapshot(fds, _count_tasks(root) if root is not None else 0, rss)


# What the soak's own faults make the server log; anything else logged at ERROR is a problem.
EXPECTED_LOGS = (
    "Error handling request GET /raise",  # the handler that raises
    "the counting actor died",  # a boom
    "Error handling request POST /count",  # the boom's request: its reply closed unanswered
)


def _expected(what: str) -> bool:
    return what.startswith(EXPECTED_LOGS)


class _Tally(logging.Handler):
    """Counts ERROR records by their message's first line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.seen[record.getMessage().splitlines()[0][:120]] += 1


def _count_tasks(task: trio.lowlevel.Task) -> int:
    return 1 + sum(
        _count_tasks(child) for nursery in task.child_nurseries for child in nursery.child_tasks
    )


def soak_app(total: list[int], inbox: trio.MemorySendChannel[Request]) -> Application:
    """The soak's server: each route is one kind of load (see soak_client)."""

    async def hello(request: Request) -> Response:
        return Response(text="hello")

    async def raises(request: Request) -> Response:
        raise RuntimeError("a handler that raises (soak)")

    async def sleeps(request: Request) -> Response:
        await trio.sleep(0.02)
        return Response(text="slept")

    async def stream(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        for _ in range(16):
            await response.write(b"s" * STREAM_CHUNK)
        await response.write_eof()
        return response

    async def big(request: Request) -> Response:
        return Response(body=b"b" * BIG)

    async def echo(request: Request) -> Response:
        return Response(body=await request.read())

    app = Application(handler_timeout=30)
    app.router.add_get("/hello", hello)
    app.router.add_get("/raise", raises)
    app.router.add_get("/sleep", sleeps)
    app.router.add_get("/stream", stream)
    app.router.add_get("/big", big)
    app.router.add_post("/echo", echo)
    app.router.add_post("/count", inbox)
    return app


async def counting_actor(inbox: trio.abc.ReceiveChannel[Request], total: list[int]) -> None:
    """Adds ``?n=`` to ``total`` and answers the new total; ``?n=boom`` kills it (a fault)."""
    async for request in inbox:
        if request.query.get("n") == "boom":
            raise RuntimeError("the counting actor met a boom (soak)")
        total[0] += int(request.query["n"])
        await request.reply.send(json_response({"total": total[0]}))


async def _clients(
    port: int, seconds: float, clients: int, min_actions: int = 0
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in range(clients)]

    async def one(index: int) -> None:
        done = await trio.run_process(
            [
                sys.executable,
                "-m",
                "benchmarks.soak_client",
                str(port),
                str(seconds),
                str(index),
                str(min_actions),
            ],
            cwd=ROOT,
            capture_stdout=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        results[index] = json.loads(done.stdout)

    async with trio.open_nursery() as nursery:
        for index in range(clients):
            nursery.start_soon(one, index)
    return results


async def run_soak(
    seconds: float,
    *,
    clients: int = 3,
    transport: TransportName = "httptools",
    min_actions: int = 0,
) -> SoakReport:
    """Serve, warm up, soak for ``seconds`` with ``clients`` processes, settle, measure.

    Each client process goes on past ``seconds`` until it has done ``min_actions``
    actions (at most ten times ``seconds``), so a test's volume does not hang on the
    machine's speed.
    """
    total = [0]
    send, receive = trio.open_memory_channel[Request](64)
    app = soak_app(total, send)
    tally = _Tally()
    log = logging.getLogger("actorhttp")
    log.addHandler(tally)
    propagate, log.propagate = log.propagate, False  # counted, not printed
    try:
        return await _soak(
            app, total, send, receive, tally, seconds, clients, transport, min_actions
        )
    finally:
        log.removeHandler(tally)
        log.propagate = propagate


async def _soak(
    app: Application,
    total: list[int],
    send: trio.MemorySendChannel[Request],
    receive: trio.MemoryReceiveChannel[Request],
    tally: _Tally,
    seconds: float,
    clients: int,
    transport: TransportName,
    min_actions: int,
) -> SoakReport:
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: supervise(
                lambda inbox: counting_actor(inbox, total),
                receive,
                budget=RestartBudget(max_restarts=10_000, within=60),
                name="the counting actor",
                task_status=task_status,
            )
        )
        server = await nursery.start(
            lambda task_status: serve(
                app,
                "127.0.0.1",
                0,
                transport=transport,
                keep_alive_timeout=1,
                task_status=task_status,
            )
        )
        await _clients(server.port, 1.0, 1)  # warm-up: first-use imports and buffers
        await _settle()
        before = snapshot()
        counted_before = total[0]
        results = await _clients(server.port, seconds, clients, min_actions)
        await _settle()
        after = snapshot()
        report = SoakReport(seconds, transport, clients, before, after)
        report.counted = total[0] - counted_before
        report.logged = tally.seen
        for result in results:
            report.actions.update(result["actions"])
            report.faults += result["faults"]
            report.acked_increments += result["acked_increments"]
            report.unexpected += result["unexpected"]
        await server.stop(grace=5)
        await send.aclose()
        nursery.cancel_scope.cancel()
    return report


async def _settle() -> None:
    """Let connections the clients left (keep-alive, lingering) close, for a bounded time."""
    with trio.move_on_after(SETTLE_SECONDS):
        baseline = snapshot().fds
        while True:
            await trio.sleep(1.5)  # keep-alive is 1 s: idle connections are gone by then
            now = snapshot().fds
            if now >= baseline:
                return
            baseline = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--transport", choices=["httptools", "hypercorn"], default="httptools")
    args = parser.parse_args()
    report = trio.run(
        lambda: run_soak(args.seconds, clients=args.clients, transport=args.transport)
    )
    print(report.table())
    problems = report.problems()
    for problem in problems:
        print("PROBLEM:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
