"""HTTP(S) load benchmark: actorhttp's two transports against hypercorn, aiohttp and Starlette.

What it measures
----------------
* Throughput and latency: for each server and endpoint, ``wrk -t1 -c64 -d{duration}s
  --latency`` against ``GET /hello`` (text), ``GET /json`` (JSON), ``GET /items/42`` (a
  dynamic route resolved in a 1,000-dynamic-route application) and ``hello-tls``
  (``GET /hello`` over HTTPS, below). With 2+ CPUs the server is pinned to one CPU and
  wrk to another (``taskset -c``). Rounds are interleaved: in each round, for each
  endpoint, each server is started fresh, warmed up (a discarded wrk run), measured and
  stopped. The table shows the median over rounds of req/s, p50
  and p99 latency (and p50/p99 at one connection: a short ``wrk -c1`` run right after),
  and ratios computed within each round and then their median: every
  row against aiohttp, and actorhttp-hypercorn against raw-asgi-hypercorn (hypercorn's
  trio worker serving a bare ASGI callable: that transport's ceiling). wrk's non-2xx
  responses and socket errors are recorded, and a row that had any is flagged.
* CPU per request: utime+stime of the server process (``/proc/PID/stat``; the process
  that holds the listening socket and runs servers.py, checked, never a wrapper) read
  just before and just after the measured wrk run, divided by the requests wrk
  completed, in microseconds; and its ratio to aiohttp's, within each round, then the
  median. Steadier than req/s on a shared machine: it does not count time the server
  spent waiting for a CPU. Its resolution is one clock tick (``SC_CLK_TCK``, usually
  10 ms) over the whole run.
* Memory: RSS (``VmRSS`` of the server process) per idle keep-alive connection. Each
  server is started, answers one request, its RSS is read; then this process opens N
  connections, sends one ``GET /hello`` on each and reads the answer, waits a moment and
  reads the RSS again: (after - before) / N, in KiB. Every server keeps idle keep-alive
  connections for 75 s, and the report says how many were still open at the end. Plain
  HTTP only.
* HTTPS (``hello-tls``): the same servers, rounds, wrk flags and connection count, with
  the servers serving TLS and wrk given an ``https://`` URL (wrk does not verify the
  certificate). This process makes a throwaway trustme CA and a certificate for
  127.0.0.1 in a temporary directory and starts each server as ``servers.py KIND PORT
  --tls DIR``; every server builds its context the same way
  (``ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)``, ``load_cert_chain``, ALPN
  ``http/1.1``) and serves with it through its own option: ``run_app(ssl_context=)`` for
  actorhttp (the httptools transport on ``trio.SSLStream``, or hypercorn) and for
  aiohttp, hypercorn's ``create_ssl_context`` for the hypercorn kinds. So the
  ``hello-tls`` rows' ratios are against aiohttp over TLS in the same round. Each wrk
  run opens its 64 connections with a full handshake: the warm-up run's are discarded,
  the measured run pays its own 64 again (small next to a 5 s run). The check request
  verifies the certificate against the CA, and the notes say what TLS version, cipher
  and ALPN each server negotiated with it (Python's client, not wrk). Needs ``trustme``
  (the ``dev`` extra); without it ``hello-tls`` is skipped with a note.

* HTTPS and HTTP/2 through the command line (``--h2``, instead of the above): hello
  over TLS served by ``actorhttp benchmarks.servers:actorhttp_app --certfile ...
  --keyfile ...`` (servers.py's ``actorhttp-cli`` kind: the command line's own context,
  ALPN h2 and http/1.1, and transport), loaded over HTTP/2 by ``h2load -t1 -c16 -m10``
  and over HTTPS/1.1 by ``wrk -t1 -c16``; against aiohttp's HTTPS/1.1 (wrk) and
  hypercorn's HTTP/2 (h2load; a bare ASGI app, and actorhttp's hypercorn transport).
  Same rounds, pinning and CPU per request; ratios against aiohttp's HTTPS/1.1. Two
  sans-IO rows say what HTTP/2 costs before any I/O: ``benchmarks/h2_engine.py`` pinned
  to the server's CPU in each round, h2 alone and h2 as actorhttp runs it, answering
  h2load's requests replayed (no sockets, TLS or application). ``--only`` picks rows by
  kind (aiohttp's always runs), ``--tls-connections`` sets wrk's. Needs h2load (Debian's
  ``nghttp2-client``).

The servers are ``benchmarks/servers.py KIND PORT`` subprocesses, bound to 127.0.0.1.

How to run (from the repository root, with wrk installed: ``sudo apt-get install wrk``)
--------------------------------------------------------------------------------------
::

    .venv/bin/python benchmarks/http.py                 # 3 rounds x 5 s, 1,000 connections
    .venv/bin/python benchmarks/http.py --quick         # smoke test: 1 round x 2 s, 200
    .venv/bin/python benchmarks/http.py --only actorhttp-httptools,aiohttp --endpoints hello
    .venv/bin/python benchmarks/http.py --only actorhttp-httptools,aiohttp \\
        --endpoints hello,hello-tls --skip-memory        # plain and HTTPS side by side
    .venv/bin/python benchmarks/http.py --output benchmarks/RESULTS.md
    .venv/bin/python benchmarks/http.py --h2             # HTTPS and HTTP/2 via the CLI

The Markdown table goes to stdout (and to ``--output`` with machine information);
progress goes to stderr.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# This file is named http.py: running it as a script puts its folder first on sys.path,
# where it would shadow the standard library's ``http`` package. Take that entry out.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)

import argparse
import contextlib
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVERS_PY = HERE / "servers.py"
HOST = "127.0.0.1"

# Must match benchmarks/servers.py's KINDS; optional rows are skipped when not importable.
SERVER_KINDS: tuple[str, ...] = (
    "actorhttp-httptools",
    "actorhttp-hypercorn",
    "raw-asgi-hypercorn",
    "aiohttp",
    "starlette-hypercorn",
)
# (servers.py's "actorhttp-cli" kind, the command line itself, runs only in --h2.)
OPTIONAL_MODULE = {"aiohttp": "aiohttp", "starlette-hypercorn": "starlette"}
BASELINE = "aiohttp"
TRANSPORT_PAIR = ("actorhttp-hypercorn", "raw-asgi-hypercorn")


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    expect: bytes  # the body must contain this
    tls: bool = False  # served over HTTPS (``servers.py KIND PORT --tls DIR``)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


ENDPOINTS: dict[str, Endpoint] = {
    "hello": Endpoint("hello", "/hello", b"Hello, World!"),
    "json": Endpoint("json", "/json", b'"message"'),
    "dynamic": Endpoint("dynamic", "/items/42", b"item 42"),
    "hello-tls": Endpoint("hello-tls", "/hello", b"Hello, World!", tls=True),
}
TLS_MODULE = "trustme"  # makes the throwaway CA and certificate for the TLS endpoints
# Must match benchmarks/servers.py: the files its --tls DIR holds.
CERTFILE = "cert.pem"
KEYFILE = "key.pem"
CAFILE = "ca.pem"  # the CA's certificate, for this process's checks only

WRK_THREADS = 1
WRK_CONNECTIONS = 64
SINGLE_SECONDS = 2  # the one-connection latency run after each measured run
NOISY_SPREAD = 1.25  # a row whose max/min req/s over rounds exceeds this gets a note
START_TIMEOUT = 10.0  # seconds for a server to accept connections
STOP_TIMEOUT = 5.0  # seconds after SIGTERM before SIGKILL
SETTLE_SECONDS = 1.0  # after opening the idle connections, before reading RSS
HELLO_REQUEST = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- CPU pinning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinning:
    server_cpu: int | None
    wrk_cpu: int | None
    note: str

    def server_prefix(self) -> list[str]:
        return [] if self.server_cpu is None else ["taskset", "-c", str(self.server_cpu)]

    def wrk_prefix(self) -> list[str]:
        return [] if self.wrk_cpu is None else ["taskset", "-c", str(self.wrk_cpu)]


def choose_pinning() -> Pinning:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return Pinning(None, None, f"only {len(cpus)} CPU available: server and wrk run unpinned")
    if shutil.which("taskset") is None:
        return Pinning(None, None, "taskset not found: server and wrk run unpinned")
    return Pinning(
        cpus[0], cpus[1], f"server pinned to CPU {cpus[0]}, wrk to CPU {cpus[1]} (taskset -c)"
    )


# --- raw HTTP/1.1 over a plain socket --------------------------------------------------------


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response framed by Content-Length; returns (status, body)."""
    buffer = b""
    for _ in range(1000):  # a head over ~64 MB is not an answer we want
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        buffer += chunk
    else:
        raise ConnectionError("no end of the response head")
    head, body = buffer[:end].decode("latin-1"), buffer[end + 4 :]
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    for _ in range(1000):
        if len(body) >= length:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside the response body")
        body += chunk
    return status, body[:length]


