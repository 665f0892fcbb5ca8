"""What an access log costs: the hello endpoint with none, one that drops INFO, one that writes.

What it measures
----------------
Three actorhttp servers (httptools transport, ``run_app``) serve ``GET /hello``
and differ only in their access log:

* ``off``: ``access_log=None`` (``serve``'s default): the router runs nothing for it;
* ``dropped``: ``run_app``'s default, the ``actorhttp.access`` logger, at its default
  level (WARNING), so each request only times itself and asks ``isEnabledFor``;
* ``written``: the same logger at INFO, each line formatted (aiohttp's default format)
  and written to ``/dev/null``.

Rounds are interleaved (fresh servers, the order rotated); each reports requests per
second and the server's CPU microseconds per request. The table gives medians and
each variant's CPU per request over ``off``'s, within each round, then its median.

How to run (from the repository root, with wrk installed)
---------------------------------------------------------
::

    .venv/bin/python benchmarks/access_log.py            # 3 rounds x 5 s
    .venv/bin/python benchmarks/access_log.py --quick    # 1 round x 2 s
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)  # benchmarks/http.py would shadow the standard library's http
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import argparse
import logging
import os
import statistics
from pathlib import Path

from benchmarks.http import HOST, Endpoint, load_fresh_server

VARIANTS = ("off", "dropped", "written")
SCRIPT = Path(__file__).resolve()
HELLO = Endpoint("hello", "/hello", b"Hello, World!")


def serve(port: int, variant: str) -> None:
    from actorhttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Hello, World!")

    app = web.Application()
    app.router.add_get("/hello", hello)
    access = logging.getLogger("actorhttp.access")
    if variant == "written":
        access.setLevel(logging.INFO)
        access.addHandler(logging.FileHandler(os.devnull))
        access.propagate = False
    web.run_app(
        app,
        host=HOST,
        port=port,
        print=None,
        keepalive_timeout=75.0,
        access_log=None if variant == "off" else access,
    )


def measure(variant: str, duration: int, warmup: int) -> tuple[float, float]:
    """Requests/s and server CPU us/request for one variant, on a fresh server."""
    return load_fresh_server(SCRIPT, [variant], HELLO, duration, warmup)


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(int(argv[1]), argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args(argv)
    rounds, duration, warmup = (1, 2, 1) if args.quick else (args.rounds, args.duration, 2)
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpus: dict[str, list[float]] = {v: [] for v in VARIANTS}
    ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_no in range(rounds):
        shift = round_no % len(VARIANTS)
        got = {}
        for variant in (*VARIANTS[shift:], *VARIANTS[:shift]):
            got[variant] = measure(variant, duration, warmup)
            rates[variant].append(got[variant][0])
            cpus[variant].append(got[variant][1])
            print(
                f"round {round_no + 1} {variant:>8}: {got[variant][0]:9.0f} req/s, "
                f"{got[variant][1]:6.1f} us CPU/req",
                file=sys.stderr,
            )
        for variant in VARIANTS:
            ratios[variant].append(got[variant][1] / got["off"][1])
    print("| access log | req/s (median) | CPU us/req (median) | CPU vs off |")
    print("|---|---|---|---|")
    for variant in VARIANTS:
        print(
            f"| {variant} | {statistics.median(rates[variant]):,.0f} | "
            f"{statistics.median(cpus[variant]):.1f} | {statistics.median(ratios[variant]):.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
