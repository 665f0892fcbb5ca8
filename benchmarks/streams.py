"""Streaming benchmark: a server's peak memory while it streams a big body out, or takes one in.

What it measures
----------------
For each server (actorhttp on its httptools transport, actorhttp on its hypercorn
transport, aiohttp: the same handler code, ``benchmarks/stream_servers.py``), two tests,
each on a fresh server process:

* **stream**: ``GET /stream?size=1 GiB``, a ``StreamResponse`` that ``prepare``\\ s, then
  ``write``\\ s 64 KiB chunks from a generator, then ``write_eof``. The client, in this
  process, is a raw socket with a small ``SO_RCVBUF`` that reads at most 64 KiB at a time
  and sleeps to keep to a trickle (64 MiB/s by default), so the server has to wait for it:
  a server that does not apply backpressure would pile the body up in memory. The client
  counts the bytes, checks them against the Content-Length and the payload's CRC-32, and
  measures how long it was blocked waiting for the server (if that is most of the run,
  the server, not the trickle, was the bottleneck, and the run is flagged).
* **upload**: ``POST /upload``, a 200 MiB ``multipart/form-data`` body (a text field and
  one file part) that this process streams from a generator (it never holds the body).
  The handler iterates ``await request.multipart()`` and writes each file part to a
  file in a temporary folder with ``read_chunk(64 KiB)``. The saved file's size and
  CRC-32 are checked, then it is deleted (the folder too, at the end).

Before each test the server answers a small version of it (a warm-up: first-use imports
and buffers are not counted), then its peak RSS is reset (``echo 5 >
/proc/PID/clear_refs``) and its RSS read. After the test: the peak (``VmHWM``), its growth
over the RSS before, the server's CPU time (utime+stime) and the elapsed time. The table
shows, over the rounds (interleaved, server order rotated), the largest peak and growth
and the median of the other figures. With 2+ CPUs the server is pinned to one CPU and
this process (the clients) to another.

How to run (from the repository root)
-------------------------------------
::

    .venv/bin/python benchmarks/streams.py            # 1 GiB stream, 200 MiB upload, 3 rounds
    .venv/bin/python benchmarks/streams.py --quick    # smoke test: 64 MiB, 16 MiB, 1 round
    .venv/bin/python benchmarks/streams.py --only aiohttp --rounds 1 --rate 128
    .venv/bin/python benchmarks/streams.py --output benchmarks/RESULTS-streams.md

The Markdown tables go to stdout (and to ``--output`` with machine information);
progress goes to stderr. The exit status is 1 if any measurement failed.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Running this as a script puts its folder first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` package. Put the repository root there
# instead: this script uses benchmarks.http's and benchmarks.stream_servers' helpers.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path[0] = dirname(dirname(abspath(__file__)))

import argparse
import datetime
import importlib.util
import json
import os
import platform
import secrets
import shlex
import shutil
import socket
import statistics
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.http import (
    HOST,
    Endpoint,
    Pinning,
    RunningServer,
    ServerFailed,
    choose_pinning,
    cpu_model,
    cpu_seconds,
    display_python,
    failure_log,
    read_response,
    report_failure,
    rss_kib,
    running_server,
    server_command,
    status_kib,
    version,
)
from benchmarks.stream_servers import CHUNK, KINDS, payload_chunks, payload_crc32

HERE = Path(__file__).resolve().parent
STREAM_SERVERS_PY = HERE / "stream_servers.py"
MiB = 1024 * 1024
CHECK = Endpoint("hello", "/hello", b"Hello, World!")
OPTIONAL_MODULE = {"aiohttp": "aiohttp"}
TESTS = ("stream", "upload")

READ_SIZE = CHUNK  # the trickle client reads at most this much at a time
IO_TIMEOUT = 30.0  # seconds any one socket operation may take
SETTLE_SECONDS = 0.3  # after the warm-up, before the peak is reset
WARMUP_SIZE = MiB
WAITED_FLAG = 0.5  # a stream whose client waited on the server this much of the run is flagged
MIN_UPLOAD_RATE = 5 * MiB  # bytes/s; an upload slower than this (plus 30 s) is cut
QUICK_STREAM_MIB = 64
QUICK_UPLOAD_MIB = 16


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the clients -----------------------------------------------------------------------------


@dataclass
class StreamOutcome:
    status: int = 0
    declared: int | None = None  # the Content-Length
    received: int = 0  # body bytes
    crc: int = 0
    elapsed: float = 0.0  # from connecting to the last byte
    waited: float = 0.0  # seconds blocked in recv: the client waiting on the server
    slept: float = 0.0  # seconds paused to keep to the trickle


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read a response head: (status, lower-cased headers, body bytes already read)."""
    buffer = b""
    for _ in range(64):  # a head is small: 64 reads without its end is not an answer
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(READ_SIZE)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        buffer += chunk
    else:
        raise ConnectionError("no end of the response head")
    lines = buffer[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, buffer[end + 4 :]


def stream_get(
    port: int, size: int, rate: float | None, rcvbuf: int, timeout: float
) -> StreamOutcome:
    """``GET /stream?size=...``, read at ``rate`` bytes/s at most (None: as fast as it comes)."""
    outcome = StreamOutcome()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect
        sock.settimeout(IO_TIMEOUT)
        start = time.monotonic()
        deadline = start + timeout
        sock.connect((HOST, port))
        request = f"GET /stream?size={size} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        outcome.status, headers, rest = read_head(sock)
        length = headers.get("content-length")
        outcome.declared = int(length) if length is not None and length.isdigit() else None
        if outcome.declared is None:
            raise ValueError(f"no Content-Length in the answer: {headers}")
        outcome.received = len(rest)
        outcome.crc = zlib.crc32(rest)
        buffer = bytearray(READ_SIZE)
        view = memoryview(buffer)
        # Bounded: each pass reads at least one byte or ends, and the deadline holds.
        while outcome.received < outcome.declared:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(
                    f"stream not finished after {timeout:.0f} s "
                    f"({outcome.received:,} of {outcome.declared:,} bytes)"
                )
            if rate is not None:
                due = start + outcome.received / rate
                if due > now:
                    time.sleep(due - now)
                    outcome.slept += due - now
            before = time.monotonic()
            n = sock.recv_into(view, min(READ_SIZE, outcome.declared - outcome.received))
            outcome.waited += time.monotonic() - before
            if n == 0:
                break  # closed early: the length check says so
            outcome.crc = zlib.crc32(view[:n], outcome.crc)
            outcome.received += n
        outcome.elapsed = time.monotonic() - start
    return outcome


@dataclass
class UploadOutcome:
    status: int = 0
    answer: Any = None  # the handler's JSON
    sent: int = 0  # body bytes sent
    elapsed: float = 0.0  # from connecting to the answer


UPLOAD_FIELD = "benchmark upload"


def upload_post(port: int, size: int, timeout: float) -> UploadOutcome:
    """``POST /upload``: a text field and a ``size``-byte file part, streamed from a generator."""
    outcome = UploadOutcome()
    boundary = f"actorhttp-bench-{secrets.token_hex(8)}"
    prefix = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="description"\r\n\r\n'
        f"{UPLOAD_FIELD}\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="payload.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    suffix = f"\r\n--{boundary}--\r\n".encode()
    length = len(prefix) + size + len(suffix)
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {HOST}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    start = time.monotonic()
    deadline = start + timeout
    with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(head + prefix)
        outcome.sent = len(prefix)
        for chunk in payload_chunks(size):  # a bounded generator
            if time.monotonic() > deadline:
                raise TimeoutError(f"upload not sent after {timeout:.0f} s ({outcome.sent:,} B)")
            sock.sendall(chunk)
            outcome.sent += len(chunk)
        sock.sendall(suffix)
        outcome.sent += len(suffix)
        outcome.status, body = read_response(sock)
        outcome.elapsed = time.monotonic() - start
    try:
        outcome.answer = json.loads(body)
    except ValueError as error:
        raise ValueError(f"upload answered {outcome.status} {body[:300]!r}") from error
    return outcome


def file_crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as file:
        while chunk := file.read(MiB):
            crc = zlib.crc32(chunk, crc)
    return crc


def check_upload(outcome: UploadOutcome, size: int, upload_dir: Path) -> tuple[int, str | None]:
    """(saved file's size, problem or None); deletes every file the answer names."""
    answer = outcome.answer
    files = answer.get("files", []) if isinstance(answer, dict) else []
    paths = []
    for entry in files:
        path = Path(str(entry.get("path", "")))
        if path.resolve().parent == upload_dir.resolve():  # never touch anything else
            paths.append(path)
    try:
        if outcome.status != 200 or len(files) != 1 or len(paths) != 1:
            return 0, f"upload answered {outcome.status}: {str(answer)[:300]}"
        if answer.get("fields") != {"description": UPLOAD_FIELD}:
            return 0, f"upload's text field came back as {answer.get('fields')!r}"
        saved = paths[0].stat().st_size
        if saved != size or files[0].get("size") != size:
            return saved, f"saved {saved:,} bytes (handler says {files[0].get('size')}) of {size:,}"
        if file_crc32(paths[0]) != payload_crc32(size):
            return saved, "the saved file's bytes differ from those sent (CRC-32)"
        return saved, None
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


# --- one measurement -------------------------------------------------------------------------


@dataclass
class Result:
    round: int
    server: str
    test: str
    payload: int
    before_kib: int | None = None
    peak_kib: int | None = None
    after_kib: int | None = None
    peak_reset: bool = False  # VmHWM was reset before the test (else: since the start)
    cpu_s: float | None = None
    elapsed: float | None = None
    transferred: int = 0  # stream: body bytes received; upload: the saved file's size
    waited: float | None = None  # stream only
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def growth_kib(self) -> int | None:
        if self.before_kib is None or self.peak_kib is None:
            return None
        return self.peak_kib - self.before_kib

    @property
    def measured(self) -> bool:
        return self.peak_kib is not None and self.elapsed is not None


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Options:
    stream_size: int
    upload_size: int
    rate: float  # bytes/s
    rcvbuf: int
    rounds: int
    servers: list[str]
    output: Path | None
    argv: list[str]


def measure(kind: str, test: str, round_no: int, options: Options, pinning: Pinning) -> Result:
    payload = options.stream_size if test == "stream" else options.upload_size
    result = Result(round_no, kind, test, payload)
    server: RunningServer | None = None
    upload_dir = Path(tempfile.mkdtemp(prefix=f"actorhttp-bench-{kind}-"))
    try:
        with running_server(
            kind, pinning, CHECK, script=STREAM_SERVERS_PY, extra=[str(upload_dir)]
        ) as server:
            pid = server.pid
            # Warm-up: the same path, small and fast; its files are deleted.
            if test == "stream":
                warm = stream_get(server.port, WARMUP_SIZE, None, options.rcvbuf, IO_TIMEOUT)
                if warm.received != WARMUP_SIZE:
                    raise ValueError(f"warm-up stream gave {warm.received:,} bytes")
            else:
                warm_upload = upload_post(server.port, WARMUP_SIZE, IO_TIMEOUT)
                _, problem = check_upload(warm_upload, WARMUP_SIZE, upload_dir)
                if problem is not None:
                    raise ValueError(f"warm-up upload: {problem}")
            time.sleep(SETTLE_SECONDS)
            result.peak_reset = reset_peak(pid)
            result.before_kib = rss_kib(pid)
            cpu_before = cpu_seconds(pid)
            if test == "stream":
                expected = payload / options.rate
                outcome = stream_get(
                    server.port, payload, options.rate, options.rcvbuf, 30 + 3 * expected
                )
            else:
                uploaded = upload_post(server.port, payload, 30 + payload / MIN_UPLOAD_RATE)
            result.peak_kib = status_kib(pid, "VmHWM")
            result.after_kib = rss_kib(pid)
            result.cpu_s = cpu_seconds(pid) - cpu_before
            if not server.alive() or server.pid != pid:
                raise ServerFailed("the server process died or changed during the test")
            if test == "stream":
                result.elapsed, result.waited = outcome.elapsed, outcome.waited
                result.transferred = outcome.received
                if outcome.status != 200 or outcome.declared != payload:
                    result.problem = f"answered {outcome.status}, Content-Length {outcome.declared}"
                elif outcome.received != payload:
                    result.problem = f"received {outcome.received:,} of {payload:,} bytes"
                elif outcome.crc != payload_crc32(payload):
                    result.problem = "the bytes received differ from those sent (CRC-32)"
            else:
                result.elapsed = uploaded.elapsed
                result.transferred, result.problem = check_upload(uploaded, payload, upload_dir)
            if result.problem is not None:
                log(f"!! {kind} round {round_no} {test}: {result.problem}")
    except (ServerFailed, OSError, RuntimeError, ValueError) as error:
        log_path = failure_log(error, server)
        result.problem = report_failure(kind, f"round {round_no} {test}", error, log_path)
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
    if result.peak_kib is not None and result.elapsed is not None:
        growth = result.growth_kib
        log(
            f"round {round_no} {test:6} {kind:20} peak {result.peak_kib / 1024:7.1f} MiB"
            f"  growth {(growth or 0) / 1024:7.1f} MiB  {result.elapsed:6.2f} s"
            f"  CPU {result.cpu_s or 0:5.2f} s"
            + (f"  waited {result.waited:5.2f} s" if result.waited is not None else "")
        )
    return result


def run_rounds(servers: Sequence[str], options: Options, pinning: Pinning) -> list[Result]:
    results = []
    for round_no in range(1, options.rounds + 1):
        shift = (round_no - 1) % len(servers)
        order = [*servers[shift:], *servers[:shift]]
        for test in TESTS:
            for kind in order:
                results.append(measure(kind, test, round_no, options, pinning))
    return results


# --- the report ------------------------------------------------------------------------------


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def size_text(size: int) -> str:
    if size >= 1024 * MiB and size % (1024 * MiB) == 0:
        return f"{size // (1024 * MiB)} GiB"
    if size % MiB == 0:
        return f"{size // MiB} MiB"
    return f"{size:,} bytes"


def table(results: Sequence[Result], servers: Sequence[str], test: str) -> tuple[str, list[str]]:
    transferred = "received" if test == "stream" else "saved file"
    waited = " client waited on server (s) |" if test == "stream" else ""
    header = (
        "| server | RSS before (MiB) | peak RSS (MiB) | peak growth (MiB) | elapsed (s) "
        f"| MiB/s | server CPU (s) |{waited} {transferred} | rounds |"
    )
    columns = header.count("|") - 1
    lines = [header, "|---" * columns + "|"]
    flags: list[str] = []
    for kind in servers:
        rows = [r for r in results if r.server == kind and r.test == test]
        good = [r for r in rows if r.measured and r.problem is None]
        for r in rows:
            if r.problem is not None:
                flags.append(f"{test} {kind} round {r.round}: {r.problem}")
        if not good:
            blanks = " |" * (columns - 3)
            lines.append(f"| {kind} | failed |{blanks} 0/{len(rows)} |")
            continue
        payload = good[0].payload
        before = statistics.median(r.before_kib or 0 for r in good)
        peak = max(r.peak_kib or 0 for r in good)
        growth = max(r.growth_kib or 0 for r in good)
        elapsed = statistics.median(r.elapsed or 0.0 for r in good)
        cpu = statistics.median(r.cpu_s or 0.0 for r in good)
        cells = [
            kind,
            mib(before),
            mib(peak),
            mib(growth),
            f"{elapsed:.2f}",
            f"{payload / MiB / elapsed:.0f}" if elapsed > 0 else "",
            f"{cpu:.2f}",
        ]
        if test == "stream":
            wait = statistics.median(r.waited or 0.0 for r in good)
            cells.append(f"{wait:.2f}")
            if elapsed > 0 and wait / elapsed > WAITED_FLAG:
                flags.append(
                    f"stream {kind}: the client waited on the server {wait:.1f} s of "
                    f"{elapsed:.1f} s: the server, not the trickle, set the pace"
                )
        cells.append(f"{payload:,} B, intact")
        problems = len(rows) - len(good)
        cells.append(f"{len(good)}/{len(rows)}" + (" **FLAG**" if problems else ""))
        lines.append("| " + " | ".join(cells) + " |")
        if growth * 1024 > payload / 2:
            flags.append(
                f"{test} {kind}: **FLAG** peak RSS grew {mib(growth)} MiB, more than half "
                f"the {size_text(payload)} payload: the body is being held in memory"
            )
        if not all(r.peak_reset for r in good):
            flags.append(f"{test} {kind}: VmHWM could not be reset: peak since the start")
    return "\n".join(lines), flags


def pinning_note(pinning: Pinning) -> str:
    return pinning.note.replace("wrk", "the clients (this process)")


def machine_info(options: Options, pinning: Pinning, usable_cpus: int) -> str:
    lines = [
        f"- platform: `{platform.platform()}`",
        f"- CPU: {cpu_model()} ({os.cpu_count()} CPUs, {usable_cpus} usable); "
        + pinning_note(pinning),
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        "- versions: "
        + ", ".join(
            f"{name} {version(name)}"
            for name in ("actorhttp", "trio", "hypercorn", "httptools", "aiohttp")
        ),
        "- server: `"
        + shlex.join(server_command("KIND", "PORT", pinning, STREAM_SERVERS_PY, ["DIR"]))
        + "` (a fresh one for each test and round)",
        f"- stream: {size_text(options.stream_size)} read at {options.rate / MiB:.0f} MiB/s "
        f"at most, {READ_SIZE // 1024} KiB per read, SO_RCVBUF {options.rcvbuf:,} B "
        "(the kernel doubles it)",
        f"- upload: {size_text(options.upload_size)} file part (plus a text field), "
        "sent as fast as the server takes it",
        f"- rounds: {options.rounds}, interleaved (each round: each test, each server; "
        "server order rotated every round)",
    ]
    return "\n".join(lines)


def report(
    results: Sequence[Result], servers: Sequence[str], options: Options, pinning_note: str
) -> str:
    stream_table, stream_flags = table(results, servers, "stream")
    upload_table, upload_flags = table(results, servers, "upload")
    sections = [
        f"## Streamed response: {size_text(options.stream_size)} to a client reading at "
        f"{options.rate / MiB:.0f} MiB/s",
        stream_table,
        "`StreamResponse`: `prepare`, `write` of 64 KiB chunks, `write_eof`; Content-Length "
        "set. Peak RSS is the server's `VmHWM`, reset just before the request; growth is "
        "peak minus the RSS before. `client waited on server` is the time the client spent "
        "blocked in `recv`: small means the server was waiting on the client. The body is "
        "checked by length and CRC-32.",
        f"## Multipart upload saved to disk: {size_text(options.upload_size)}",
        upload_table,
        "`await request.multipart()`, each file part written to a temporary file with "
        "`read_chunk(64 KiB)`; the client streams the body from a generator. The saved "
        "file is checked by size and CRC-32, then deleted.",
        "Figures: the largest peak and growth over the rounds; the median of the others.",
    ]
    flags = [pinning_note, *stream_flags, *upload_flags]
    if flags:
        sections.append("## Notes\n\n" + "\n".join(f"- {line}" for line in flags))
    return "\n\n".join(sections) + "\n"


# --- command line ----------------------------------------------------------------------------


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/streams.py",
        description="Peak server memory for a big streamed response and a big upload.",
    )
    parser.add_argument("--stream-mib", type=int, help="streamed response size (default 1024)")
    parser.add_argument("--upload-mib", type=int, help="uploaded file size (default 200)")
    parser.add_argument("--rate", type=float, default=64, help="client read rate, MiB/s (64)")
    parser.add_argument(
        "--rcvbuf", type=int, default=64 * 1024, help="client SO_RCVBUF, bytes (65536)"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 64 MiB, 16 MiB, 1 round")
    parser.add_argument("--only", help=f"comma-separated servers: {','.join(KINDS)}")
    parser.add_argument("--output", type=Path, help="also write the results here (Markdown)")
    args = parser.parse_args(argv)

    defaults = (QUICK_STREAM_MIB, QUICK_UPLOAD_MIB, 1) if args.quick else (1024, 200, 3)
    stream_mib = args.stream_mib if args.stream_mib is not None else defaults[0]
    upload_mib = args.upload_mib if args.upload_mib is not None else defaults[1]
    rounds = args.rounds if args.rounds is not None else defaults[2]
    if min(stream_mib, upload_mib, rounds) < 1 or args.rate <= 0 or args.rcvbuf < 1024:
        parser.error("sizes and --rounds must be >= 1, --rate > 0, --rcvbuf >= 1024")
    servers = list(KINDS)
    if args.only:
        servers = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in servers if name not in KINDS]
        if unknown or not servers:
            parser.error(f"unknown server(s) {unknown}: choose from {', '.join(KINDS)}")
    return Options(
        stream_size=stream_mib * MiB,
        upload_size=upload_mib * MiB,
        rate=args.rate * MiB,
        rcvbuf=args.rcvbuf,
        rounds=rounds,
        servers=list(dict.fromkeys(servers)),
        output=args.output,
        argv=list(argv),
    )


