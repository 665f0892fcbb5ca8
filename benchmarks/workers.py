"""What worker processes buy: ``python -m actorhttp --workers N`` for N = 1, 2, ... on hello.

What it measures
----------------
The benchmark app (``benchmarks.servers:actorhttp_app``, httptools transport, no
access log) is served by the command line with each worker count in turn, and
``wrk -t1 -c64`` loads ``GET /hello`` on it. Rounds are interleaved (a fresh
server for each count, the order rotated); each reports requests per second and
CPU microseconds per request summed over every worker process (utime+stime from
``/proc``; the supervisor, idle while serving, is not counted). The table gives
medians, and each count's req/s over one worker's, within each round, then its
median. Nothing is pinned: the workers need every CPU there is, and wrk takes
one of them as well, so on a 2-CPU machine two workers can at best share what
wrk leaves.

How to run (from the repository root, with wrk installed)
---------------------------------------------------------
::

    .venv/bin/python benchmarks/workers.py              # 3 rounds x 5 s, 1 and 2 workers
    .venv/bin/python benchmarks/workers.py --workers 1,2,4 --quick
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)  # benchmarks/http.py would shadow the standard library's http
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import argparse
import re
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.http import (
    HOST,
    Pinning,
    children,
    cpu_seconds,
    free_port,
    log,
    run_wrk,
    stop_process,
)

ROOT = Path(__file__).resolve().parent.parent
UNPINNED = Pinning(None, None, "unpinned")


def measure(workers: int, duration: int, warmup: int, scratch: Path) -> tuple[float, float]:
    """Requests/s and CPU us/request (all workers) for ``workers`` worker processes."""
    port = free_port()
    out = scratch / f"workers-{workers}.txt"
    with out.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                *("-m", "actorhttp", "benchmarks.servers:actorhttp_app"),
                *("--host", HOST, "--port", str(port), "--workers", str(workers)),
                *("--no-access-log", "--keep-alive-timeout", "75", "--log-level", "warning"),
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Running on" not in out.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{out.read_text()}")
            time.sleep(0.05)
        pids = children(server.pid) if workers > 1 else [server.pid]
        if len(pids) != workers:
            raise RuntimeError(f"expected {workers} worker processes, found {pids}")
        url = f"http://{HOST}:{port}/hello"
        run_wrk(url, warmup, UNPINNED)
        before = sum(cpu_seconds(pid) for pid in pids)
        result = run_wrk(url, duration, UNPINNED)
        spent = sum(cpu_seconds(pid) for pid in pids) - before
        if result.error_count:
            raise RuntimeError(f"wrk saw errors: {result.errors}")
        return result.requests_per_s, spent / result.requests * 1e6
    finally:
        stop_process(server)
        if server.returncode != 0:
            log(f"server exited with {server.returncode}:\n{out.read_text()[-2000:]}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    args = parser.parse_args(argv)
    counts = [int(n) for n in re.split(r",\s*", args.workers)]
    if counts[0] != 1:
        counts.insert(0, 1)  # the baseline every ratio is against
    rounds, duration, warmup = (1, 2, 1) if args.quick else (args.rounds, args.duration, 2)
    scratch = Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    rates: dict[int, list[float]] = {n: [] for n in counts}
    cpus: dict[int, list[float]] = {n: [] for n in counts}
    ratios: dict[int, list[float]] = {n: [] for n in counts}
    for round_no in range(rounds):
        shift = round_no % len(counts)
        got = {}
        for n in (*counts[shift:], *counts[:shift]):
            got[n] = measure(n, duration, warmup, scratch)
            rates[n].append(got[n][0])
            cpus[n].append(got[n][1])
            log(
                f"round {round_no + 1}, {n} workers: {got[n][0]:9.0f} req/s, {got[n][1]:.1f} us/req"
            )
        for n in counts:
            ratios[n].append(got[n][0] / got[1][0])
    print("| workers | req/s (median) | CPU us/req, all workers (median) | req/s vs 1 worker |")
    print("|---|---|---|---|")
    for n in counts:
        print(
            f"| {n} | {statistics.median(rates[n]):,.0f} | {statistics.median(cpus[n]):.1f} | "
            f"{statistics.median(ratios[n]):.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
