"""Route resolution at scale: microseconds per ``resolve`` with 10 to 10,000 routes.

What it measures
----------------
For each shape of route table and each size N, one ``UrlDispatcher`` of
actorhttp and one of aiohttp hold the same N routes (``add_get``, so GET and
HEAD), and each is asked for the *last-added* route, the worst place in a
table searched in order:

* ``plain``: ``/r{i}/items``, asked for ``/r{N-1}/items``;
* ``dynamic``: ``/r{i}/items/{id}``, asked for ``/r{N-1}/items/42``;
* ``shared prefix``: ``/api/{id}/r{i}`` (every route under aiohttp's one index
  key ``/api``), asked for ``/api/42/r{N-1}``;
* ``regex``: ``/r{i}/items/{id:\\d+}``, asked for ``/r{N-1}/items/42``;
* ``404``: the shared-prefix table asked for ``/api/42/missing``;
* ``405``: the shared-prefix table asked for ``POST /api/42/r{N-1}``.

actorhttp's ``resolve(method, raw_path)`` is timed with ``timeit``; aiohttp's
``await router.resolve(request)``, with a stand-in request holding ``method``
and ``rel_url``, is timed in a loop inside one asyncio event loop. Both are
measured side by side for each case, each as the best of 5 repeats of a loop
long enough to take 0.2 s, and each answer is checked before it is timed.

The table gives microseconds per resolve at each N, the growth us(largest
N)/us(10) for each router, and actorhttp's time over aiohttp's (``1/240``
when actorhttp takes a 240th of aiohttp's time).

How to run (from the repository root)
-------------------------------------
::

    .venv/bin/python benchmarks/router.py            # N = 10, 1,000, 10,000 (about 2 minutes)
    .venv/bin/python benchmarks/router.py --quick    # smoke run: N = 10, 100, 1,000

The Markdown table goes to stdout, progress to stderr. This checkout's
actorhttp is measured, whichever one is installed.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Run as a script, this file's folder comes first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` (which aiohttp imports). Put the
# checkout's root there instead, so that its actorhttp is the one measured.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import argparse
import asyncio
import gc
import importlib.metadata
import platform
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from yarl import URL

from actorhttp._routing import Match, MethodNotAllowed, NotFound, UrlDispatcher

__all__ = ["SHAPES", "Shape", "main", "measure"]


@dataclass(frozen=True)
class Shape:
    """A route table of N routes, and the request asked of it."""

    name: str
    route: Callable[[int], str]  # the i-th route's path
    method: str
    path: Callable[[int], str]  # the request's path, for a table of N routes
    answer: str  # "match", "404" or "405"


SHAPES = (
    Shape("plain", lambda i: f"/r{i}/items", "GET", lambda n: f"/r{n - 1}/items", "match"),
    Shape(
        "dynamic",
        lambda i: f"/r{i}/items/{{id}}",
        "GET",
        lambda n: f"/r{n - 1}/items/42",
        "match",
    ),
    Shape(
        "shared prefix",
        lambda i: f"/api/{{id}}/r{i}",
        "GET",
        lambda n: f"/api/42/r{n - 1}",
        "match",
    ),
    Shape(
        "regex",
        lambda i: f"/r{i}/items/{{id:\\d+}}",
        "GET",
        lambda n: f"/r{n - 1}/items/42",
        "match",
    ),
    Shape("404", lambda i: f"/api/{{id}}/r{i}", "GET", lambda n: "/api/42/missing", "404"),
    Shape("405", lambda i: f"/api/{{id}}/r{i}", "POST", lambda n: f"/api/42/r{n - 1}", "405"),
)


class FakeRequest:
    """What aiohttp's resolver reads of a request: its method and ``rel_url``."""

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.rel_url = URL.build(path=path, encoded=True)


async def _aiohttp_handler(request: web.Request) -> web.Response:
    raise AssertionError("never called: only resolved")


def _ours(shape: Shape, n: int) -> Callable[[], object]:
    router: UrlDispatcher[int] = UrlDispatcher()
    for i in range(n):
        router.add_get(shape.route(i), i)
    method, path = shape.method, shape.path(n)
    found = router.resolve(method, path)
    expected = {"match": Match, "404": NotFound, "405": MethodNotAllowed}[shape.answer]
    last = isinstance(found, Match) and found.route.target == n - 1
    if not isinstance(found, expected) or (isinstance(found, Match) and not last):
        raise AssertionError(f"actorhttp resolved {shape.name} at N={n} to {found!r}")
    return lambda: router.resolve(method, path)


