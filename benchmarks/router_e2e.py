"""Routing at scale, end to end: an app of 10,000 shared-prefix routes against one of 10.

What it measures
----------------
Two actorhttp servers (httptools transport, ``run_app``) differ only in their
route table: N dynamic routes ``/api/{id}/r{i}`` (every one under aiohttp's
single index key ``/api``), N = 10 and N = 10,000. wrk asks each for the
*last* route, ``/api/42/r{N-1}``. Rounds are interleaved (fresh servers each
time, the order rotated); each reports requests per second and the server's
CPU microseconds per request (utime+stime over the measured run). The table
gives medians and the ratio N=10,000 / N=10 within each round, then its
median. The target: 10,000 routes serve at least 0.85x the requests/s of 10.

How to run (from the repository root, with wrk installed)
---------------------------------------------------------
::

    .venv/bin/python benchmarks/router_e2e.py            # 3 rounds x 5 s
    .venv/bin/python benchmarks/router_e2e.py --quick    # 1 round x 2 s

The server side is ``python benchmarks/router_e2e.py serve PORT N``.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)  # benchmarks/http.py would shadow the standard library's http
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import argparse
import statistics
from pathlib import Path

from benchmarks.http import HOST, Endpoint, load_fresh_server

SIZES = (10, 10_000)
SCRIPT = Path(__file__).resolve()


def serve(port: int, n: int) -> None:
    from actorhttp import web

    async def route(request: web.Request) -> web.Response:
        return web.Response(text=f"route {request.match_info['id']}")

    app = web.Application()
    for i in range(n):
        app.router.add_get(f"/api/{{id}}/r{i}", route)
    web.run_app(app, host=HOST, port=port, print=None, keepalive_timeout=75.0, access_log=None)


def measure(n: int, duration: int, warmup: int) -> tuple[float, float]:
    """Requests/s and server CPU us/request for the app of ``n`` routes, fresh."""
    endpoint = Endpoint(f"n{n}", f"/api/42/r{n - 1}", b"route 42")
    return load_fresh_server(SCRIPT, [str(n)], endpoint, duration, warmup)


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(int(argv[1]), int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args(argv)
    rounds, duration, warmup = (1, 2, 1) if args.quick else (args.rounds, args.duration, 2)
    rates: dict[int, list[float]] = {n: [] for n in SIZES}
    cpus: dict[int, list[float]] = {n: [] for n in SIZES}
    ratios: list[float] = []
    for round_no in range(rounds):
        order = SIZES if round_no % 2 == 0 else SIZES[::-1]
        got = {}
        for n in order:
            got[n] = measure(n, duration, warmup)
            rates[n].append(got[n][0])
            cpus[n].append(got[n][1])
            print(
                f"round {round_no + 1} N={n:>6}: {got[n][0]:9.0f} req/s, "
                f"{got[n][1]:6.1f} us CPU/req",
                file=sys.stderr,
            )
        ratios.append(got[SIZES[-1]][0] / got[SIZES[0]][0])
    print("| routes | req/s (median) | CPU us/req (median) | req/s vs 10 routes |")
    print("|---|---|---|---|")
    for n in SIZES:
        ratio = statistics.median(ratios) if n != SIZES[0] else 1.0
        print(
            f"| {n:,} | {statistics.median(rates[n]):,.0f} | "
            f"{statistics.median(cpus[n]):.1f} | {ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
