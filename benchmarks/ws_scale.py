"""WebSockets at scale: idle sockets in one room, broadcasts, echo; actorhttp against aiohttp.

What it measures
----------------
Three servers (``benchmarks/ws_scale_servers.py KIND PORT``): actorhttp with its
WebSocket routes served by actors (``actorhttp-actor``: a room actor as
``examples/chat.py`` has), actorhttp running aiohttp's handler code
(``actorhttp-handler``), and aiohttp running that same code (``aiohttp``). Each
server process is pinned to one CPU and the client to the other (``taskset``).
The client is this script with ``--client``: one asyncio process of bare
``asyncio.Protocol`` sockets (a handshake, zero masks, a frame reader of a few
lines), driven over its stdin. It never limits a broadcast or the echo; opening
sockets (asyncio's ``create_connection``) costs it 0.3 to 0.6 ms of CPU each,
about what a server spends accepting one, so the accept times are near what it
can open, and the server's CPU accepting them is the sharper comparison.

For each number of sockets N (1,000, 5,000 and 10,000), on a fresh server:

* **accepting N**: the wall time to open N WebSockets to ``/room`` (100
  handshakes in flight at a time), each counted once the room has welcomed it
  (a member is in the room: an actor gets the socket after the handshake's
  answer is out), and the server's CPU time meanwhile;
* **memory per socket**: the server's RSS after the N opened (and a second to
  settle) minus its RSS before, divided by N;
* **idle CPU**: the server's CPU time over :data:`IDLE_SECONDS` with all N open
  and nobody talking, as a share of one core;
* **broadcast**: one member sends a 32-byte TEXT message; the room sends it to
  every other member (N - 1 delivered messages). The client waits until every
  member has it, then the next broadcast starts (:func:`broadcasts_for` of
  them). **Server CPU per delivered message** is the server's CPU time over the
  broadcasts divided by the messages delivered; **first** and **last member
  hears it** are the medians, over the broadcasts, of the time from the send to
  the first and the last member receiving it;
* **stop with N open**: SIGTERM to the server; the wall time until the
  client has seen every socket closed by the server (each server closes the
  open sockets with 1001, and the client answers the close frames), and
  until the server's process has exited (its interpreter's teardown too).
  Each server closes them as its documentation says: aiohttp in
  ``on_shutdown`` (a loop closing each in turn, each waiting for its
  client's answer), actorhttp by itself (the server closes every open
  WebSocket with 1001 once ``on_shutdown`` has run; the room actor, told by
  its mailbox closing first, does it too).

Then **echo**, on a fresh server with nothing else open: 16 connections to
``/echo``, 8 messages of 32 bytes in flight on each, 20,000 messages per
connection: messages/s (echoes per second of wall time) and the server's CPU
time per message.

CPU time is the sum over the server's threads of ``/proc/PID/task/*/schedstat``
(nanoseconds on a CPU, user and system), read just before and just after each
phase. Rounds are interleaved (each server once per round, the order rotated
each round); tables show medians over rounds, and ratios to aiohttp computed
within each round, then their median.

How to run (from the repository root)
-------------------------------------
::

    .venv/bin/python benchmarks/ws_scale.py                  # 3 rounds, 1k/5k/10k sockets
    .venv/bin/python benchmarks/ws_scale.py --quick          # smoke test: 1 round, 200 sockets
    .venv/bin/python benchmarks/ws_scale.py --sizes 10000 --rounds 1 --only actorhttp-actor,aiohttp
    .venv/bin/python benchmarks/ws_scale.py --echo-only --only actorhttp-actor,aiohttp
    .venv/bin/python benchmarks/ws_scale.py --output benchmarks/RESULTS-ws-scale.md

Wrap runs in ``flock /work/bench.lock`` on a shared machine. The Markdown tables
go to stdout (and to ``--output`` with machine information); progress goes to
stderr. The exit status is 1 if any measurement failed.
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
import base64
import datetime
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.http import (
    Endpoint,
    Pinning,
    RunningServer,
    ServerFailed,
    choose_pinning,
    failure_log,
    log,
    raise_nofile_limit,
    report_failure,
    running_server,
    status_kib,
)
from benchmarks.ws_scale_servers import HELLO, HOST, KINDS

HERE = Path(__file__).resolve().parent
SERVERS_PY = HERE / "ws_scale_servers.py"
CHECK = Endpoint("hello", "/hello", HELLO.encode())
BASELINE = "aiohttp"
SIZES = (1_000, 5_000, 10_000)
OPEN_WINDOW = 100  # handshakes in flight at a time (every server's listen backlog is 128)
IDLE_SECONDS = 5.0
SETTLE_SECONDS = 1.0
STOP_TIMEOUT = 60.0
PHASE_TIMEOUT = 300.0
MESSAGE = 32  # bytes in every message sent


def broadcasts_for(sockets: int) -> int:
    """Broadcasts measured at ``sockets``: about 200,000 delivered messages, 10 at least."""
    return max(10, 200_000 // sockets)


# --- the client (a separate process, asyncio) -------------------------------------------


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, ``opcode``, masked with a zero key (the payload as it is)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 0x10000:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


def handshake(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode("ascii")


class Hub:
    """What the client's sockets report to: the broadcast being waited for, closes seen."""

    def __init__(self) -> None:
        self.token = b""
        self.expected = 0
        self.heard = 0
        self.first = 0.0
        self.last = 0.0
        self.done: asyncio.Future[None] | None = None
        self.closes: dict[int, int] = {}  # close code -> how many sockets got it
        self.lost = 0
        self.last_lost = 0.0

    def expect(self, token: bytes, count: int) -> asyncio.Future[None]:
        self.token, self.expected, self.heard = token, count, 0
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def message(self, member: Member, payload: bytes) -> None:
        if payload == self.token:
            self.heard += 1
            if self.heard == 1:
                self.first = time.perf_counter()
            if self.heard == self.expected:
                self.last = time.perf_counter()
                if self.done is not None and not self.done.done():
                    self.done.set_result(None)


