"""CPU instructions per request, counted by valgrind's callgrind: steady on a busy machine.

``python benchmarks/instructions.py [--requests N] [--kinds K,K] [--path P]``

Wall-clock and even CPU-time figures swing by tens of percent on a shared
machine; an instruction count does not. For each server kind of
``benchmarks/servers.py`` this runs the server under callgrind twice, once
answering a short warm-up and once the warm-up plus N requests (16
keep-alive connections, one request in flight on each), and prints the
difference over N: the instructions one more request costs, start-up and
import excluded. Needs valgrind (``sudo apt-get install valgrind``); exits 2
without it. Under callgrind a server runs ~50x slower, so N is small.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONNECTIONS = 16
WARMUP = 200
START_PATIENCE = 120.0  # seconds for a server under callgrind to start listening


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def drive(port: int, path: str, requests: int) -> None:
    """Send ``requests`` GETs over CONNECTIONS keep-alive connections, one in flight each."""
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    conns = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(CONNECTIONS)]
    try:
        done = 0
        while done < requests:
            batch = conns[: min(CONNECTIONS, requests - done)]
            for conn in batch:
                conn.sendall(request)
            for conn in batch:
                received = b""
                while b"\r\n\r\n" not in received or not _complete(received):
                    chunk = conn.recv(65536)
                    if not chunk:
                        raise ConnectionError(f"the server closed after {received!r}")
                    received += chunk
            done += len(batch)
    finally:
        for conn in conns:
            conn.close()


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return match is not None and len(body) >= int(match.group(1))


def count(kind: str, path: str, requests: int, out_dir: str) -> int:
    """Instructions callgrind counted in a server of ``kind`` that answered ``requests``."""
    port = free_port()
    out = os.path.join(out_dir, f"callgrind.{kind}.{requests}")
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(HERE / "servers.py"),
            kind,
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_PATIENCE
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{kind} did not start under callgrind") from None
                time.sleep(0.2)
        drive(port, path, requests)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    text = Path(out).read_text()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if match is None:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests")
    parser.add_argument("--kinds", default="actorhttp-httptools,aiohttp")
    parser.add_argument("--path", default="/hello", help="/hello, /json or /items/42")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("needs valgrind: sudo apt-get install valgrind", file=sys.stderr)
        return 2
    kinds = args.kinds.split(",")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as out_dir:
        for kind in kinds:
            base = count(kind, args.path, WARMUP, out_dir)
            more = count(kind, args.path, WARMUP + args.requests, out_dir)
            figures[kind] = (more - base) / args.requests
            print(f"{kind:22} {args.path:10} {figures[kind]:>10,.0f} instructions/request")
    if "aiohttp" in figures:
        for kind, value in figures.items():
            if kind != "aiohttp":
                print(f"{kind} / aiohttp: {value / figures['aiohttp']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
