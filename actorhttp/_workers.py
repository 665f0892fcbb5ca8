"""Worker processes: a supervisor binds the port and keeps N worker processes serving it.

The supervisor owns the listening sockets and never imports the app. On
Linux each worker gets its own socket, bound to the same address with
``SO_REUSEPORT``, so the kernel spreads new connections evenly; elsewhere
(or asked to) one socket is shared by all of them. Because the supervisor
keeps every socket open, connections that arrive while a worker restarts
wait in its backlog instead of being refused.

Each worker is ``python -m actorhttp ... --fd N --supervisor-fd M``: it
serves the inherited sockets, writes one byte on the socketpair ``M`` once
it is listening, and stops gracefully when that socketpair reaches end of
file, which happens when the supervisor dies however it dies. Workers run
in their own process group, so a Ctrl-C typed in a terminal reaches only
the supervisor, which forwards it as SIGTERM: the first stops gracefully,
a second cuts.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence

import trio

from ._serve import CLEANUP_TIMEOUT, Server
from ._supervise import RestartBudget, Restarts, SupervisionError
from ._transports._base import bound_address

__all__ = ["bind_sockets", "report_to_supervisor", "run_supervisor"]

logger = logging.getLogger("actorhttp")

Command = Callable[[Sequence[int], int], list[str]]
"""The worker's command line, given the descriptors of its sockets and of its socketpair."""

# A worker that dies is started again after this pause, so a crash loop is not a hot loop.
RESTART_PAUSE = 0.2
# After the grace and the app's cleanup, the supervisor kills a worker still running.
KILL_MARGIN = 5.0


def reuse_port_default() -> bool:
    """Whether one SO_REUSEPORT socket per worker is the default: on Linux, which balances them."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def bind_sockets(
    host: str | None, port: int, *, backlog: int, copies: int, reuse_port: bool
) -> list[list[socket.socket]]:
    """Bind and listen on every address of ``host:port``: ``copies`` sets of sockets.

    With ``reuse_port`` each set is a separate socket per address, bound
    with ``SO_REUSEPORT`` (one set per worker); without it ``copies`` must
    be 1. Port 0 picks one free port for them all. Raises ``OSError``
    naming the address that could not be bound, having closed the rest.
    """
    if copies > 1 and not reuse_port:
        raise ValueError("several copies of a socket need reuse_port")
    addresses = socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sets: list[list[socket.socket]] = [[] for _ in range(copies)]
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            for each in sets:
                sock = socket.socket(family, kind, proto)
                each.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and sets[0][0] is not sock:
                    address = (address[0], sets[0][0].getsockname()[1], *address[2:])
                try:
                    sock.bind(address)
                except OSError as exc:
                    where = f"{address[0]!s}:{address[1]!s}"
                    raise OSError(exc.errno, f"cannot bind {where}: {exc.strerror}") from exc
                sock.listen(backlog)
    except BaseException:
        close_all(sets)
        raise
    return sets


def close_all(socket_sets: list[list[socket.socket]]) -> None:
    """Close every socket of every set (closing one twice is harmless)."""
    for each in socket_sets:
        for sock in each:
            sock.close()


def report_to_supervisor(
    supervisor_fd: int, shutdown_timeout: float
) -> Callable[[Server], Awaitable[None]]:
    """A worker's task beside its server: say it is ready, then stop when the supervisor goes.

    Takes ownership of ``supervisor_fd`` (the worker's end of its socketpair).
    """
    channel = socket.socket(fileno=supervisor_fd)

    async def alongside(server: Server) -> None:
        with trio.socket.from_stdlib_socket(channel) as control:
            try:
                await control.send(b"r")
                while await control.recv(64):  # the supervisor never writes: wait for EOF
                    pass
            except OSError:
                pass
        logger.warning("the supervisor is gone: stopping")
        await server.stop(shutdown_timeout)

    return alongside


class WorkerDied(Exception):
    """A worker process ended without being asked to (what a restart budget counts)."""


class _Workers:
    """The supervisor's state: the live worker processes and whether we are stopping."""

    def __init__(
        self,
        command: Command,
        socket_sets: list[list[socket.socket]],
        workers: int,
        shutdown_timeout: float,
        budget: RestartBudget,
    ) -> None:
        self.command = command
        self.socket_sets = socket_sets
        self.workers = workers
        self.shutdown_timeout = shutdown_timeout
        self.budget = budget
        self.processes: dict[int, trio.Process] = {}
        self.failure: str | None = None
        self.served: set[int] = set()  # the slots whose worker has been serving once
        self.all_ready = trio.Event()
        self.stop_requested = trio.Event()

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set()

    def sockets_of(self, slot: int) -> list[socket.socket]:
        return self.socket_sets[slot % len(self.socket_sets)]

    def stop(self, failure: str | None = None) -> None:
        """Begin the graceful stop: no restarts, the sockets closed, SIGTERM to every worker."""
        if self.stopping:
            return
        self.stop_requested.set()
        self.failure = failure
        close_all(self.socket_sets)  # the workers' duplicates close as they stop
        self.signal_all(signal.SIGTERM)

    def signal_all(self, signum: int) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signum)

    async def keep(self, slot: int) -> None:
        """Run worker ``slot``, and start it again each time it dies, within the budget."""
        restarts = Restarts(f"worker {slot}", self.budget)
        while not self.stop_requested.is_set():
            code = await self._run_once(slot)
            if self.stop_requested.is_set():  # it stopped because we asked
                return
            what = f"worker {slot} {_describe(code)}"
            if slot not in self.served:  # it never started: the app or its settings are wrong
                self.stop(f"{what} before it was serving")
                return
            try:
                restarts.died(WorkerDied(what), log=False)
            except SupervisionError as exc:
                logger.error("%s: stopping", exc)
                self.stop(str(exc))
                return
            logger.error("%s; restarting it", what)
            await trio.sleep(RESTART_PAUSE)

    async def _run_once(self, slot: int) -> int:
        sockets = self.sockets_of(slot)
        ours, theirs = socket.socketpair()
        fds = [sock.fileno() for sock in sockets]
        with trio.socket.from_stdlib_socket(ours) as control:
            try:
                process = await trio.lowlevel.open_process(
                    self.command(fds, theirs.fileno()),
                    pass_fds=(*fds, theirs.fileno()),
                    process_group=0,  # a terminal's Ctrl-C is ours to forward
                )
            finally:
                theirs.close()  # the worker's copy is the one whose EOF matters
            self.processes[slot] = process
            try:
                ready = await control.recv(1) == b"r"
                if ready:
                    logger.info("worker %d (pid %d) is serving", slot, process.pid)
                    self.served.add(slot)
                    if len(self.served) == self.workers:
                        self.all_ready.set()
                return await process.wait()
            finally:
                del self.processes[slot]
                if process.returncode is None:  # we were cancelled: leave nothing behind
                    process.kill()
                    with trio.CancelScope(shield=True):
                        await process.wait()


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


