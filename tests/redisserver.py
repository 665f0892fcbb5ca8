"""A real ``redis-server`` for the broker tests: on a free loopback port, persistence off.

Debian's ``redis-server`` package; ``scripts/test.sh`` installs it with
apt-get when it runs as root. The fixtures skip, saying so, when it is not
installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

START_WAIT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process, stoppable and restartable on the same port."""

    def __init__(self, port: int, tls: tuple[str, str] | None = None) -> None:
        """``tls``: (certificate chain file, key file): TLS only, on ``port``."""
        self.port = port
        self.tls = tls
        self.url = f"{'rediss' if tls else 'redis'}://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.tls is None:
            listen = ["--port", str(self.port)]
        else:
            listen = ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            listen += ["--tls-cert-file", self.tls[0], "--tls-key-file", self.tls[1]]
        self.process = subprocess.Popen(
            [
                *("redis-server", *listen, "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_WAIT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if self.tls is not None:
                        return  # listening; whether TLS works is the test's to find
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill it (no save: persistence is off anyway) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=START_WAIT)
        self.process = None


def need_redis_server() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip(
            "redis-server is not installed (scripts/test.sh installs Debian's redis-server "
            "with apt-get when it runs as root)"
        )


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server for one test; stopped at its end."""
    need_redis_server()
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
