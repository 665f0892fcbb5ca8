"""WebSocket echo benchmark: actorhttp on both transports against aiohttp, in one run.

What it measures
----------------
Each server (``benchmarks/ws_servers.py KIND PORT``: the same echo handler,
written against aiohttp's API, under actorhttp's httptools transport, its
hypercorn transport, and aiohttp) is started fresh for each measurement. A
load generator in a separate process (this script with ``--client``, an
aiohttp client) opens C connections and, on each, keeps W small TEXT
messages in flight until N have been echoed back (each echo is checked).

* **messages/s**: echoes completed per second of wall time (C x N / elapsed).
  One message is one round trip: the server receives it and sends it back.
* **CPU us/msg**: the server process's utime+stime (``/proc/PID/stat``), read
  just before and just after the measured run, divided by the echoes. It
  does not count time the server spent waiting for a CPU, so it is the
  steadier figure; its resolution is one clock tick (usually 10 ms) over
  the whole run.

With 2+ CPUs the server is pinned to one CPU and the load generator to
another (``taskset -c``). Each measurement is preceded by a warm-up run
(discarded). Rounds are interleaved (every server once per round, the order
rotated each round); the table shows medians over rounds, and ratios to
aiohttp computed within each round, then their median.

How to run (from the repository root)
-------------------------------------
::

    .venv/bin/python benchmarks/websocket.py           # 3 rounds, 16 connections x 20,000
    .venv/bin/python benchmarks/websocket.py --quick   # smoke test: 1 round, 16 x 500
    .venv/bin/python benchmarks/websocket.py --output benchmarks/RESULTS-websocket.md

The Markdown table goes to stdout (and to ``--output`` with machine information);
progress goes to stderr. The exit status is 1 if any measurement failed.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Running this as a script puts its folder first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` package. Put the repository root there
# instead: this script uses benchmarks.http's helpers.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path[0] = dirname(dirname(abspath(__file__)))

import argparse
import asyncio
import datetime
import importlib.metadata
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.http import (
    Endpoint,
    Pinning,
    ServerFailed,
    choose_pinning,
    cpu_seconds,
    failure_log,
    log,
    report_failure,
    running_server,
)
from benchmarks.ws_servers import HELLO, KINDS

HERE = Path(__file__).resolve().parent
WS_SERVERS_PY = HERE / "ws_servers.py"
CHECK = Endpoint("hello", "/hello", HELLO.encode())
CLIENT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Load:
    connections: int
    messages: int  # per connection
    size: int  # bytes of each TEXT message
    window: int  # messages in flight per connection

    def args(self) -> list[str]:
        return [
            f"--connections={self.connections}",
            f"--messages={self.messages}",
            f"--size={self.size}",
            f"--window={self.window}",
        ]


# --- the load generator (a separate process) ---------------------------------------------


async def generate(url: str, load: Load) -> dict[str, float]:
    """Run ``load`` against ``url``; the echoes completed and the seconds they took."""
    import aiohttp

    payload = "x" * load.size

    async def converse(ws: aiohttp.ClientWebSocketResponse) -> None:
        sent = received = 0
        while sent < min(load.window, load.messages):
            await ws.send_str(payload)
            sent += 1
        while received < load.messages:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT or message.data != payload:
                raise RuntimeError(f"bad echo: {message.type} {str(message.data)[:80]!r}")
            received += 1
            if sent < load.messages:
                await ws.send_str(payload)
                sent += 1

    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(url) for _ in range(load.connections)]
        start = time.perf_counter()
        await asyncio.gather(*(converse(ws) for ws in sockets))
        elapsed = time.perf_counter() - start
        for ws in sockets:
            await ws.close()
    return {"messages": load.connections * load.messages, "seconds": elapsed}


def run_client(url: str, load: Load, pinning: Pinning) -> dict[str, float]:
    """The load generator as a subprocess (pinned to the client CPU); its JSON result."""
    command = [*pinning.wrk_prefix(), sys.executable, __file__, "--client", url, *load.args()]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Measurement:
    kind: str
    messages: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / self.messages * 1e6


def measure(kind: str, load: Load, warmup: Load, pinning: Pinning) -> Measurement:
    with running_server(kind, pinning, CHECK, script=WS_SERVERS_PY) as server:
        url = f"ws://127.0.0.1:{server.port}/ws"
        run_client(url, warmup, pinning)
        pid = server.pid
        before = cpu_seconds(pid)
        result = run_client(url, load, pinning)
        after = cpu_seconds(pid)
        if not server.alive():
            raise ServerFailed("the server died during the run", server.log_path)
    return Measurement(kind, int(result["messages"]), result["seconds"], after - before)


def run_rounds(
    kinds: Sequence[str], rounds: int, load: Load, warmup: Load, pinning: Pinning
) -> tuple[list[dict[str, Measurement]], list[str]]:
    results: list[dict[str, Measurement]] = []
    failures: list[str] = []
    for number in range(rounds):
        order = list(kinds[number % len(kinds) :]) + list(kinds[: number % len(kinds)])
        this_round: dict[str, Measurement] = {}
        for kind in order:
            log(f"round {number + 1}/{rounds}: {kind}")
            try:
                m = this_round[kind] = measure(kind, load, warmup, pinning)
            except (ServerFailed, RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                failures.append(report_failure(kind, "echo", error, failure_log(error, None)))
                continue
            log(f"  {m.per_second:,.0f} messages/s, {m.cpu_us:.1f} us CPU/message")
        results.append(this_round)
    return results, failures


def median_ratio(results: list[dict[str, Measurement]], kind: str, attribute: str) -> float | None:
    ratios = [
        getattr(r[kind], attribute) / getattr(r["aiohttp"], attribute)
        for r in results
        if kind in r and "aiohttp" in r
    ]
    return statistics.median(ratios) if ratios else None


def table(kinds: Sequence[str], results: list[dict[str, Measurement]]) -> str:
    """The Markdown table: medians over rounds, and ratios to aiohttp (within each round)."""
    lines = [
        "| server | messages/s | CPU us/message | messages/s vs aiohttp | CPU vs aiohttp |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in kinds:
        measured = [r[kind] for r in results if kind in r]
        if not measured:
            lines.append(f"| {kind} | failed | failed | | |")
            continue
        rate = statistics.median(m.per_second for m in measured)
        cpu = statistics.median(m.cpu_us for m in measured)
        rate_ratio = median_ratio(results, kind, "per_second")
        cpu_ratio = median_ratio(results, kind, "cpu_us")
        lines.append(
            f"| {kind} | {rate:,.0f} | {cpu:.1f} | "
            f"{'' if rate_ratio is None else f'{rate_ratio:.2f}x'} | "
            f"{'' if cpu_ratio is None else f'{cpu_ratio:.2f}x'} |"
        )
    return "\n".join(lines)


def note(pinning: Pinning) -> str:
    """The pinning note, naming our load generator where benchmarks/http.py's names wrk."""
    return pinning.note.replace("wrk", "the load generator")