class Echo:
    """One echo run: each socket keeps ``window`` messages in flight until ``messages`` came."""

    def __init__(self, messages: int, window: int, payload: bytes) -> None:
        self.messages = messages
        self.window = window
        self.frame = client_frame(1, payload)
        self.payload = payload
        self.sent: dict[Member, int] = {}
        self.received: dict[Member, int] = {}
        self.unfinished = 0
        self.done = asyncio.get_running_loop().create_future()
        self.error: str | None = None

    def start(self, members: list[Member]) -> None:
        self.unfinished = len(members)
        for member in members:
            member.echo = self
            count = min(self.window, self.messages)
            self.sent[member] = count
            self.received[member] = 0
            member.transport.write(self.frame * count)

    def answered(self, member: Member, payload: bytes) -> bool:
        """One echo came back; True if another message is to be sent for it."""
        if payload != self.payload and self.error is None:
            self.error = f"bad echo {payload[:40]!r}"
        received = self.received[member] = self.received[member] + 1
        if self.sent[member] < self.messages:
            self.sent[member] += 1
            return True
        if received == self.messages:
            self.unfinished -= 1
            if self.unfinished == 0 and not self.done.done():
                self.done.set_result(None)
        return False


class Member(asyncio.Protocol):
    """One WebSocket: the handshake, then the server's frames, read as they come."""

    def __init__(self, hub: Hub, path: str) -> None:
        self.hub = hub
        self.path = path
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set at once
        self.buffer = b""
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.echo: Echo | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(handshake(self.path))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101 "):
                self.ready.set_exception(RuntimeError(f"refused: {buffer[:200]!r}"))
                self.transport.close()
                return
            self.upgraded = True
            if self.path != "/room":
                self.ready.set_result(None)  # a room member is ready once welcomed
            buffer = buffer[end + 4 :]
        pos, size = 0, len(buffer)
        echo, again = self.echo, 0
        while size - pos >= 2:
            first, length = buffer[pos], buffer[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            end = start + length
            if end > size:
                break
            opcode = first & 0x0F
            if opcode == 1 or opcode == 2:
                if not self.ready.done():
                    self.ready.set_result(None)  # the room's welcome
                elif echo is None:
                    self.hub.message(self, buffer[start:end])
                elif echo.answered(self, buffer[start:end]):
                    again += 1
            elif opcode == 8:
                payload = buffer[start:end]
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.hub.closes[code] = self.hub.closes.get(code, 0) + 1
                self.transport.write(client_frame(8, payload[:2]))  # the close handshake
            elif opcode == 9:
                self.transport.write(client_frame(0xA, buffer[start:end]))
            pos = end
        self.buffer = buffer[pos:]
        if again:  # the next echo messages, in one write
            assert echo is not None
            self.transport.write(echo.frame * again)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.lost += 1
        self.hub.last_lost = time.monotonic()  # the same clock in every process
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"lost before the handshake: {exc}"))
        if not self.gone.done():
            self.gone.set_result(None)


