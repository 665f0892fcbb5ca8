"""A short soak with faults, on both transports (the long one: ``benchmarks/soak.py``).

Two client processes load the server for a few seconds with keep-alive and
pipelined requests, handlers that raise, sleep or stream, clients that
vanish mid-head, mid-body and mid-response, slow readers, oversized bodies,
malformed requests, and increments of a supervised counting actor that
some of them crash. Afterwards: every action got the answer it must, the
actor counted exactly the acknowledged increments, and file descriptors,
trio tasks and RSS are back where they started.
"""

from __future__ import annotations

import trio

from actorhttp.messages import TransportName
from benchmarks.soak import run_soak
from benchmarks.soak_client import ACTIONS

SECONDS = 5.0
MIN_ACTIONS = 300
"""Per client process: enough for the volumes asserted below on a slow or busy machine
(about 2 requests, 0.26 faults and 0.7 increments an action, by the weights in ACTIONS)."""


async def test_a_short_soak_with_faults_leaves_nothing_behind(transport: TransportName) -> None:
    with trio.fail_after(120):
        report = await run_soak(SECONDS, clients=2, transport=transport, min_actions=MIN_ACTIONS)
    print("\n" + report.table())
    assert report.problems() == []
    assert set(report.actions) == {action.__name__ for action, _ in ACTIONS}  # each kind ran
    assert report.requests > 500
    assert report.faults > 100
    assert report.acked_increments > 100
    assert report.after.fds == report.before.fds