def main(argv: Sequence[str]) -> int:
    options = parse_options(argv)
    if not Path("/proc/self/status").exists():
        log("this benchmark reads /proc: Linux only")
        return 2
    servers = []
    for kind in options.servers:
        module = OPTIONAL_MODULE.get(kind)
        if module is not None and importlib.util.find_spec(module) is None:
            log(f"!! {kind}: skipped, `{module}` is not importable in {sys.executable}")
        else:
            servers.append(kind)
    if not servers:
        log("no server to benchmark")
        return 1
    pinning = choose_pinning()
    usable_cpus = len(os.sched_getaffinity(0))
    if pinning.wrk_cpu is not None:
        os.sched_setaffinity(0, {pinning.wrk_cpu})  # the clients run here, off the server's CPU
    started = datetime.datetime.now(datetime.UTC)
    log(
        f"{options.rounds} round(s) x {len(TESTS)} tests x {len(servers)} server(s): "
        f"stream {size_text(options.stream_size)} at {options.rate / MiB:.0f} MiB/s, "
        f"upload {size_text(options.upload_size)}; {pinning_note(pinning)}"
    )
    results = run_rounds(servers, options, pinning)
    text = report(results, servers, options, pinning_note(pinning))
    print(text, end="")
    if options.output is not None:
        elapsed = datetime.datetime.now(datetime.UTC) - started
        command = shlex.join([display_python(), "benchmarks/streams.py", *options.argv])
        options.output.write_text(
            "# Streaming benchmark results\n\n"
            f"Run `{command}` on {started:%Y-%m-%d %H:%M} UTC "
            f"({elapsed.total_seconds() / 60:.1f} min).\n\n"
            + machine_info(options, pinning, usable_cpus)
            + "\n\n"
            + text
        )
        log(f"written to {options.output}")
    failed = any(not r.measured or r.problem is not None for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