async def run_supervisor(
    command: Command,
    socket_sets: list[list[socket.socket]],
    *,
    workers: int,
    shutdown_timeout: float,
    scheme: str = "http",
    budget: RestartBudget | None = None,
    print: Callable[..., None] | None = print,
) -> str | None:
    """Keep ``workers`` worker processes serving ``socket_sets`` until SIGTERM or SIGINT.

    Closes the sockets when it stops. Returns ``None`` after a requested
    stop, or why it had to stop: a worker that died before it ever served,
    or one that died more often than ``budget`` allows.
    """
    workers_state = _Workers(
        command, socket_sets, workers, shutdown_timeout, budget or RestartBudget()
    )
    urls = [f"{scheme}://{bound_address(sock)}" for sock in socket_sets[0]]
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async with trio.open_nursery() as outer:

            async def on_signals() -> None:
                async for signum in received:
                    if not workers_state.stopping:
                        logger.info("%s: stopping gracefully", signal.Signals(signum).name)
                        workers_state.stop()
                    else:  # a second signal: each worker cuts what is left
                        workers_state.signal_all(signal.SIGTERM)

            async def announce() -> None:
                await workers_state.all_ready.wait()
                if print is not None and not workers_state.stopping:
                    print(f"======== Running on {', '.join(urls)} ({workers} workers) ========")
                    print("(Press CTRL+C to quit)")
                    sys.stdout.flush()

            async def deadline() -> None:
                await workers_state.stop_requested.wait()
                await trio.sleep(shutdown_timeout + CLEANUP_TIMEOUT + KILL_MARGIN)
                logger.error("workers still running past the shutdown timeout: killing them")
                workers_state.signal_all(signal.SIGKILL)

            outer.start_soon(on_signals)
            outer.start_soon(announce)
            outer.start_soon(deadline)
            try:
                async with trio.open_nursery() as slots:
                    for slot in range(workers):
                        slots.start_soon(workers_state.keep, slot)
            finally:
                close_all(socket_sets)
            outer.cancel_scope.cancel()
    return workers_state.failure
