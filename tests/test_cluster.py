"""The examples across processes sharing a real redis-server: workers, servers, faults.

Real processes on loopback (``python -m actorhttp ...``, through
tests/test_cli.py's ``serve_cli``), real clients on fresh connections (so
``SO_REUSEPORT`` spreads them over the workers), a redis-server started per
test with persistence off, and a lease of 1 s so that takeovers are quick.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from .redisserver import RedisServer, free_port
from .test_cli import WAIT, Served, get

FAST = "?lease_time=1&health_interval=0.2"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``python -m actorhttp ARGS`` processes (tests/test_cli.py's Served), killed at the end."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        started.append(Served(tmp_path, args, {}, ()))
        return started[-1]

    yield start
    for served in started:
        served.cleanup()


CLIENT = httpx.Client(timeout=WAIT, headers={"Connection": "close"})


def post(url: str) -> httpx.Response:
    """One POST on a connection of its own (so SO_REUSEPORT can pick any worker)."""
    return CLIENT.post(url)


def served_by(response: httpx.Response) -> int:
    return int(response.headers["x-served-by"].rsplit(" ", 1)[1])


def test_the_counter_counts_each_request_once_across_four_workers(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    served = serve(
        "examples.actors:app", "--port", "0", "--workers", "4", "--broker", redis_server.url
    )
    url = served.url
    counts = []
    owners = set()
    for _ in range(100):
        response = post(url + "/counter/hits")
        assert response.status_code == 200, response.text
        counts.append(response.json()["count"])
        owners.add(served_by(response))
    assert sorted(counts) == list(range(1, 101))  # each once: one incarnation, not four
    assert len(owners) == 1
    assert owners <= set(served.workers().values())
    for pid in served.workers().values():  # the URL (a password, maybe) is not in their argv
        assert redis_server.url.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def test_a_sigkilled_owner_is_replaced_within_the_lease_time(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    served = serve(
        "examples.actors:app", "--port", "0", "--workers", "2", "--broker", redis_server.url + FAST
    )
    url = served.url + "/counter/c"
    first = post(url)
    owner = served_by(first)
    os.kill(owner, signal.SIGKILL)
    killed = time.monotonic()
    statuses = []
    while True:
        response = post(url)  # never hangs: 200, or 503 with Retry-After meanwhile
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["retry-after"].isdigit()
        else:
            assert response.status_code == 200, response.text
            if served_by(response) != owner:
                break
        assert time.monotonic() - killed < WAIT, statuses
        time.sleep(0.05)
    took = time.monotonic() - killed
    # The new incarnation starts from zero: state lives in the process that runs it.
    assert response.json()["count"] == 1
    assert took < 4 / 3 * 1 + 3, took  # the documented bound for a 1 s lease, and slack
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def ws_url(url: str, name: str) -> str:
    return url.replace("http://", "ws://") + f"/ws?name={name}"


def welcome(client: ClientConnection) -> str:
    """The client's welcome line (a join or leave told late may come first: presence events
    cross the broker on their own time)."""
    while not (line := str(client.recv(timeout=WAIT))).startswith("* welcome"):
        assert line.endswith((" joined", " left")), line
    return line


def next_said(client: ClientConnection, timeout: float = WAIT) -> str:
    """The next line someone said (joins and leaves skipped)."""
    while (line := str(client.recv(timeout=timeout))).startswith("* "):
        pass
    return line


def chat_everyone(urls: list[str], count: int) -> dict[str, list[str]]:
    """``count`` clients over ``urls``; each says one line; the others' lines each heard."""
    clients: dict[str, ClientConnection] = {}
    with contextlib.ExitStack() as stack:
        for n in range(count):
            name = f"c{n}"
            client = stack.enter_context(
                connect(ws_url(urls[n % len(urls)], name), open_timeout=WAIT)
            )
            clients[name] = client
            assert welcome(client).startswith(f"* welcome, {name} (here: ")
        for name, client in clients.items():
            client.send(f"hello from {name}")
        heard: dict[str, list[str]] = {}
        for name, client in clients.items():
            lines: list[str] = []
            deadline = time.monotonic() + WAIT
            while len(lines) < count - 1:
                line = str(client.recv(timeout=max(0.1, deadline - time.monotonic())))
                if not line.startswith("* "):  # joins: who came after this one
                    lines.append(line)
            heard[name] = sorted(lines)
        return heard


def everyone_heard_everyone(heard: dict[str, list[str]]) -> None:
    for name, lines in heard.items():
        others = sorted(f"{o}: hello from {o}" for o in heard if o != name)
        assert lines == others, name