def machine(pinning: Pinning, load: Load, rounds: int) -> str:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("trio", "hypercorn", "wsproto", "aiohttp")
    )
    cpu = " ".join(filter(None, (platform.machine(), platform.processor())))
    return (
        f"{datetime.date.today()}, Python {platform.python_version()}, {versions}; "
        f"{cpu}; {note(pinning)}; "
        f"{rounds} round(s) of {load.connections} connections x {load.messages} messages of "
        f"{load.size} bytes, {load.window} in flight per connection"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 16 x 500 messages")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--messages", type=int, default=20_000, help="per connection")
    parser.add_argument("--size", type=int, default=32, help="bytes per message")
    parser.add_argument("--window", type=int, default=8, help="messages in flight per socket")
    parser.add_argument("--only", help="comma-separated server kinds")
    parser.add_argument("--output", type=Path, help="also write the table here")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds, messages = (1, 500) if args.quick else (args.rounds, args.messages)
    load = Load(args.connections, messages, args.size, args.window)
    if args.client:
        print(json.dumps(asyncio.run(generate(args.client, load))))
        return 0
    kinds = [k for k in KINDS if args.only is None or k in args.only.split(",")]
    pinning = choose_pinning()
    log(note(pinning))
    warmup = Load(load.connections, max(100, messages // 10), load.size, load.window)
    results, failures = run_rounds(kinds, rounds, load, warmup, pinning)
    report = table(kinds, results)
    print(report)
    if args.output is not None:
        args.output.write_text(
            f"# WebSocket echo\n\n{machine(pinning, load, rounds)}\n\n{report}\n"
            + "".join(f"\nFailed: {failure}\n" for failure in failures)
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
