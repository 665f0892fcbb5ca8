"""What the broker costs: a room's fan-out across workers, and requests to a named actor.

What it measures
----------------
1. **Fan-out.** One message published to a room with N WebSocket members
   (1,000 by default): the time until the *last* member has it (p50 and p99
   over the rounds) and the server CPU per delivered message (utime+stime
   of every server process, from ``/proc``, over the rounds). Two setups,
   side by side in one run: the room in one process with the in-process
   broker, and the room over 2 worker processes (``--workers 2``) sharing a
   real redis-server (Redis's own CPU is shown apart). The members and the
   speaker are one client process (``websockets``, no compression), which
   stamps each arrival, so its own time to read N messages is in both
   latencies alike.
2. **A named actor from another worker.** Two servers sharing the Redis:
   server A holds the named actor; ``wrk`` loads server B, whose requests
   are forwarded to A and answered back, against the same requests to a
   mailbox route local to B. Requests per second, and CPU per request of
   both servers together.

The servers run on the first CPU (``taskset``), the clients, wrk and
redis-server on the second, when there are two. The app is this module's
``app`` (``python -m actorhttp benchmarks.broker:app``).

How to run (from the repository root; needs redis-server and wrk)
------------------------------------------------------------------
::

    flock /work/bench.lock .venv/bin/python benchmarks/broker.py           # the table
    .venv/bin/python benchmarks/broker.py --quick                           # a smoke run
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)  # benchmarks/http.py would shadow the standard library's http
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trio

from actorhttp import Application, Request, Room, json_response, open_room
from actorhttp.messages import WebSocketConnection
from benchmarks.http import Pinning as _Pinning
from benchmarks.http import children, cpu_seconds, free_port, log, run_wrk, stop_process

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "bench:room"


# --- the app the servers run ------------------------------------------------------------------


async def room(inbox: trio.abc.ReceiveChannel[WebSocketConnection]) -> None:
    """A room per worker: what a member says reaches every other member, on every worker."""
    async with open_room(app.broker, TOPIC) as here, trio.open_nursery() as members:
        async for connection in inbox:
            members.start_soon(member, here, connection)


async def member(here: Room, connection: WebSocketConnection) -> None:
    async with connection.outbox, here.join(connection, "m") as me:
        connection.outbox.send_nowait("joined")
        async for message in connection.inbox:
            await here.publish(message.data, sender=me)


async def counter(inbox: trio.abc.ReceiveChannel[Request]) -> None:
    count = 0
    async for request in inbox:
        async with request.reply:
            count += 1
            await request.reply.send(json_response({"count": count}))


app = Application()
app.router.add_websocket("/ws", app.add_actor(room), outbox_size=64)
app.router.add_get("/named", app.add_actor(counter, cluster_name="bench-counter"))
app.router.add_get("/local", app.add_actor(counter, mailbox_size=64))


# --- processes ---------------------------------------------------------------------------------


class Redis:
    def __init__(self, cpu: int | None) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        prefix = [] if cpu is None else ["taskset", "-c", str(cpu)]
        self.process = subprocess.Popen(
            [
                *(*prefix, "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.3)

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)


@contextlib.contextmanager
def server(scratch: Path, cpu: int | None, *args: str) -> Iterator[tuple[str, list[int]]]:
    """``python -m actorhttp benchmarks.broker:app ARGS`` on a free port: its URL and pids."""
    port = free_port()
    out = scratch / f"server-{port}.txt"
    prefix = [] if cpu is None else ["taskset", "-c", str(cpu)]
    with out.open("w") as sink:
        process = subprocess.Popen(
            [
                *(*prefix, sys.executable, "-m", "actorhttp", "benchmarks.broker:app"),
                *("--port", str(port), "--no-access-log", "--log-level", "warning", *args),
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Running on" not in out.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{out.read_text()}")
            time.sleep(0.05)
        pids = children(process.pid) or [process.pid]
        yield f"http://127.0.0.1:{port}", pids
    finally:
        stop_process(process)


# --- the members' client -----------------------------------------------------------------------


async def members_client(url: str, count: int, rounds: int) -> list[float]:
    """``count`` members and a speaker on ``url``; per round, seconds until the last has it."""
    import websockets

    ws = url.replace("http://", "ws://") + "/ws"
    arrivals: list[list[float]] = [[] for _ in range(rounds)]
    all_in = [asyncio.Event() for _ in range(rounds)]
    sockets = []
    for _ in range(count):
        # No permessage-deflate: zlib per socket would weigh alike in both setups and hide
        # what the delivery itself costs.
        sock = await websockets.connect(ws, max_queue=None, ping_interval=None, compression=None)
        assert await sock.recv() == "joined"
        sockets.append(sock)

    async def read(sock: websockets.ClientConnection) -> None:
        async for message in sock:
            n = int(str(message)[1:])
            arrivals[n].append(time.perf_counter())
            if len(arrivals[n]) == count:
                all_in[n].set()

    readers = [asyncio.create_task(read(sock)) for sock in sockets]
    speaker = await websockets.connect(ws, ping_interval=None, compression=None)
    assert await speaker.recv() == "joined"
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    latencies = []
    for n in range(rounds):
        sent = time.perf_counter()
        await speaker.send(f"r{n}")
        await asyncio.wait_for(all_in[n].wait(), 30)
        latencies.append(max(arrivals[n]) - sent)
        await asyncio.sleep(0.02)
    for task in readers:
        task.cancel()
    for sock in [*sockets, speaker]:
        await sock.close()
    return latencies


def fan_out(
    url: str, pids: list[int], redis: Redis | None, args: argparse.Namespace, cpu: int | None
) -> dict[str, float]:
    """Run the members' client against ``url``; latencies and CPU per delivered message."""
    count, rounds = args.members, args.rounds
    prefix = [] if cpu is None else ["taskset", "-c", str(cpu)]
    client = subprocess.Popen(
        [*prefix, sys.executable, __file__, "members", url, str(count), str(rounds)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdin is not None
    assert client.stdout is not None
    if client.stdout.readline().strip() != "ready":
        raise RuntimeError("the members' client did not start")
    before = sum(cpu_seconds(pid) for pid in pids)
    redis_before = redis.cpu() if redis is not None else 0.0
    client.stdin.write("go\n")
    client.stdin.flush()
    latencies = json.loads(client.stdout.readline())
    spent = sum(cpu_seconds(pid) for pid in pids) - before
    redis_spent = redis.cpu() - redis_before if redis is not None else 0.0
    client.wait(timeout=60)
    delivered = count * rounds
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "cpu": spent / delivered * 1e6,
        "redis": redis_spent / delivered * 1e6,
    }


def fan_out_table(scratch: Path, redis: Redis, args: argparse.Namespace, cpus: Cpus) -> None:
    rows = []
    with server(scratch, cpus.server) as (url, pids):
        log(f"fan-out: {args.members} members, one process, in-process broker")
        rows.append(("1 process, in-process broker", fan_out(url, pids, None, args, cpus.load)))
    with server(scratch, cpus.server, "--workers", "2", "--broker", redis.url) as (url, pids):
        log(f"fan-out: {args.members} members, 2 workers, Redis")
        rows.append(("2 workers, Redis", fan_out(url, pids, redis, args, cpus.load)))
    print(f"Fan-out: one message to a room of {args.members} WebSocket members, ", end="")
    print(f"{args.rounds} rounds\n")
    print(
        "| setup | last member has it, p50 ms | p99 ms | server CPU us / delivered message ", end=""
    )
    print("| Redis CPU us / message |\n|---|---|---|---|---|")
    for name, row in rows:
        print(f"| {name} | {row['p50']:.1f} | {row['p99']:.1f} | {row['cpu']:.1f} ", end="")
        print(f"| {row['redis']:.2f} |")
    one, two = rows[0][1], rows[1][1]
    print(
        f"\nRatios (2 workers + Redis / one process): p50 {_ratio(two['p50'], one['p50'])}, "
        f"CPU per message {_ratio(two['cpu'], one['cpu'])}"
    )


def _ratio(a: float, b: float) -> str:
    """``a / b`` as ``1.23x``; "n/a" when ``b`` is 0 (a run too short for the CPU clock's ticks)."""
    return f"{a / b:.2f}x" if b else "n/a"


def named_table(scratch: Path, redis: Redis, args: argparse.Namespace, cpus: Cpus) -> None:
    pinning = _Pinning(cpus.server, cpus.load, "")
    results: dict[str, list[tuple[float, float]]] = {}
    with (
        server(scratch, cpus.server, "--broker", redis.url) as (_, pids_a),
        server(scratch, cpus.server, "--broker", redis.url) as (url_b, pids_b),
    ):
        pids = pids_a + pids_b  # A started first: it holds the named actor
        for route in ("local", "named") * (1 if args.quick else 2):  # interleaved
            if not args.quick:
                run_wrk(f"{url_b}/{route}", 1, pinning)  # warm-up, not counted
            before = sum(cpu_seconds(p) for p in pids)
            result = run_wrk(f"{url_b}/{route}", args.duration, pinning)
            spent = sum(cpu_seconds(p) for p in pids) - before
            if result.error_count:
                raise RuntimeError(f"wrk saw errors on /{route}: {result.errors}")
            results.setdefault(route, []).append(
                (result.requests_per_s, spent / result.requests * 1e6)
            )
            log(f"/{route}: {result.requests_per_s:,.0f} req/s")
    print("\nRequests to an actor, wrk -c64 on server B\n")
    print("| route on server B | req/s | CPU us / request (A + B) |\n|---|---|---|")
    names = {"local": "mailbox route, actor local to B", "named": "named actor held by server A"}
    rates = {}
    for route in ("local", "named"):
        rates[route] = statistics.median(r for r, _ in results[route])
        cpu = statistics.median(c for _, c in results[route])
        print(f"| {names[route]} | {rates[route]:,.0f} | {cpu:.0f} |")
    ratio = _ratio(rates["named"], rates["local"])
    print(f"\nRatio: named actor from another worker / local mailbox route: {ratio}")


@dataclass(frozen=True)
class Cpus:
    server: int | None
    load: int | None


def main(argv: list[str]) -> int:
    if argv[:1] == ["members"]:
        url, count, rounds = argv[1], int(argv[2]), int(argv[3])
        print(json.dumps(asyncio.run(members_client(url, count, rounds))), flush=True)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="20 members, 3 rounds, 1 s of wrk")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        args.members, args.rounds, args.duration = 20, 3, 1
    for tool in ("redis-server", "wrk"):
        if shutil.which(tool) is None:
            log(f"{tool} is not installed (scripts/test.sh installs it with apt-get as root)")
            return 2
    available = sorted(os.sched_getaffinity(0))
    cpus = Cpus(available[0], available[1]) if len(available) > 1 else Cpus(None, None)
    scratch = Path(tempfile.mkdtemp())
    redis = Redis(cpus.load)
    try:
        fan_out_table(scratch, redis, args, cpus)
        named_table(scratch, redis, args, cpus)
    finally:
        stop_process(redis.process)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