def get(
    port: int, path: str, timeout: float = 5.0, tls: ssl.SSLContext | None = None
) -> tuple[int, bytes, str | None]:
    """One GET on a new connection, over TLS with ``tls`` (a client context).

    Returns (status, body, what TLS was negotiated: version, cipher and ALPN, or None).
    """
    with socket.create_connection((HOST, port), timeout=timeout) as plain:
        sock = plain if tls is None else tls.wrap_socket(plain, server_hostname=HOST)
        with sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status, body = read_response(sock)
            session = None
            if isinstance(sock, ssl.SSLSocket):
                cipher = sock.cipher()
                session = (
                    f"{sock.version()} {cipher[0] if cipher else '?'}, "
                    f"ALPN {sock.selected_alpn_protocol()}"
                )
            return status, body, session


def is_open(sock: socket.socket) -> bool:
    """True when the peer has not closed the connection (nothing to read, or unread data)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


# --- TLS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA and its certificate for 127.0.0.1: what ``servers.py --tls DIR`` reads."""

    directory: Path

    def server_args(self) -> list[str]:
        return ["--tls", str(self.directory)]

    def client_context(self) -> ssl.SSLContext:
        """Trusts the CA only, checks the name, offers HTTP/1.1 (wrk does not verify)."""
        context = ssl.create_default_context(cafile=self.directory / CAFILE)
        context.set_alpn_protocols(["http/1.1"])
        return context


@contextlib.contextmanager
def certificates() -> Iterator[Certificates]:
    """Issue a certificate for 127.0.0.1 from a new trustme CA, in a temporary directory."""
    import trustme

    with tempfile.TemporaryDirectory(prefix="bench-tls-") as name:
        directory = Path(name)
        ca = trustme.CA()
        issued = ca.issue_cert(HOST)
        (directory / CERTFILE).write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
        (directory / KEYFILE).write_bytes(issued.private_key_pem.bytes())
        (directory / CAFILE).write_bytes(ca.cert_pem.bytes())
        yield Certificates(directory)


# --- server subprocesses ---------------------------------------------------------------------


class ServerFailed(Exception):
    """A server did not start, answered the check request wrongly, or died."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return found


def listening_inode(port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
                return fields[9]
    return None


def server_pid(wrapper_pid: int, port: int) -> int:
    """The process that holds the listening socket: the subprocess itself or a descendant."""
    inode = listening_inode(port)
    tree, queue = [], [wrapper_pid]
    for _ in range(100):  # a shallow tree: taskset execs, nobody forks here
        if not queue:
            break
        pid = queue.pop(0)
        tree.append(pid)
        queue.extend(children(pid))
    if inode is not None:
        target = f"socket:[{inode}]"
        for pid in tree:
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return pid
    return tree[-1]


def status_kib(pid: int, field: str) -> int:
    """A memory field of /proc/PID/status (``VmRSS``, ``VmHWM``...), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])  # always in kB
    raise RuntimeError(f"no {field} for pid {pid}")