class Client:
    """The client process's state: its sockets, and the commands it runs for the benchmark."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.hub = Hub()
        self.members: list[Member] = []

    async def open(self, count: int, path: str) -> list[Member]:
        loop = asyncio.get_running_loop()
        window = asyncio.Semaphore(OPEN_WINDOW)
        opened: list[Member] = []

        async def one() -> None:
            async with window:
                _, member = await loop.create_connection(
                    lambda: Member(self.hub, path), HOST, self.port
                )
                await member.ready
                opened.append(member)

        await asyncio.gather(*(one() for _ in range(count)))
        return opened

    async def command(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "open":
            start = time.perf_counter()
            self.members += await self.open(request["count"], "/room")
            return {"seconds": time.perf_counter() - start, "open": len(self.members)}
        if op == "broadcast":
            return await self.broadcast(request["count"])
        if op == "echo":
            return await self.run_echo(request)
        if op == "gone":
            await asyncio.gather(*(m.gone for m in self.members))
            closes = {str(k): v for k, v in self.hub.closes.items()}
            return {"closes": closes, "last": self.hub.last_lost}
        raise ValueError(f"unknown command {op!r}")

    async def broadcast(self, count: int) -> dict[str, Any]:
        sender = self.members[0]
        firsts, lasts = [], []
        for number in range(count):
            token = f"broadcast {number}".encode().ljust(MESSAGE, b".")
            done = self.hub.expect(token, len(self.members) - 1)
            start = time.perf_counter()
            sender.transport.write(client_frame(1, token))
            await done
            firsts.append(self.hub.first - start)
            lasts.append(self.hub.last - start)
        return {"first": statistics.median(firsts), "last": statistics.median(lasts)}

    async def run_echo(self, request: dict[str, Any]) -> dict[str, Any]:
        members = await self.open(request["connections"], "/echo")
        echo = Echo(request["messages"], request["window"], b"e" * request["size"])
        start = time.perf_counter()
        echo.start(members)
        await echo.done
        seconds = time.perf_counter() - start
        for member in members:
            member.echo = None
            member.transport.write(client_frame(8, struct.pack("!H", 1000)))
        await asyncio.gather(*(m.gone for m in members))
        if echo.error is not None:
            raise RuntimeError(echo.error)
        return {"messages": request["messages"] * len(members), "seconds": seconds}


async def client_main(port: int) -> None:
    """Read one JSON command per line on stdin; answer one JSON line each on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    client = Client(port)
    while line := await reader.readline():
        request = json.loads(line)
        try:
            answer = await client.command(request)
        except Exception as exc:  # reported to the driver, which fails the measurement
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


# --- driving one server ---------------------------------------------------------------


