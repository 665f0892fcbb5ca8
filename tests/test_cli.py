"""The command line and its worker processes, run as real processes on loopback.

``python -m actorhttp tests.cli_app:app`` is started with its output going to
files (a pipe nobody reads could block it); a test waits for the lines it
needs, bounded in time, and every process it saw is killed at the end
whatever happened.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from actorhttp._cli import main
from actorhttp._workers import bind_sockets, close_all

REPO = Path(__file__).resolve().parent.parent
WAIT = 30.0  # seconds: generous, for a loaded CI machine; a passing test takes far less


class Served:
    """One ``python -m actorhttp`` process tree and what it wrote."""

    def __init__(
        self, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], pass_fds: tuple[int, ...]
    ) -> None:
        n = len(list(tmp_path.glob("stdout*.txt")))  # a test may start several
        self.out = tmp_path / f"stdout{n}.txt"
        self.err = tmp_path / f"stderr{n}.txt"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "actorhttp", *args, "--no-access-log"],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, **env},
                pass_fds=pass_fds,
                start_new_session=True,  # a group of its own, for ctrl_c() to signal
            )
        self.seen: set[int] = set()

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_for(self, pattern: str, count: int = 1) -> list[re.Match[str]]:
        """The first ``count`` matches of ``pattern`` in the output, waiting for them."""
        deadline = time.monotonic() + WAIT
        while True:
            matches = list(re.finditer(pattern, self.output()))
            if len(matches) >= count:
                return matches[:count]
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {count} x {pattern!r} in:\n{self.output()}")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return self.wait_for(r"Running on (https?://\S+?)[ ,]")[0].group(1)

    def workers(self) -> dict[int, int]:
        """slot -> pid of the workers serving now (the latest line for each slot)."""
        found = {
            int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"worker (\d+) \(pid (\d+)\) is serving", self.output())
        }
        self.seen.update(found.values())
        return found

    def ctrl_c(self) -> None:
        """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def exit_status(self) -> int:
        return self.process.wait(timeout=WAIT)

    def cleanup(self) -> None:
        self.workers()
        for pid in [self.process.pid, *self.seen]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=WAIT)


@pytest.fixture
def serve_cli(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(
        *args: str, env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()
    ) -> Served:
        served = Served(tmp_path, args, env or {}, pass_fds)
        started.append(served)
        return served

    yield start
    for served in started:
        served.cleanup()


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; nobody may have reaped it yet


def wait_dead(pids: set[int]) -> None:
    deadline = time.monotonic() + WAIT
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if alive(p)]}"
        time.sleep(0.05)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """One request on a connection of its own, so SO_REUSEPORT can pick another worker."""
    return httpx.get(url, timeout=WAIT, **kwargs)


def send_raw(url: str, target: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    sock.close()
    return b"".join(chunks)


def test_requests_spread_over_the_workers_and_sigterm_stops_them(
    serve_cli: Callable[..., Served],
) -> None:
    served = serve_cli("tests.cli_app:app", "--port", "0", "--workers", "2")
    url = served.url
    workers = served.workers()
    assert len(workers) == 2
    answered = {get(url).text for _ in range(40)}
    # The kernel hashes each new connection to one worker's socket: 40 all landing on
    # one of two workers would happen once in 2**39 runs.
    assert answered == {str(pid) for pid in workers.values()}
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0
    wait_dead(set(workers.values()))
    assert "SIGTERM: stopping gracefully" in served.output()


def test_a_killed_worker_comes_back_and_its_connections_wait_for_it(
    serve_cli: Callable[..., Served],
) -> None:
    served = serve_cli("tests.cli_app:app", "--port", "0", "--workers", "2")
    url = served.url
    before = served.workers()
    os.kill(before[0], signal.SIGKILL)
    answered: set[str] = set()
    for _ in range(200):
        response = get(url)  # half of them hash to the dead worker's socket: they wait
        assert response.status_code == 200
        answered.add(response.text)
        if answered - {str(pid) for pid in before.values()}:
            break
    else:
        raise AssertionError(f"no new worker answered:\n{served.output()}")
    assert "worker 0 was killed by SIGKILL; restarting it" in served.output()
    # The new worker may answer before the supervisor has logged it as serving.
    served.wait_for(r"worker 0 \(pid \d+\) is serving", count=2)
    after = served.workers()
    assert after[0] != before[0]
    assert after[1] == before[1]
    assert str(after[0]) in answered


def test_a_stop_lets_requests_in_flight_finish_and_refuses_new_ones(
    serve_cli: Callable[..., Served],
) -> None:
    served = serve_cli("tests.cli_app:app", "--port", "0", "--workers", "2")
    url = served.url
    in_flight = send_raw(url, "/slow?s=2")
    assert get(url).status_code == 200  # both workers are up and taking requests
    time.sleep(0.3)  # the slow request is in its handler by now
    # Were the workers in the supervisor's process group, they would get this SIGINT
    # and the supervisor's SIGTERM: two signals, which cut instead of stopping gracefully.
    served.ctrl_c()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    deadline = time.monotonic() + WAIT
    while True:  # the listeners close at once, while the slow request still runs
        try:
            socket.create_connection((host, int(port)), timeout=WAIT).close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, "the port still accepts after SIGTERM"
        time.sleep(0.02)
    answer = read_all(in_flight)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"slow done")
    assert served.exit_status() == 0