def rss_kib(pid: int) -> int:
    return status_kib(pid, "VmRSS")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads, live or ended), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 (state) is [0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15


@dataclass
class RunningServer:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    script: Path = SERVERS_PY
    tls: str | None = None  # what the check request negotiated, for a TLS server

    @property
    def pid(self) -> int:
        """The server process itself: the one holding the listening socket, running ``script``.

        Not a wrapper (``taskset`` execs the interpreter, so it is the Popen pid today).
        """
        pid = server_pid(self.process.pid, self.port)
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError as error:
            raise ServerFailed(f"server process {pid} vanished: {error}", self.log_path) from error
        if os.fsencode(self.script.name) not in {os.path.basename(arg) for arg in command}:
            raise ServerFailed(
                f"pid {pid} is not the server: {b' '.join(command).decode(errors='replace')}",
                self.log_path,
            )
        return pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def server_command(
    kind: str,
    port: int | str,
    pinning: Pinning,
    script: Path = SERVERS_PY,
    extra: Sequence[str] = (),
) -> list[str]:
    return [*pinning.server_prefix(), sys.executable, str(script), kind, str(port), *extra]


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def running_server(
    kind: str,
    pinning: Pinning,
    check: Endpoint,
    *,
    script: Path = SERVERS_PY,
    extra: Sequence[str] = (),
    tls: Certificates | None = None,
) -> Iterator[RunningServer]:
    """Start a fresh server, wait for it, check ``check`` answers; always stopped afterwards.

    The server is ``script KIND PORT *extra`` (benchmarks/servers.py by default), with
    ``--tls DIR`` too for an endpoint served over TLS (``tls`` is then required).
    """
    if check.tls:
        if tls is None:
            raise ValueError(f"endpoint {check.name} is served over TLS: certificates needed")
        extra = [*extra, *tls.server_args()]
    client_tls = tls.client_context() if check.tls and tls is not None else None
    port = free_port()
    fd, name = tempfile.mkstemp(prefix=f"bench-{kind}-", suffix=".log")
    log_path = Path(name)
    failed = False
    try:
        with os.fdopen(fd, "wb") as log_file:
            process = subprocess.Popen(
                server_command(kind, port, pinning, script, extra),
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                start_new_session=True,  # Ctrl-C here is ours to handle, not the server's
            )
        server = RunningServer(kind, port, process, log_path, script)
        try:
            try:
                wait_until_accepting(server)
                status, body, server.tls = get(port, check.path, tls=client_tls)
            except (ServerFailed, OSError, ValueError) as error:  # ssl.SSLError is an OSError
                raise ServerFailed(f"did not start: {error}", log_path) from error
            if status != 200 or check.expect not in body:
                raise ServerFailed(f"GET {check.path} answered {status} {body[:200]!r}", log_path)
            yield server
        except BaseException:
            failed = True
            raise
        finally:
            stop_process(process)
    finally:
        if not failed:
            log_path.unlink(missing_ok=True)


def wait_until_accepting(server: RunningServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    for _ in range(int(START_TIMEOUT / 0.05) + 1):
        if not server.alive():
            raise ServerFailed(f"exited with status {server.process.returncode}")
        try:
            with socket.create_connection((HOST, server.port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise ServerFailed(f"not accepting connections on port {server.port} after {START_TIMEOUT} s")


def failure_log(error: BaseException, server: RunningServer | None) -> Path | None:
    if isinstance(error, ServerFailed) and error.log_path is not None:
        return error.log_path
    return server.log_path if server is not None else None


def report_failure(kind: str, what: str, error: BaseException, log_path: Path | None) -> str:
    text = f"{kind}: {what}: {error}"
    log(f"!! {text}")
    if log_path is not None and log_path.exists():
        log(f"--- {log_path} ---\n{log_path.read_text(errors='replace')[-4000:]}--- end of log ---")
    return text


# --- wrk -------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: dict[str, int] = field(default_factory=dict)  # only the non-zero kinds

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    if rate is None or p50 is None or p99 is None or total is None:
        raise ValueError(f"cannot parse wrk's output:\n{output}")
    errors: dict[str, int] = {}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors is not None:
        for name, count in zip(
            ("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True
        ):
            if int(count):
                errors[name] = int(count)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx is not None and int(non_2xx.group(1)):
        errors["non-2xx/3xx"] = int(non_2xx.group(1))
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        p50_ms=to_ms(*p50.groups()),
        p99_ms=to_ms(*p99.groups()),
        requests=int(total.group(1)),
        errors=errors,
    )


def wrk_command(
    url: str, duration: int, pinning: Pinning, connections: int = WRK_CONNECTIONS
) -> list[str]:
    return [
        *pinning.wrk_prefix(),
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        url,
    ]


def run_load(command: list[str], duration: int) -> str:
    """A load generator's output (wrk, h2load: ``duration`` s); RuntimeError if it failed."""
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if completed.returncode != 0:
        name = next(arg for arg in command if arg in ("wrk", "h2load"))
        raise RuntimeError(
            f"{name} exited with status {completed.returncode}: "
            f"{(completed.stderr or completed.stdout).strip()[-500:]}"
        )
    return completed.stdout


def run_wrk(
    url: str, duration: int, pinning: Pinning, connections: int = WRK_CONNECTIONS
) -> WrkResult:
    return parse_wrk(run_load(wrk_command(url, duration, pinning, connections), duration))


def load_fresh_server(
    script: Path, extra: Sequence[str], endpoint: Endpoint, duration: int, warmup: int
) -> tuple[float, float]:
    """Requests/s and server CPU us/request of ``wrk`` on ``endpoint`` of a fresh
    ``script serve PORT *extra`` server (after ``warmup`` discarded seconds).

    Raises ``RuntimeError`` if wrk completed nothing or saw errors.
    """
    pinning = choose_pinning()
    with running_server("serve", pinning, endpoint, script=script, extra=extra) as server:
        url = f"http://{HOST}:{server.port}{endpoint.path}"
        if warmup:
            run_wrk(url, warmup, pinning)
        pid = server.pid
        before = cpu_seconds(pid)
        result = run_wrk(url, duration, pinning)
        cpu = cpu_seconds(pid) - before
    if result.requests <= 0 or result.errors:
        raise RuntimeError(f"{' '.join(extra)}: {result.requests} requests, {result.errors} errors")
    return result.requests_per_s, cpu * 1e6 / result.requests


# --- the load rounds -------------------------------------------------------------------------


@dataclass
class Measurement:
    round: int
    server: str
    endpoint: str
    result: WrkResult | None
    problem: str | None = None
    cpu_seconds: float | None = None  # the server process's utime+stime over the measured run
    single: WrkResult | None = None  # one connection, right after the measured run
    tls: str | None = None  # TLS endpoints: what the server's check request negotiated

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.cpu_seconds is None or self.result is None or self.result.requests <= 0:
            return None
        return self.cpu_seconds * 1e6 / self.result.requests


def measure_once(
    kind: str,
    endpoint: Endpoint,
    round_no: int,
    options: Options,
    pinning: Pinning,
    tls: Certificates | None = None,
) -> Measurement:
    server: RunningServer | None = None
    try:
        with running_server(kind, pinning, endpoint, tls=tls) as server:
            url = f"{endpoint.scheme}://{HOST}:{server.port}{endpoint.path}"
            session = server.tls
            if options.warmup > 0:
                run_wrk(url, options.warmup, pinning)  # discarded
            pid = server.pid
            cpu_before = cpu_seconds(pid)
            result = run_wrk(url, options.duration, pinning)
            cpu_after = cpu_seconds(pid)
            single = run_wrk(url, SINGLE_SECONDS, pinning, connections=1)
            if not server.alive():
                raise ServerFailed(
                    f"died during the run (status {server.process.returncode})", server.log_path
                )
            if server.pid != pid:
                raise ServerFailed(f"the server process changed during the run (was {pid})")
    except (ServerFailed, OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        log_path = failure_log(error, server)
        problem = report_failure(kind, f"round {round_no} {endpoint.name}", error, log_path)
        return Measurement(round_no, kind, endpoint.name, None, problem)
    measurement = Measurement(
        round_no, kind, endpoint.name, result, None, cpu_after - cpu_before, single, session
    )
    cpu = measurement.cpu_us_per_request
    log(
        f"round {round_no} {endpoint.name:8} {kind:20} {result.requests_per_s:10.0f} req/s"
        f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
        + (f"  CPU {cpu:6.1f} us/req" if cpu is not None else "")
        + f"  1 conn p50 {single.p50_ms * 1000:5.0f} us"
        + (f"  ERRORS {result.errors}" if result.errors else "")
    )
    return measurement


def run_rounds(
    servers: Sequence[str],
    endpoints: Sequence[Endpoint],
    options: Options,
    pinning: Pinning,
    tls: Certificates | None = None,
) -> list[Measurement]:
    measurements = []
    for round_no in range(1, options.rounds + 1):
        # Rotate the order each round so no server is always first (or last) after a restart.
        shift = (round_no - 1) % len(servers)
        order = [*servers[shift:], *servers[:shift]]
        for endpoint in endpoints:
            for kind in order:
                measurements.append(measure_once(kind, endpoint, round_no, options, pinning, tls))
    return measurements


def requests_per_s(m: Measurement) -> float | None:
    return m.result.requests_per_s if m.result is not None else None


def cpu_per_request(m: Measurement) -> float | None:
    return m.cpu_us_per_request


def ratio_medians(
    measurements: Sequence[Measurement],
    numerator: str,
    denominator: str,
    endpoint: str,
    metric: Callable[[Measurement], float | None] = requests_per_s,
) -> float | None:
    """The median over rounds of ``metric(numerator) / metric(denominator)`` in one round."""
    by_round: dict[int, dict[str, float]] = {}
    for m in measurements:
        value = metric(m) if m.endpoint == endpoint else None
        if value is not None:
            by_round.setdefault(m.round, {})[m.server] = value
    ratios = [
        rates[numerator] / rates[denominator]
        for rates in by_round.values()
        if numerator in rates and denominator in rates and rates[denominator] > 0
    ]
    return statistics.median(ratios) if ratios else None


def load_table(
    measurements: Sequence[Measurement], servers: Sequence[str], endpoints: Sequence[Endpoint]
) -> tuple[str, list[str]]:
    header = (
        "| endpoint | server | req/s (median) | req/s min-max | p50 ms | p99 ms "
        "| 1 conn p50 us | 1 conn p99 us "
        f"| vs {BASELINE} | vs {TRANSPORT_PAIR[1]} | CPU us/req (median) "
        f"| CPU/req vs {BASELINE} | rounds | errors |"
    )
    lines = [header, "|" + "---|" * 14]
    flags: list[str] = []
    for endpoint in endpoints:
        for kind in servers:
            rows = [m for m in measurements if m.server == kind and m.endpoint == endpoint.name]
            results = [m.result for m in rows if m.result is not None]
            if not results:
                lines.append(
                    f"| {endpoint.name} | {kind} | failed | | | | | | | | | | 0/{len(rows)} | |"
                )
                flags.append(f"{kind} {endpoint.name}: no successful round")
                continue
            rates = [r.requests_per_s for r in results]
            if min(rates) > 0 and max(rates) / min(rates) > NOISY_SPREAD:
                flags.append(
                    f"{kind} {endpoint.name}: noisy, max/min req/s over rounds is "
                    f"{max(rates) / min(rates):.2f} (more rounds or a quieter machine would help)"
                )
            vs_base = ratio_medians(measurements, kind, BASELINE, endpoint.name)
            vs_raw = (
                ratio_medians(measurements, kind, TRANSPORT_PAIR[1], endpoint.name)
                if kind in TRANSPORT_PAIR
                else None
            )
            singles = [m.single for m in rows if m.single is not None]
            single_p50 = (
                f"{statistics.median(r.p50_ms for r in singles) * 1000:.0f}" if singles else ""
            )
            single_p99 = (
                f"{statistics.median(r.p99_ms for r in singles) * 1000:.0f}" if singles else ""
            )
            cpu = [c for m in rows if (c := m.cpu_us_per_request) is not None]
            cpu_text = f"{statistics.median(cpu):.1f}" if cpu else ""
            cpu_vs_base = ratio_medians(
                measurements, kind, BASELINE, endpoint.name, cpu_per_request
            )
            errors: dict[str, int] = {}
            for r in results:
                for name, count in r.errors.items():
                    errors[name] = errors.get(name, 0) + count
            failed_rounds = len(rows) - len(results)
            error_text = ", ".join(f"{name} {count}" for name, count in errors.items())
            if errors or failed_rounds:
                error_text = "**FLAG** " + error_text
                if failed_rounds:
                    error_text += f" {failed_rounds} round(s) failed"
                flags.append(f"{kind} {endpoint.name}: {error_text.removeprefix('**FLAG** ')}")
            lines.append(
                f"| {endpoint.name} | {kind} | {statistics.median(rates):,.0f} "
                f"| {min(rates):,.0f}-{max(rates):,.0f} "
                f"| {statistics.median(r.p50_ms for r in results):.2f} "
                f"| {statistics.median(r.p99_ms for r in results):.2f} "
                f"| {single_p50} | {single_p99} "
                f"| {format_ratio(vs_base)} | {format_ratio(vs_raw)} "
                f"| {cpu_text} | {format_ratio(cpu_vs_base)} "
                f"| {len(results)}/{len(rows)} | {error_text or '0'} |"
            )
    return "\n".join(lines), flags


def format_ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def tls_notes(measurements: Sequence[Measurement], endpoints: Sequence[Endpoint]) -> list[str]:
    """What each TLS endpoint's servers negotiated with the check request (Python's client)."""
    notes = []
    for endpoint in endpoints:
        if not endpoint.tls:
            continue
        sessions: dict[str, set[str]] = {}
        for m in measurements:
            if m.endpoint == endpoint.name and m.tls is not None:
                sessions.setdefault(m.tls, set()).add(m.server)
        if len(sessions) == 1:
            notes.append(f"{endpoint.name}: every server negotiated {next(iter(sessions))}")
        else:  # a difference worth seeing: one line per distinct session
            notes += [
                f"{endpoint.name}: {', '.join(sorted(kinds))} negotiated {session}"
                for session, kinds in sessions.items()
            ]
    return notes


# --- memory per idle connection --------------------------------------------------------------


@dataclass
class MemoryResult:
    server: str
    before_kib: int | None = None
    after_kib: int | None = None
    opened: int = 0
    still_open: int = 0
    problem: str | None = None

    @property
    def per_connection_kib(self) -> float | None:
        if self.before_kib is None or self.after_kib is None or self.opened == 0:
            return None
        return (self.after_kib - self.before_kib) / self.opened


def raise_nofile_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard one; return how many connections fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    elif hard == resource.RLIM_INFINITY:
        soft = max(soft, wanted + 256)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return min(wanted, soft - 128)  # room for the process's other files


def measure_memory(kind: str, connections: int, pinning: Pinning) -> MemoryResult:
    result = MemoryResult(kind)
    server: RunningServer | None = None
    sockets: list[socket.socket] = []
    try:
        with running_server(kind, pinning, ENDPOINTS["hello"]) as server:  # its one request
            time.sleep(0.5)
            pid = server.pid
            result.before_kib = rss_kib(pid)
            try:
                for _ in range(connections):
                    sock = socket.create_connection((HOST, server.port), timeout=10)
                    sockets.append(sock)
                    sock.sendall(HELLO_REQUEST)
                    status, _body = read_response(sock)
                    if status != 200:
                        raise ServerFailed(f"GET /hello answered {status}")
                    result.opened += 1
                time.sleep(SETTLE_SECONDS)
                result.after_kib = rss_kib(pid)
                result.still_open = sum(is_open(sock) for sock in sockets)
            finally:
                for sock in sockets:
                    sock.close()
    except (ServerFailed, OSError, RuntimeError, ValueError) as error:
        log_path = failure_log(error, server)
        result.problem = report_failure(kind, "memory", error, log_path)
        if result.opened:
            result.problem += f" (after {result.opened} connections)"
    return result


def memory_table(results: Sequence[MemoryResult], connections: int) -> tuple[str, list[str]]:
    lines = [
        f"| server | RSS after 1 request (MiB) | RSS with {connections:,} idle connections (MiB) "
        "| KiB per connection | still open |",
        "|---|---|---|---|---|",
    ]
    flags = []
    for r in results:
        per = r.per_connection_kib
        if per is None:
            lines.append(f"| {r.server} | | | failed | {r.opened} opened |")
            flags.append(f"memory {r.server}: {r.problem}")
            continue
        assert r.before_kib is not None
        assert r.after_kib is not None
        open_text = f"{r.still_open}/{r.opened}"
        if r.still_open != r.opened:
            open_text = "**FLAG** " + open_text
            flags.append(f"memory {r.server}: only {open_text} connections still open")
        lines.append(
            f"| {r.server} | {r.before_kib / 1024:.1f} | {r.after_kib / 1024:.1f} "
            f"| {per:.1f} | {open_text} |"
        )
    return "\n".join(lines), flags


# --- HTTPS and HTTP/2 through the command line (--h2) -----------------------------------------

H2_CONNECTIONS = 16
H2_STREAMS = 10  # concurrent streams per connection (h2load -m)
TLS_WRK_CONNECTIONS = 16


@dataclass(frozen=True)
class TlsRow:
    """One row of the --h2 table: what a user gets, how it is served and loaded."""

    label: str
    kind: str  # servers.py's, or h2_engine.py's --server for a sans-IO row
    h2: bool  # loaded by h2load over HTTP/2; else wrk over HTTPS/1.1
    offer_h2: bool = False  # servers.py --h2: the context's ALPN offers h2 (the CLI's always does)
    sans_io: bool = False  # no server: h2_engine.py replays h2load's requests, on the server's CPU


TLS_ROWS = (
    TlsRow("actorhttp CLI, HTTP/2", "actorhttp-cli", h2=True),
    TlsRow("actorhttp CLI, HTTPS/1.1", "actorhttp-cli", h2=False),
    # The same transport given servers.py's context by run_app(ssl_context=), as the
    # hello-tls endpoint is: what the command line adds to HTTPS/1.1, if anything.
    TlsRow("actorhttp run_app(ssl_context=), HTTPS/1.1", "actorhttp-httptools", h2=False),
    TlsRow("aiohttp, HTTPS/1.1", "aiohttp", h2=False),
    TlsRow("hypercorn (bare ASGI app), HTTP/2", "raw-asgi-hypercorn", h2=True, offer_h2=True),
    TlsRow("actorhttp on hypercorn, HTTP/2", "actorhttp-hypercorn", h2=True, offer_h2=True),
    # What HTTP/2 costs before any I/O: the floor under every server on h2, and under ours.
    TlsRow("h2 alone, sans-IO (no I/O, TLS or app)", "h2-alone", h2=True, sans_io=True),
    TlsRow("h2 as actorhttp runs it, sans-IO", "h2-engine", h2=True, sans_io=True),
)
TLS_BASELINE = "aiohttp, HTTPS/1.1"
TLS_KINDS = tuple(dict.fromkeys(row.kind for row in TLS_ROWS))


def h2load_command(url: str, duration: int, pinning: Pinning) -> list[str]:
    return [
        *pinning.wrk_prefix(),
        "h2load",
        "-t1",
        f"-c{H2_CONNECTIONS}",
        f"-m{H2_STREAMS}",
        f"-D{duration}",
        url,
    ]


def parse_h2load(output: str) -> WrkResult:
    """h2load's summary as a WrkResult: its mean and max request times stand for p50 and p99
    (it reports no percentiles); "failed" are answers that were not 2xx or 3xx."""
    rate = re.search(r"^finished in [\d.]+\w+, ([\d.]+) req/s", output, re.M)
    counts = re.search(
        r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        output,
        re.M,
    )
    times = re.search(
        r"^time for request:\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", output, re.M
    )
    if rate is None or counts is None:
        raise ValueError(f"cannot parse h2load's output:\n{output}")
    _done, succeeded, failed, errored, timeout = (int(n) for n in counts.groups())
    errors = {
        name: count
        for name, count in (("failed", failed), ("errored", errored), ("timeout", timeout))
        if count
    }
    high, high_unit, mean, mean_unit = times.groups() if times is not None else ("0", "ms") * 2
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        p50_ms=to_ms(mean, mean_unit),
        p99_ms=to_ms(high, high_unit),
        requests=succeeded,
        errors=errors,
    )


def run_h2load(url: str, duration: int, pinning: Pinning) -> WrkResult:
    output = run_load(h2load_command(url, duration, pinning), duration)
    if "Application protocol: h2" not in output:
        raise RuntimeError(f"h2load did not get HTTP/2:\n{output[-500:]}")
    return parse_h2load(output)


def measure_sans_io(row: TlsRow, round_no: int, pinning: Pinning) -> Measurement:
    """``h2_engine.py``'s CPU us/request for ``row.kind``, run on the server's CPU."""
    command = [
        *pinning.server_prefix(),
        sys.executable,
        str(HERE / "h2_engine.py"),
        *("--server", row.kind, "--kind", "repeated", "--json"),
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=True, cwd=REPO
        )
        us = float(json.loads(completed.stdout)[row.kind]["repeated"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
        problem = report_failure(row.label, f"round {round_no}", error, None)
        return Measurement(round_no, row.label, "tls", None, problem)
    requests = 1_000_000  # a nominal count: the figure is CPU per request
    result = WrkResult(requests_per_s=0.0, p50_ms=0.0, p99_ms=0.0, requests=requests)
    log(f"round {round_no} {row.label:36} {'':>9} sans-IO {us:7.1f} us/req")
    return Measurement(round_no, row.label, "tls", result, None, us * requests / 1e6)


def measure_tls_row(
    row: TlsRow, round_no: int, options: Options, pinning: Pinning, tls: Certificates
) -> Measurement:
    """A fresh server for ``row``, a discarded warm-up, then the measured run and its CPU."""
    if row.sans_io:
        return measure_sans_io(row, round_no, pinning)
    endpoint = ENDPOINTS["hello-tls"]
    server: RunningServer | None = None
    extra = ["--h2"] if row.offer_h2 else []
    try:
        with running_server(row.kind, pinning, endpoint, tls=tls, extra=extra) as server:
            url = f"https://{HOST}:{server.port}{endpoint.path}"

            def load(seconds: int) -> WrkResult:
                if row.h2:
                    return run_h2load(url, seconds, pinning)
                return run_wrk(url, seconds, pinning, connections=options.tls_connections)

            if options.warmup > 0:
                load(options.warmup)
            pid = server.pid
            before = cpu_seconds(pid)
            result = load(options.duration)
            cpu = cpu_seconds(pid) - before
            if not server.alive():
                raise ServerFailed("died during the run", server.log_path)
    except (ServerFailed, OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        problem = report_failure(row.label, f"round {round_no}", error, failure_log(error, server))
        return Measurement(round_no, row.label, "tls", None, problem)
    measurement = Measurement(round_no, row.label, "tls", result, None, cpu)
    log(
        f"round {round_no} {row.label:36} {result.requests_per_s:>9,.0f} req/s "
        f"{measurement.cpu_us_per_request or 0:7.1f} us/req"
        + (f"  ERRORS {result.errors}" if result.errors else "")
    )
    return measurement


def tls_table(
    measurements: Sequence[Measurement], rows: Sequence[TlsRow], connections: int
) -> tuple[str, list[str]]:
    lines = [
        "| what the user gets | load | req/s (median) | CPU us/req (median) "
        f"| CPU/req vs {TLS_BASELINE} | req/s vs {TLS_BASELINE} | rounds | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    flags = []
    for row in rows:
        ok = [m for m in measurements if m.server == row.label and m.result is not None]
        failed = [m for m in measurements if m.server == row.label and m.result is None]
        flags += [f"{row.label}: {m.problem}" for m in failed]
        load = (
            f"replayed h2load requests ({H2_STREAMS} a batch)"
            if row.sans_io
            else f"h2load {H2_CONNECTIONS} connections x {H2_STREAMS} streams"
            if row.h2
            else f"wrk {connections} connections"
        )
        if not ok:
            lines.append(f"| {row.label} | {load} | failed | | | | 0/{len(failed)} | |")
            continue
        rates = [m.result.requests_per_s for m in ok if m.result is not None]
        cpus = [c for m in ok if (c := m.cpu_us_per_request) is not None]
        errors = sum(m.result.error_count for m in ok if m.result is not None)
        cpu_ratio = ratio_medians(measurements, row.label, TLS_BASELINE, "tls", cpu_per_request)
        rate_ratio = ratio_medians(measurements, row.label, TLS_BASELINE, "tls")
        if errors:
            kinds = [m.result.errors for m in ok if m.result is not None]
            flags.append(f"{row.label}: {errors} errors ({kinds})")
        rate = "" if row.sans_io else f"{statistics.median(rates):,.0f}"
        rate_cell = "" if rate_ratio is None or row.sans_io else f"{rate_ratio:.2f}x"
        lines.append(
            f"| {row.label} | {load} | {rate} "
            f"| {statistics.median(cpus):.1f} "
            f"| {'' if cpu_ratio is None else f'{cpu_ratio:.2f}x'} "
            f"| {rate_cell} "
            f"| {len(ok)}/{len(ok) + len(failed)} | {errors} |"
        )
    return "\n".join(lines), flags


def run_tls_comparison(options: Options, pinning: Pinning) -> str:
    """The --h2 run: each row of TLS_ROWS (of --only's kinds), rounds interleaved; Markdown."""
    rows = [row for row in TLS_ROWS if row.kind in options.servers]
    measurements = []
    with certificates() as tls:
        for round_no in range(1, options.rounds + 1):
            shift = (round_no - 1) % len(rows)
            for row in (*rows[shift:], *rows[:shift]):
                measurements.append(measure_tls_row(row, round_no, options, pinning, tls))
    table, flags = tls_table(measurements, rows, options.tls_connections)
    notes = [
        f"HTTP/2 rows: `h2load -t1 -c{H2_CONNECTIONS} -m{H2_STREAMS} -D{options.duration}`; "
        f"HTTPS/1.1 rows: `wrk -t1 -c{options.tls_connections} -d{options.duration}s`; each "
        f"after a discarded {options.warmup} s warm-up on a fresh server, `GET /hello` over TLS.",
        "`actorhttp CLI`: `actorhttp benchmarks.servers:actorhttp_app --certfile ... "
        "--keyfile ...` (transport `auto`, ALPN h2 and http/1.1, as the command line builds "
        "them); the others get servers.py's context (ALPN `h2`, `http/1.1` for the HTTP/2 rows, "
        "`http/1.1` for `run_app(ssl_context=)`, as the `hello-tls` endpoint).",
        "CPU us/req: the server process's utime+stime over the measured run per request "
        "completed; ratios within each round, then the median.",
        "sans-IO rows: `benchmarks/h2_engine.py --server KIND --kind repeated`, pinned to the "
        "server's CPU in the same round: h2load's requests, recorded from h2's client side, "
        "replayed into one server connection that answers each (process CPU time, best of 7; "
        "`h2 alone`: h2's `receive_data`, `send_headers`, `send_data`, `data_to_send`, its "
        "header checks off; `h2 as actorhttp runs it`: the same calls on `_h2engine`'s h2).",
        pinning.note,
    ]
    return (
        f"## HTTPS and HTTP/2 (median of {options.rounds} round(s))\n\n{table}\n\n"
        + "\n".join(f"- {line}" for line in notes + flags)
        + "\n"
    )


# --- machine information ---------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def wrk_version() -> str:
    completed = subprocess.run(
        ["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False
    )
    first = (completed.stdout or completed.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def display_python() -> str:
    """This interpreter, relative to the working directory when it lives under it."""
    relative = os.path.relpath(sys.executable)
    return sys.executable if relative.startswith("..") else relative


def machine_info(pinning: Pinning, options: Options) -> str:
    example_url = f"http://{HOST}:PORT/hello"
    tls = [endpoint.name for endpoint in options.endpoints if endpoint.tls]
    lines = [
        f"- platform: `{platform.platform()}`",
        f"- CPU: {cpu_model()} ({os.cpu_count()} CPUs, "
        f"{len(os.sched_getaffinity(0))} usable); {pinning.note}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        "- versions: "
        + ", ".join(
            f"{name} {version(name)}"
            for name in ("actorhttp", "trio", "hypercorn", "httptools", "aiohttp", "starlette")
        ),
        f"- wrk: {wrk_version()}",
        f"- server: `{shlex.join(server_command('KIND', 'PORT', pinning))}` (a fresh one each run)",
        f"- load: `{shlex.join(wrk_command(example_url, options.duration, pinning))}` "
        f"after a discarded {options.warmup} s warm-up run",
        f"- rounds: {options.rounds}, interleaved (each round: each endpoint, each server "
        "started fresh, warmed up, measured, stopped; server order rotated every round)",
    ]
    if tls:
        lines.append(
            f"- TLS ({', '.join(tls)}): `servers.py KIND PORT --tls DIR` and an `https://` "
            "URL; every server gets a context built the same way: "
            "`ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)`, `load_cert_chain` of a "
            f"trustme certificate for {HOST}, ALPN `http/1.1`"
        )
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------


@dataclass
class Options:
    rounds: int
    duration: int
    warmup: int
    connections: int
    servers: list[str]
    endpoints: list[Endpoint]
    output: Path | None
    skip_memory: bool
    h2: bool = False
    tls_connections: int = TLS_WRK_CONNECTIONS


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/http.py",
        description="HTTP load and memory benchmark (see the module docstring).",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--duration", type=int, help="seconds per measured wrk run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded wrk seconds (default 1)")
    parser.add_argument(
        "--connections", type=int, help="idle connections for the memory test (default 1000)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 round, 2 s, 200 connections"
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated servers: {','.join(SERVER_KINDS)} "
        f"(with --h2: of {','.join(TLS_KINDS)}; {BASELINE} is always run)",
    )
    parser.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help=f"comma-separated: {','.join(ENDPOINTS)} (hello-tls: GET /hello over HTTPS)",
    )
    parser.add_argument("--output", type=Path, help="also write the results here (Markdown)")
    parser.add_argument("--skip-memory", action="store_true", help="no memory measurement")
    parser.add_argument(
        "--h2",
        action="store_true",
        help="instead: HTTP/2 (h2load) and HTTPS/1.1 (wrk) through the command line's TLS, "
        "against aiohttp's HTTPS/1.1 and hypercorn's HTTP/2",
    )
    parser.add_argument(
        "--tls-connections",
        type=int,
        default=TLS_WRK_CONNECTIONS,
        help=f"with --h2: wrk's connections for the HTTPS/1.1 rows (default {TLS_WRK_CONNECTIONS})",
    )
    args = parser.parse_args(argv)

    defaults = (1, 2, 200) if args.quick else (3, 5, 1000)
    rounds = args.rounds if args.rounds is not None else defaults[0]
    duration = args.duration if args.duration is not None else defaults[1]
    connections = args.connections if args.connections is not None else defaults[2]
    if rounds < 1 or duration < 1 or connections < 1 or args.warmup < 0:
        parser.error("--rounds, --duration and --connections must be >= 1, --warmup >= 0")

    if args.tls_connections < 1:
        parser.error("--tls-connections must be >= 1")
    kinds = TLS_KINDS if args.h2 else SERVER_KINDS
    servers = list(kinds)
    if args.only:
        servers = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in servers if name not in kinds]
        if unknown or not servers:
            parser.error(f"unknown server(s) {unknown}: choose from {', '.join(kinds)}")
        if args.h2 and BASELINE not in servers:
            servers.append(BASELINE)  # the ratios' baseline, aiohttp's HTTPS/1.1
    names = [name.strip() for name in args.endpoints.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENDPOINTS]
    if unknown or not names:
        parser.error(f"unknown endpoint(s) {unknown}: choose from {', '.join(ENDPOINTS)}")
    return Options(
        rounds=rounds,
        duration=duration,
        warmup=args.warmup,
        connections=connections,
        servers=list(dict.fromkeys(servers)),
        endpoints=[ENDPOINTS[name] for name in dict.fromkeys(names)],
        output=args.output,
        skip_memory=args.skip_memory,
        h2=args.h2,
        tls_connections=args.tls_connections,
    )


def main(argv: Sequence[str]) -> int:
    options = parse_options(argv)
    if shutil.which("wrk") is None:
        print(
            'wrk not found: install it with "sudo apt-get install wrk" (Debian/Ubuntu)',
            file=sys.stderr,
        )
        return 2
    if options.h2:
        return main_h2(options, argv)

    notes: list[str] = []
    servers = []
    for kind in options.servers:
        module = OPTIONAL_MODULE.get(kind)
        if module is not None and importlib.util.find_spec(module) is None:
            notes.append(f"{kind}: skipped, `{module}` is not importable in {sys.executable}")
            log(f"!! {notes[-1]}")
        else:
            servers.append(kind)
    if not servers:
        log("no server to benchmark")
        return 1
    tls_names = [endpoint.name for endpoint in options.endpoints if endpoint.tls]
    if tls_names and importlib.util.find_spec(TLS_MODULE) is None:
        notes.append(
            f"{', '.join(tls_names)}: skipped, `{TLS_MODULE}` is not importable in {sys.executable}"
        )
        log(f"!! {notes[-1]}")
        options.endpoints = [endpoint for endpoint in options.endpoints if not endpoint.tls]
        tls_names = []
        if not options.endpoints:
            log("no endpoint to benchmark")
            return 1

    pinning = choose_pinning()
    notes.append(pinning.note)
    # Before any server starts: the servers inherit the raised limit.
    connections = raise_nofile_limit(options.connections)
    if connections < options.connections:
        notes.append(
            f"memory: only {connections} connections fit under RLIMIT_NOFILE "
            f"(asked for {options.connections})"
        )
    started = datetime.datetime.now(datetime.UTC)
    log(
        f"{options.rounds} round(s) x {len(options.endpoints)} endpoint(s) x "
        f"{len(servers)} server(s), {options.warmup} s warm-up + {options.duration} s each; "
        f"{pinning.note}"
    )

    with contextlib.ExitStack() as stack:
        tls = stack.enter_context(certificates()) if tls_names else None
        measurements = run_rounds(servers, options.endpoints, options, pinning, tls)
    table, flags = load_table(measurements, servers, options.endpoints)
    notes += tls_notes(measurements, options.endpoints)

    memory_text = ""
    if not options.skip_memory:
        log(f"memory: {connections} idle keep-alive connections per server")
        memory_results = []
        for kind in servers:
            memory = measure_memory(kind, connections, pinning)
            per = memory.per_connection_kib
            log(
                f"memory {kind:20} "
                + (f"{per:.1f} KiB/connection" if per is not None else "failed")
            )
            memory_results.append(memory)
        memory_text, memory_flags = memory_table(memory_results, connections)
        flags += memory_flags

    sections = [
        f"## Throughput and latency (wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} "
        f"-d{options.duration}s, median of {options.rounds} round(s))",
        table,
        "Ratios are req/s ratios computed within each round, then their median. "
        "`CPU us/req` is the server process's utime+stime (`/proc/PID/stat`, the process "
        "holding the listening socket) over the measured wrk run, divided by the requests "
        "wrk completed; `CPU/req vs aiohttp` is that figure's ratio to aiohttp's within each "
        "round, then the median (below 1.00x: less CPU than aiohttp per request). "
        f"`1 conn` columns: `wrk -c1 -d{SINGLE_SECONDS}s --latency` right after the measured "
        "run, on the same server (latency with no queueing). "
        "`dynamic` is `GET /items/42` in a 1,000-dynamic-route application "
        "(raw-asgi-hypercorn: a prefix check, not a router)."
        + (
            f" `{'`, `'.join(tls_names)}`: over HTTPS, every server with the same kind of "
            "server context (TLS defaults of Python's `ssl`, ALPN `http/1.1`), so its ratios "
            "are against aiohttp over TLS; wrk's connections each start with a TLS handshake, "
            "in the warm-up and again in the measured run."
            if tls_names
            else ""
        ),
    ]
    if memory_text:
        sections += [
            f"## Memory per idle keep-alive connection ({connections:,} connections)",
            memory_text,
            "RSS (VmRSS) of the server process after one request, then after opening the "
            "connections, one `GET /hello` answered on each, and "
            f"{SETTLE_SECONDS:.0f} s to settle: (after - before) / connections.",
        ]
    if flags or notes:
        sections.append("## Notes\n\n" + "\n".join(f"- {line}" for line in notes + flags))
    report = "\n\n".join(sections) + "\n"
    print(report, end="")

    if options.output is not None:
        about = machine_info(pinning, options)
        write_results(options.output, "HTTP benchmark results", argv, started, about, report)
    return 0


def write_results(
    path: Path, title: str, argv: Sequence[str], started: datetime.datetime, *parts: str
) -> None:
    """``path``: ``# title``, the command and when it ran, then ``parts``."""
    elapsed = datetime.datetime.now(datetime.UTC) - started
    command = shlex.join([display_python(), "benchmarks/http.py", *argv])
    path.write_text(
        f"# {title}\n\n"
        f"Run `{command}` on {started:%Y-%m-%d %H:%M} UTC "
        f"({elapsed.total_seconds() / 60:.1f} min).\n\n" + "\n\n".join(parts)
    )
    log(f"written to {path}")


def main_h2(options: Options, argv: Sequence[str]) -> int:
    """The --h2 run: its table to stdout (and to ``--output``, with machine information)."""
    missing = [name for name in ("h2load", "taskset") if shutil.which(name) is None]
    missing += [m for m in (TLS_MODULE, "aiohttp") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"--h2 needs {', '.join(missing)} (h2load: apt-get install nghttp2-client)")
        return 2
    pinning = choose_pinning()
    started = datetime.datetime.now(datetime.UTC)
    rows = sum(row.kind in options.servers for row in TLS_ROWS)
    log(f"--h2: {options.rounds} round(s) x {rows} rows; {pinning.note}")
    report = run_tls_comparison(options, pinning)
    print(report, end="")
    if options.output is not None:
        about = (
            f"- platform: `{platform.platform()}`; CPU: {cpu_model()}; "
            f"Python {platform.python_version()}; versions: "
            + ", ".join(f"{n} {version(n)}" for n in ("actorhttp", "trio", "h2", "hypercorn"))
            + f", aiohttp {version('aiohttp')}"
        )
        title = "HTTPS and HTTP/2 benchmark results"
        write_results(options.output, title, argv, started, about, report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