async def _aiohttp(shape: Shape, n: int) -> Callable[[], Any]:
    router = web.UrlDispatcher()
    for i in range(n):
        router.add_get(shape.route(i), _aiohttp_handler)
    request = cast(web.Request, FakeRequest(shape.method, shape.path(n)))
    found = await router.resolve(request)
    error = found.http_exception
    status = "match" if error is None else str(error.status)
    if status != shape.answer or (error is None and found.route.resource is not _last(router)):
        raise AssertionError(f"aiohttp resolved {shape.name} at N={n} to {found!r}")
    return lambda: router.resolve(request)


def _last(router: web.UrlDispatcher) -> object:
    return list(router.resources())[-1]


def _best_us(run: Callable[[int], float], min_time: float, repeats: int) -> float:
    """Best microseconds per call over ``repeats`` loops, each at least ``min_time`` long."""
    number = 1
    while run(number) < min_time:
        number *= 2 if number < 8 else 4
    return min(run(number) for _ in range(repeats)) / number * 1e6


def measure(
    loop: asyncio.AbstractEventLoop, shape: Shape, n: int, min_time: float, repeats: int
) -> tuple[float, float]:
    """Microseconds per resolve for actorhttp and for aiohttp, side by side."""
    ours = _ours(shape, n)
    theirs = loop.run_until_complete(_aiohttp(shape, n))

    def run_ours(number: int) -> float:
        return timeit.timeit(ours, number=number)

    async def loop_theirs(number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            await theirs()
        return time.perf_counter() - start

    def run_theirs(number: int) -> float:
        # As timeit does for ours: no garbage collection pauses inside the timed loop.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return loop.run_until_complete(loop_theirs(number))
        finally:
            if collecting:
                gc.enable()

    return _best_us(run_ours, min_time, repeats), _best_us(run_theirs, min_time, repeats)


def _us(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(value: float) -> str:
    if value < 0.1:
        return f"1/{1 / value:,.0f}"  # "1/240": a 240th of the time
    return f"{value:.2f}x" if value < 10 else f"{value:,.0f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="smoke run: smaller N, short loops")
    args = parser.parse_args(argv)
    sizes = (10, 100, 1_000) if args.quick else (10, 1_000, 10_000)
    min_time, repeats = (0.005, 2) if args.quick else (0.2, 5)

    loop = asyncio.new_event_loop()
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        for shape in SHAPES:
            for n in sizes:
                print(f"{shape.name}, N={n:,}", file=sys.stderr, flush=True)
                results.setdefault(shape.name, []).append(
                    measure(loop, shape, n, min_time, repeats)
                )
    finally:
        loop.close()

    big = f"{sizes[-1]:,}"
    print(
        f"us per resolve, best of {repeats}; asked for the last-added route. "
        f"CPython {platform.python_version()}, "
        f"aiohttp {importlib.metadata.version('aiohttp')}, {platform.machine()}."
    )
    print()
    heads = [f"N={n:,}" for n in sizes]
    print(
        "| shape | "
        + " | ".join(heads)
        + f" | {big}/10 | aiohttp "
        + " | aiohttp ".join(heads)
        + f" | aiohttp {big}/10 | vs aiohttp at 10 | vs aiohttp at {big} |"
    )
    print("|---" * (2 * len(sizes) + 5) + "|")
    flat = True
    for name, row in results.items():
        ours = [pair[0] for pair in row]
        theirs = [pair[1] for pair in row]
        growth = ours[-1] / ours[0]
        flat = flat and growth <= 1.5
        cells = [
            name,
            *map(_us, ours),
            _ratio(growth),
            *map(_us, theirs),
            _ratio(theirs[-1] / theirs[0]),
            _ratio(ours[0] / theirs[0]),
            _ratio(ours[-1] / theirs[-1]),
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    verdict = "met" if flat else "NOT met"
    print(f"Target us(N={big}) <= 1.5 x us(N=10) in every shape: {verdict}.")


if __name__ == "__main__":
    main()