def cpu_ns(pid: int) -> int:
    """Nanoseconds process ``pid`` has spent on a CPU, over its live threads (schedstat)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total


class ClientProcess:
    """The client subprocess, pinned to the client CPU, and its command channel."""

    def __init__(self, port: int, pinning: Pinning) -> None:
        command = [*pinning.wrk_prefix(), sys.executable, __file__, "--client", str(port)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the client exited ({self.process.wait()}) during {request}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"client: {answer['error']} (during {request['op']})")
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def server_and_client(kind: str, pinning: Pinning) -> Iterator[tuple[RunningServer, ClientProcess]]:
    with running_server(kind, pinning, CHECK, script=SERVERS_PY) as server:
        client = ClientProcess(server.port, pinning)
        try:
            yield server, client
        finally:
            client.close()


def timed(pid: int, run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """``run()``'s answer and the server's CPU seconds meanwhile."""
    before = cpu_ns(pid)
    answer = run()
    return answer, (cpu_ns(pid) - before) / 1e9


def idle_for(seconds: float) -> dict[str, Any]:
    time.sleep(seconds)
    return {}


@dataclass
class Scale:
    """One server at one number of sockets."""

    kind: str
    sockets: int
    open_seconds: float = 0.0
    open_cpu: float = 0.0
    rss_per_socket_kib: float = 0.0
    idle_share: float = 0.0  # of one core
    delivered: int = 0
    broadcast_cpu: float = 0.0
    first: float = 0.0
    last: float = 0.0
    stop_seconds: float = 0.0
    exit_seconds: float = 0.0
    closes: dict[str, int] = field(default_factory=dict)

    @property
    def cpu_us_per_delivered(self) -> float:
        return self.broadcast_cpu / self.delivered * 1e6


def measure_scale(kind: str, sockets: int, pinning: Pinning) -> Scale:
    result = Scale(kind, sockets)
    with server_and_client(kind, pinning) as (server, client):
        pid = server.pid
        before_kib = status_kib(pid, "VmRSS")
        answer, result.open_cpu = timed(pid, lambda: client.ask(op="open", count=sockets))
        result.open_seconds = answer["seconds"]
        time.sleep(SETTLE_SECONDS)
        result.rss_per_socket_kib = (status_kib(pid, "VmRSS") - before_kib) / sockets
        _, idle = timed(pid, lambda: idle_for(IDLE_SECONDS))
        result.idle_share = idle / IDLE_SECONDS
        count = broadcasts_for(sockets)
        answer, result.broadcast_cpu = timed(pid, lambda: client.ask(op="broadcast", count=count))
        result.delivered = count * (sockets - 1)
        result.first, result.last = answer["first"], answer["last"]
        if not server.alive():
            raise ServerFailed("the server died during the run", server.log_path)
        start = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        gone = client.ask(op="gone")  # every socket closed by the server
        result.stop_seconds = gone["last"] - start
        result.closes = gone["closes"]
        server.process.wait(timeout=STOP_TIMEOUT)
        result.exit_seconds = time.monotonic() - start
    return result


@dataclass
class EchoResult:
    kind: str
    messages: int
    seconds: float
    cpu: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.messages * 1e6


@dataclass(frozen=True)
class EchoLoad:
    connections: int = 16
    messages: int = 20_000
    window: int = 8
    size: int = MESSAGE

    def request(self, messages: int | None = None) -> dict[str, Any]:
        return {
            "op": "echo",
            "connections": self.connections,
            "messages": self.messages if messages is None else messages,
            "window": self.window,
            "size": self.size,
        }


def measure_echo(kind: str, load: EchoLoad, pinning: Pinning) -> EchoResult:
    with server_and_client(kind, pinning) as (server, client):
        pid = server.pid
        client.ask(**load.request(max(100, load.messages // 10)))  # warm-up, discarded
        answer, cpu = timed(pid, lambda: client.ask(**load.request()))
    return EchoResult(kind, answer["messages"], answer["seconds"], cpu)


# --- rounds and tables -------------------------------------------------------------------


def rotated(kinds: Sequence[str], number: int) -> list[str]:
    shift = number % len(kinds)
    return list(kinds[shift:]) + list(kinds[:shift])


def median_ratio(rounds: Sequence[dict[str, Any]], kind: str, value: Callable[[Any], float]) -> str:
    ratios = [
        value(r[kind]) / value(r[BASELINE])
        for r in rounds
        if kind in r and BASELINE in r and value(r[BASELINE]) > 0
    ]
    return f"{statistics.median(ratios):.2f}x" if ratios else ""


METRICS: list[tuple[str, Callable[[Scale], float], str]] = [
    ("server CPU per delivered message (us)", lambda s: s.cpu_us_per_delivered, "{:.1f}"),
    ("idle CPU, nobody talking (% of a core)", lambda s: s.idle_share * 100, "{:.3f}"),
    ("memory per socket (KiB)", lambda s: s.rss_per_socket_kib, "{:.1f}"),
    ("accepting them (s)", lambda s: s.open_seconds, "{:.2f}"),
    ("server CPU accepting them (s)", lambda s: s.open_cpu, "{:.2f}"),
    ("first member hears a broadcast (ms)", lambda s: s.first * 1e3, "{:.1f}"),
    ("last member hears a broadcast (ms)", lambda s: s.last * 1e3, "{:.1f}"),
    ("stop with them open: all closed (s)", lambda s: s.stop_seconds, "{:.2f}"),
    ("stop with them open: process ended (s)", lambda s: s.exit_seconds, "{:.2f}"),
]


def scale_table(kinds: Sequence[str], sockets: int, rounds: Sequence[dict[str, Scale]]) -> str:
    header = f"| at {sockets:,} sockets |"
    rule = "| --- |"
    for kind in kinds:
        header += f" {kind} |" + ("" if kind == BASELINE else " vs aiohttp |")
        rule += " ---: |" + ("" if kind == BASELINE else " ---: |")
    lines = [header, rule]
    for name, value, form in METRICS:
        line = f"| {name} |"
        for kind in kinds:
            measured = [value(r[kind]) for r in rounds if kind in r]
            line += f" {form.format(statistics.median(measured)) if measured else 'failed'} |"
            if kind != BASELINE:
                line += f" {median_ratio(rounds, kind, value)} |"
        lines.append(line)
    return "\n".join(lines)


def echo_table(kinds: Sequence[str], rounds: Sequence[dict[str, EchoResult]]) -> str:
    lines = [
        "| echo | messages/s | CPU us/message | messages/s vs aiohttp | CPU vs aiohttp |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in kinds:
        measured = [r[kind] for r in rounds if kind in r]
        if not measured:
            lines.append(f"| {kind} | failed | failed | | |")
            continue
        rate = statistics.median(m.per_second for m in measured)
        cpu = statistics.median(m.cpu_us for m in measured)
        lines.append(
            f"| {kind} | {rate:,.0f} | {cpu:.1f} | "
            f"{median_ratio(rounds, kind, lambda m: m.per_second)} | "
            f"{median_ratio(rounds, kind, lambda m: m.cpu_us)} |"
        )
    return "\n".join(lines)


def machine(pinning: Pinning, rounds: int, load: EchoLoad) -> str:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("trio", "wsproto", "aiohttp")
    )
    cpu = " ".join(filter(None, (platform.machine(), platform.processor())))
    return (
        f"{datetime.date.today()}, Python {platform.python_version()}, {versions}; {cpu}; "
        f"{pinning.note.replace('wrk', 'the client')}; {rounds} round(s); echo: "
        f"{load.connections} connections x {load.messages:,} messages of {load.size} bytes, "
        f"{load.window} in flight on each"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 200 sockets, short echo")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated")
    parser.add_argument("--only", help="comma-separated server kinds")
    parser.add_argument("--skip-echo", action="store_true")
    parser.add_argument("--echo-only", action="store_true", help="the echo only, no room")
    parser.add_argument("--output", type=Path, help="also write the tables here")
    parser.add_argument("--client", metavar="PORT", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        raise_nofile_limit(max(SIZES) + 1000)
        asyncio.run(client_main(args.client))
        return 0
    raise_nofile_limit(max(SIZES) + 1000)  # inherited by the servers
    kinds = [k for k in KINDS if args.only is None or k in args.only.split(",")]
    rounds = 1 if args.quick else args.rounds
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.echo_only:
        sizes = []
    load = EchoLoad(messages=500) if args.quick else EchoLoad()
    pinning = choose_pinning()
    log(pinning.note.replace("wrk", "the client"))
    failures: list[str] = []
    echoes: list[dict[str, EchoResult]] = []
    scales: dict[int, list[dict[str, Scale]]] = {n: [] for n in sizes}
    for number in range(rounds):
        order = rotated(kinds, number)
        if not args.skip_echo:
            echoes.append({})
            for kind in order:
                log(f"round {number + 1}/{rounds}: {kind} echo")
                try:
                    e = echoes[-1][kind] = measure_echo(kind, load, pinning)
                except (ServerFailed, RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                    failures.append(report_failure(kind, "echo", error, failure_log(error, None)))
                    continue
                log(f"  {e.per_second:,.0f} messages/s, {e.cpu_us:.1f} us CPU/message")
        for sockets in sizes:
            scales[sockets].append({})
            for kind in order:
                log(f"round {number + 1}/{rounds}: {kind} with {sockets:,} sockets")
                try:
                    s = scales[sockets][-1][kind] = measure_scale(kind, sockets, pinning)
                except (ServerFailed, RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                    what = f"{sockets} sockets"
                    failures.append(report_failure(kind, what, error, failure_log(error, None)))
                    continue
                log(
                    f"  open {s.open_seconds:.2f} s, {s.rss_per_socket_kib:.1f} KiB/socket, "
                    f"idle {s.idle_share * 100:.3f}%, {s.cpu_us_per_delivered:.1f} us/delivered, "
                    f"first {s.first * 1e3:.1f} ms, last {s.last * 1e3:.1f} ms, "
                    f"stop {s.stop_seconds:.2f} s (exit {s.exit_seconds:.2f} s), closes {s.closes}"
                )
    sections = [scale_table(kinds, n, scales[n]) for n in sizes]
    if echoes:
        sections.append(echo_table(kinds, echoes))
    report = "\n\n".join(sections)
    print(report)
    if args.output is not None:
        args.output.write_text(
            f"# WebSockets at scale\n\n{machine(pinning, rounds, load)}\n\n{report}\n"
            + "".join(f"\nFailed: {failure}\n" for failure in failures)
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