def test_chat_across_two_workers_every_client_hears_every_other(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    served = serve(
        "examples.chat:app", "--port", "0", "--workers", "2", "--broker", redis_server.url
    )
    # 8 fresh connections: all of them on one of the two workers has odds of 1 in 128.
    everyone_heard_everyone(chat_everyone([served.url], 8))
    members = get(served.url + "/members").json()
    assert members == []  # everyone left; presence says so on either worker
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def test_chat_across_two_servers_on_two_ports_sharing_redis(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    one = serve("examples.chat:app", "--port", "0", "--broker", redis_server.url)
    two = serve("examples.chat:app", "--port", "0", "--broker", redis_server.url)
    with connect(ws_url(one.url, "ann"), open_timeout=WAIT) as ann:
        assert welcome(ann) == "* welcome, ann (here: ann)"
        with connect(ws_url(two.url, "bo"), open_timeout=WAIT) as bo:
            assert welcome(bo) == "* welcome, bo (here: ann, bo)"
            assert str(ann.recv(timeout=WAIT)) == "* bo joined"  # told across servers
            assert get(one.url + "/members").json() == get(two.url + "/members").json()
            assert get(one.url + "/members").json() == ["ann", "bo"]
    everyone_heard_everyone(chat_everyone([one.url, two.url], 6))
    for server in (one, two):
        server.process.send_signal(signal.SIGTERM)
        assert server.exit_status() == 0


def test_a_dead_workers_members_leave_within_the_lease_time(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    one = serve("examples.chat:app", "--port", "0", "--broker", redis_server.url + FAST)
    two = serve("examples.chat:app", "--port", "0", "--broker", redis_server.url + FAST)
    with connect(ws_url(one.url, "stays"), open_timeout=WAIT) as stays:
        welcome(stays)
        with connect(ws_url(two.url, "doomed"), open_timeout=WAIT) as doomed:
            welcome(doomed)
            assert str(stays.recv(timeout=WAIT)) == "* doomed joined"
            two.process.kill()  # SIGKILL: no goodbye from it
            killed = time.monotonic()
            assert str(stays.recv(timeout=WAIT)) == "* doomed left"
            took = time.monotonic() - killed
    assert took < 4 / 3 * 1 + 3, took
    assert get(one.url + "/members").json() == []
    one.process.send_signal(signal.SIGTERM)
    assert one.exit_status() == 0


def test_redis_restarted_under_load_the_servers_stay_up_and_resume(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    one = serve("examples.chat:app", "--port", "0", "--broker", redis_server.url + FAST)
    two = serve("examples.chat:app", "--port", "0", "--broker", redis_server.url + FAST)
    with (
        connect(ws_url(one.url, "talker"), open_timeout=WAIT) as talker,
        connect(ws_url(two.url, "hearer"), open_timeout=WAIT) as hearer,
    ):
        welcome(talker)
        welcome(hearer)
        n = 0

        def say() -> None:
            nonlocal n
            n += 1
            talker.send(f"line {n}")

        say()
        assert next_said(hearer) == "talker: line 1"
        redis_server.stop()
        down = time.monotonic()
        while time.monotonic() - down < 1.5:  # load through the outage; all of it is lost
            say()
            assert get(one.url + "/").status_code == 200  # the servers stay up
            assert get(two.url + "/members").status_code in (200, 503)
            time.sleep(0.05)
        redis_server.start()
        deadline = time.monotonic() + WAIT
        while True:  # until lines flow between the servers again
            say()
            try:
                line = next_said(hearer, timeout=0.3)
            except TimeoutError:
                assert time.monotonic() < deadline, "no line after the restart"
                continue
            if line.startswith("talker: line "):
                break
    for server in (one, two):
        server.process.send_signal(signal.SIGTERM)
        assert server.exit_status() == 0
        output = server.output()
        assert len(re.findall("unreachable", output)) == 1, output  # once per outage
        assert len(re.findall("reachable again", output)) == 1, output


def test_a_named_actor_is_placed_again_after_a_redis_restart(
    serve: Callable[..., Served], redis_server: RedisServer
) -> None:
    served = serve(
        "examples.actors:app", "--port", "0", "--workers", "2", "--broker", redis_server.url + FAST
    )
    url = served.url + "/counter/r"
    assert post(url).status_code == 200
    redis_server.stop()
    for _ in range(10):  # answered locally by the owner, or 503: never a hang, never a crash
        response = post(url)
        assert response.status_code in (200, 503), response.text
    redis_server.start()
    deadline = time.monotonic() + WAIT
    while post(url).status_code != 200 or post(url).status_code != 200:
        assert time.monotonic() < deadline, served.output()
        time.sleep(0.1)
    assert len(set(served.workers().values())) == 2  # no worker died
    assert "was killed" not in served.output()
    assert "exited with" not in served.output()
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unreachable_broker_exits_1_naming_it(
    serve: Callable[..., Served], workers: str
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    served = serve("examples.chat:app", "--port", "0", "--workers", workers, "--broker", url)
    assert served.exit_status() == 1
    assert f"actorhttp: cannot reach the broker at {url}" in served.output()
    assert "Traceback" not in served.output()


@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed (scripts/test.sh installs it with apt-get when it can)",
)
def test_the_broker_benchmark_runs(redis_server: RedisServer) -> None:
    """A smoke run of benchmarks/broker.py (figures come from real runs, not from here)."""
    done = subprocess.run(
        [sys.executable, "benchmarks/broker.py", "--quick"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows if "|---" not in row] == [
        "| setup",
        "| 1 process, in-process broker",
        "| 2 workers, Redis",
        "| route on server B",
        "| mailbox route, actor local to B",
        "| named actor held by server A",
    ]