def test_a_second_signal_cuts_requests_in_flight(serve_cli: Callable[..., Served]) -> None:
    served = serve_cli("tests.cli_app:app", "--port", "0", "--workers", "2")
    url = served.url
    workers = served.workers()
    in_flight = send_raw(url, "/slow?s=600")
    time.sleep(0.3)
    served.ctrl_c()
    time.sleep(0.3)
    started = time.monotonic()
    served.ctrl_c()
    assert served.exit_status() == 0
    assert time.monotonic() - started < 10  # not the 60 s shutdown timeout
    assert b"slow done" not in read_all(in_flight)
    wait_dead(set(workers.values()))


def test_workers_stop_when_their_supervisor_is_killed(serve_cli: Callable[..., Served]) -> None:
    served = serve_cli("tests.cli_app:app", "--port", "0", "--workers", "2")
    served.wait_for("Running on")
    workers = served.workers()
    served.process.kill()
    served.process.wait(timeout=WAIT)
    wait_dead(set(workers.values()))
    assert served.output().count("the supervisor is gone: stopping") == 2


def test_workers_that_cannot_start_stop_the_server(
    serve_cli: Callable[..., Served], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.touch()
    served = serve_cli(
        "tests.cli_app:app", "--port", "0", "--workers", "2", env={"CLI_APP_BROKEN": str(broken)}
    )
    assert served.exit_status() == 1
    output = served.output()
    assert re.search(r"actorhttp: worker \d exited with status 1 before it was serving", output)
    assert "cli_app is broken on purpose" in output  # the worker's own traceback
    assert "Running on" not in output


def test_a_worker_dying_past_its_restart_budget_stops_the_server(
    serve_cli: Callable[..., Served], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    served = serve_cli(
        "tests.cli_app:app", "--port", "0", "--workers", "2", env={"CLI_APP_BROKEN": str(broken)}
    )
    served.wait_for("Running on")
    workers = served.workers()
    broken.touch()  # from now on a restarted worker fails to import the app
    os.kill(workers[1], signal.SIGKILL)
    assert served.exit_status() == 1
    assert re.search(
        r"actorhttp: worker 1 died 6 times within 60 s \(restart budget: 5\); "
        r"last failure: WorkerDied: worker 1 exited with status 1",
        served.output(),
    )
    wait_dead(set(workers.values()))


def test_one_shared_socket_without_reuse_port(serve_cli: Callable[..., Served]) -> None:
    served = serve_cli("tests.cli_app:app", "--port", "0", "--workers", "2", "--no-reuse-port")
    url = served.url
    before = served.workers()
    assert len(before) == 2
    assert all(get(url).status_code == 200 for _ in range(10))
    os.kill(before[1], signal.SIGKILL)
    served.wait_for(r"worker 1 \(pid \d+\) is serving", count=2)
    assert all(get(url).status_code == 200 for _ in range(10))
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def test_one_process_serves_an_async_factory(serve_cli: Callable[..., Served]) -> None:
    served = serve_cli("tests.cli_app:make_app_async", "--port", "0", "--transport", "hypercorn")
    url = served.url
    response = get(url)
    assert response.text == str(served.process.pid)  # no workers: this process serves
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def test_fd_serves_an_inherited_listening_socket(serve_cli: Callable[..., Served]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        served = serve_cli(
            "tests.cli_app:app", "--fd", str(listening.fileno()), pass_fds=(listening.fileno(),)
        )
        assert served.url == f"http://127.0.0.1:{port}"
        assert get(served.url).text == str(served.process.pid)
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def test_workers_serve_https_and_http2_from_certificate_files(
    serve_cli: Callable[..., Served], tmp_path: Path
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    served = serve_cli(
        "tests.cli_app:app",
        *("--port", "0", "--workers", "2", "--certfile", str(certfile), "--keyfile", str(keyfile)),
    )
    url = served.url
    assert url.startswith("https://127.0.0.1:")
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with httpx.Client(verify=client_context, http2=True, timeout=WAIT) as client:
        response = client.get(url)
    assert response.http_version == "HTTP/2"  # auto picks hypercorn for certificate files
    assert response.text in {str(pid) for pid in served.workers().values()}
    served.process.send_signal(signal.SIGTERM)
    assert served.exit_status() == 0


def test_bind_sockets_gives_every_worker_the_same_free_port() -> None:
    sets = bind_sockets("127.0.0.1", 0, backlog=8, copies=3, reuse_port=True)
    try:
        ports = {sock.getsockname()[1] for each in sets for sock in each}
        assert len(sets) == 3
        assert len(ports) == 1
        assert ports != {0}
    finally:
        close_all(sets)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tests.cli_app"], "'tests.cli_app' is not in module:app form"),
        (["tests.nowhere:app"], "no module named 'tests.nowhere' (from tests.nowhere:app)"),
        (["tests.cli_app:nothing"], "module 'tests.cli_app' has no attribute 'nothing'"),
        (["tests.cli_app:NOT_AN_APP"], "tests.cli_app:NOT_AN_APP is a int, not a web.Application"),
        (["tests.cli_app:not_a_factory"], "tests.cli_app:not_a_factory() returned 42"),
        (["tests.cli_app:app", "--workers", "0"], "--workers must be at least 1, not 0"),
        (["tests.cli_app:app", "--port", "x"], "--port: invalid int value: 'x'"),
        (["tests.cli_app:app", "--min-response-rate", "-1"], "--min-response-rate must be 0"),
        (["tests.cli_app:app", "--client-max-size", "0"], "client_max_size must be"),
        (["tests.cli_app:app", "--workers", "2", "--max-headers", "0"], "max_headers must be"),
        (["tests.cli_app:app", "--fd", "3", "--port", "1"], "leave out --host and --port"),
        (["tests.cli_app:app", "--transport", "h3"], "invalid choice: 'h3'"),
        (
            ["tests.cli_app:app", "--certfile", str(REPO / "README.md")],
            "TLS needs both certfile and keyfile",
        ),
        (
            ["tests.cli_app:app", "--certfile", "c.pem", "--keyfile", "k.pem"],
            "--certfile c.pem: no such file",
        ),
    ],
)
def test_bad_options_exit_2_naming_the_problem(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_port_in_use_exits_1_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["tests.cli_app:app", "--port", str(port), "--workers", "2"])
    assert exited.value.code == 1
    assert f"cannot bind 127.0.0.1:{port}: Address already in use" in capsys.readouterr().err


def test_the_console_script_is_installed() -> None:
    script = shutil.which("actorhttp", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip(
            f"no actorhttp script beside {sys.executable}: the package was installed before "
            "pyproject declared it; `pip install -e .` (scripts/venv.sh does) adds it"
        )
    result = subprocess.run(
        [script, "--help"], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--workers" in result.stdout
    assert "module:app" in result.stdout


@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed (scripts/test.sh installs it with apt-get when it can)",
)
def test_the_workers_benchmark_runs_one_and_two_workers() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/workers.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row[0] for row in rows[1:]] == ["| 1", "| 2"]  # after the header
    assert all(float(row[1].replace(",", "")) > 0 for row in rows[1:])
