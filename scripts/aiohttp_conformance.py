"""Run aiohttp's own server tests against actorhttp, and count what passes.

    python scripts/aiohttp_conformance.py                    # the five files, against actorhttp
    python scripts/aiohttp_conformance.py --reference        # the same files against aiohttp
    python scripts/aiohttp_conformance.py --keep /tmp/conf -- -k test_simple_get   # one test
    python scripts/aiohttp_conformance.py --report /tmp/conf/report.xml   # summarise it again

A measuring tool, not part of the test suite: it needs a copy of aiohttp's
git repository (``--git-dir``; by default the mirror the ``fetch`` tool
makes, ``/work/.mirror/aio-libs+aiohttp/repo``, or ``git clone
https://github.com/aio-libs/aiohttp``). From ``--ref`` (the ``3.14``
branch by default) it takes aiohttp's ``tests/conftest.py``, the data files
beside it and five test files (``test_web_functional``,
``test_web_urldispatcher``, ``test_web_middleware``,
``test_web_websocket_functional``, ``test_web_sendfile_functional``) into a
temporary directory, never into this repository.

Each test file is changed as a port to actorhttp is: ``from aiohttp import
web`` becomes ``from actorhttp import web`` (``web`` taken out of a longer
``from aiohttp import ...``), and ``aiohttp.web.X`` becomes ``web.X``.
Nothing else changes: the tests keep aiohttp's real client.

A ``conftest.py`` of this harness, beside the tests, replaces the
``aiohttp_server`` and ``aiohttp_client`` fixtures: the app (an actorhttp
``Application``) is served by ``actorhttp.web.serve`` in a trio thread (an
anyio blocking portal), on 127.0.0.1, with ``handler_cancellation=True``
as aiohttp's ``TestServer`` sets it, and the keywords a test gives its
server (aiohttp's ``AppRunner`` settings) passed to ``serve``. The tests
run in asyncio, as under aiohttp's own pytest plugin, and talk to it with
aiohttp's ``TestClient`` over real sockets. Every test gets at most
``--timeout`` seconds. One test fixture is replaced too:
test_web_sendfile_functional's ``sender``, which asserts inside the handler
that asyncio's ``loop.sendfile`` is patched for its "no_sendfile" case;
the harness's builds the same ``web.FileResponse`` for both cases.

Not every test can say anything about actorhttp: :data:`NOT_COUNTED`
lists, by name and with the reason, the tests whose handlers use asyncio
(a handler runs in trio), or that poke aiohttp's internals (its protocol
classes, runners, private modules). They run, but their outcome is not
counted. The report gives, per file, the counted tests that pass, then
each counted failure with the first line of its error; ``--reference``
runs the same files unchanged on aiohttp (every counted test should pass
there: that checks the harness). Exit status 0 whatever the counts: it
measures, it does not gate.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Set
from pathlib import Path

DEFAULT_GIT_DIR = "/work/.mirror/aio-libs+aiohttp/repo"
FILES = (
    "test_web_functional.py",
    "test_web_urldispatcher.py",
    "test_web_middleware.py",
    "test_web_websocket_functional.py",
    "test_web_sendfile_functional.py",
)
DATA_FILES = (
    "aiohttp.jpg",
    "aiohttp.png",
    "data.unknown_mime_type",
    "data.zero_bytes",
    "sample.txt",
)

# Tests that say nothing about actorhttp, by name (without parameters): why each is left out.
ASYNCIO = "its handler uses asyncio (a task, an Event, a future, to_thread, the loop)"
FUTURES = "its handler sets asyncio futures or events the test awaits (not from trio's thread)"
PROTOCOL = "pokes aiohttp's RequestHandler internals (monkeypatched methods, queue state)"


def _counted_out() -> dict[str, str]:
    web = "test_web_functional.py::"
    ws = "test_web_websocket_functional.py::"
    out = {
        web + "test_await": ASYNCIO,
        web + "test_cancel_shutdown": ASYNCIO + "; request.protocol.shutdown()",
        web + "test_context_manager_close_on_release": ASYNCIO + "; mocks the client protocol",
        web + "test_files_upload_with_same_key": ASYNCIO,
        web + "test_http1_pipelined_behind_declined_upgrade_served_once": FUTURES,
        web + "test_http1_pipelined_queue_resumes_after_drain": PROTOCOL,
        web + "test_http1_pipelined_requests_are_count_limited": PROTOCOL,
        web + "test_keepalive_expires_on_time": "reads aiohttp's keep-alive handle and Server",
        web + "test_keepalive_race_condition": PROTOCOL,
        web + "test_post_file_field_spool_rollover": ASYNCIO,
        web + "test_post_file_fields_descriptor_cost": ASYNCIO,
        web + "test_post_files": ASYNCIO,
        web + "test_post_single_file": ASYNCIO,
        web + "test_requests_count": "reads aiohttp's low-level Server (client.server.handler)",
        web + "test_response_with_async_gen": ASYNCIO,
        web + "test_response_with_async_gen_no_params": ASYNCIO,
        web + "test_response_with_streamer": ASYNCIO,
        web + "test_response_with_streamer_no_params": ASYNCIO,
        web + "test_unread_compressed_body_drain_is_bounded": "monkeypatches aiohttp's "
        "StreamReader.readany to count reads",
        web + "test_upgrade_tail_is_byte_limited": PROTOCOL,
        web + "test_upgrade_tail_resumes_reading_after_websocket_prepare": PROTOCOL,
        web + "test_upload_file": ASYNCIO,
        web + "test_upload_file_object": ASYNCIO,
        "test_web_middleware.py::test_middleware_does_not_leak": "reads aiohttp's "
        "web_app._cached_build_middleware cache",
        "test_web_sendfile_functional.py::test_sendfile_after_client_disconnect": ASYNCIO
        + "; request._protocol",
        "test_web_sendfile_functional.py::test_static_file_huge_cancel": "cancels "
        "request.task, the handler's asyncio task",
        "test_web_sendfile_functional.py::test_zero_bytes_file_mocked_native_sendfile": (
            "patches the asyncio loop's sendfile"
        ),
        "test_web_urldispatcher.py::test_order_is_preserved": "reads match_info._route and "
        "checks aiohttp's web_urldispatcher.Resource",
        "test_web_urldispatcher.py::test_route_with_regex": "reads match_info._route and "
        "checks aiohttp's web_urldispatcher.Resource",
        "test_web_urldispatcher.py::test_system_route": "tests aiohttp's own SystemRoute class",
        ws + "test_heartbeat_connection_closed": "mocks the response's _req and _writer",
        ws + "test_websocket_disable_keepalive": "reads aiohttp's keep-alive handle",
        ws + "test_websocket_shutdown": "awaits app.shutdown() (trio code) from asyncio",
        ws + "test_close_timeout": ASYNCIO,
        ws + "test_concurrent_close": ASYNCIO,
        ws + "test_concurrent_close_multiple_tasks": ASYNCIO,
        ws + "test_close_op_code_from_client": ASYNCIO,
        ws + "test_custom_receive_timeout": ASYNCIO,
        ws + "test_receive_timeout": ASYNCIO,
        ws + "test_receive_being_cancelled_keeps_connection_open": ASYNCIO,
        ws + "test_receive_timeout_keeps_connection_open": ASYNCIO,
        ws + "test_prepare_after_client_disconnect": ASYNCIO + "; request._protocol",
    }
    for name in (
        "test_auto_pong_with_closing_by_peer",
        "test_change_status",
        "test_closed_async_for",
        "test_handle_protocol",
        "test_normal_closure_while_client_sends_msg",
        "test_ping",
        "test_pong",
        "test_send_recv_bytes",
        "test_send_recv_json",
        "test_send_recv_text",
        "test_server_close_handshake",
        "test_server_close_handshake_server_eats_client_messages",
        "test_server_ws_async_for",
        "test_websocket_prepare_timeout_from_issue_reproducer",
        "test_websocket_prepared_property",
    ):
        out[ws + name] = FUTURES
    if os.geteuid() == 0:
        # Fail on aiohttp too: root reads every file, so nothing is forbidden.
        for name in (
            "test_static_directory_without_read_permission",
            "test_static_file_without_read_permission",
        ):
            out["test_web_urldispatcher.py::" + name] = "run as root here, who reads any file"
    return out


NOT_COUNTED = _counted_out()

PYTEST_INI = """\
[pytest]
addopts = -p no:cacheprovider -p no:trio -p no:actorhttp.pytest_plugin -p no:anyio
    -m "not dev_mode and not autobahn and not internal"
xfail_strict = true
filterwarnings =
    error
    ignore:Unclosed client session <aiohttp.client.ClientSession object at 0x:ResourceWarning
    ignore:Exception ignored in. <_io:pytest.PytestUnraisableExceptionWarning
    ignore:aiohttp.pytest_plugin will be removed in v4:DeprecationWarning
markers =
    autobahn: Autobahn testsuite.
    dev_mode: mark test to run in dev mode.
    internal: tests which may cause issues for packagers.
    skip_blockbuster: mark test to skip the blockbuster fixture.
"""

HARNESS_CONFTEST = '''\
"""The conformance harness's fixtures: aiohttp's client, actorhttp's server in a trio thread."""

import asyncio
import signal
from functools import partial
from typing import Any

import pytest
from aiohttp.test_utils import BaseTestServer, TestClient
from anyio.from_thread import start_blocking_portal

from actorhttp import web

TIMEOUT = {timeout}
STOP_TIMEOUT = 10


class ActorhttpTestServer(BaseTestServer):
    """aiohttp's BaseTestServer, serving an actorhttp app with ``web.serve`` in a trio thread."""

    def __init__(self, app: Any, *, scheme: str = "", host: str = "127.0.0.1",
                 port: int | None = None, loop: Any = None, skip_url_asserts: bool = False,
                 **kwargs: Any) -> None:
        if not isinstance(app, web.Application):
            raise TypeError(f"the harness serves actorhttp applications, not {{app!r}}")
        self.app = app
        self._settings = kwargs  # aiohttp's AppRunner settings: serve()'s keywords here
        self._portal_cm: Any = None
        self._server: Any = None
        super().__init__(
            scheme=scheme, host=host, port=port, loop=loop, skip_url_asserts=skip_url_asserts
        )

    async def _make_runner(self, **kwargs: Any) -> Any:  # BaseTestServer's abstract method
        raise NotImplementedError

    async def start_server(self, loop: Any = None, **kwargs: Any) -> None:
        if self.runner:
            return
        self._loop = loop
        settings = {{"handler_cancellation": True, **self._settings, **kwargs}}
        ssl_context = settings.pop("ssl", None)
        if ssl_context is not None:
            settings["ssl_context"] = ssl_context
        await asyncio.to_thread(self._start, settings)
        self.runner = self._server  # BaseTestServer reads "started" from it
        self.port = self._server.port
        if not self.scheme:
            self.scheme = "https" if ssl_context is not None else "http"
        from yarl import URL
        self._root = URL(f"{{self.scheme}}://{{self.host}}:{{self.port}}")

    def _start(self, settings: dict[str, Any]) -> None:
        self._portal_cm = start_blocking_portal(backend="trio")
        self._portal = portal = self._portal_cm.__enter__()
        try:
            _, self._server = portal.start_task(
                partial(web.serve, self.app, self.host, self.port or 0, **settings)
            )
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = None
            raise

    def _stop(self) -> None:
        stopped = self._portal.start_task_soon(partial(self._server.stop, grace=1))
        try:
            stopped.result(timeout=STOP_TIMEOUT)
        except TimeoutError:
            # A handler stuck outside trio (an asyncio future from the test) holds the
            # stop: leave the thread; the session's end does not wait for it.
            print(f"server still stopping after {{STOP_TIMEOUT}} s: left behind")
            return
        self._portal_cm.__exit__(None, None, None)

    async def close(self) -> None:
        if self.started and not self.closed:
            self._closed = True
            if self._portal_cm is not None:
                await asyncio.to_thread(self._stop)
                self._portal_cm = None
            self._root = None
            self.port = None


@pytest.fixture
def aiohttp_server(loop):
    servers = []

    async def go(app, *, host="127.0.0.1", port=None, **kwargs):
        server = ActorhttpTestServer(app, host=host, port=port)
        await server.start_server(loop=loop, **kwargs)
        servers.append(server)
        return server

    yield go

    async def finalize():
        while servers:
            await servers.pop().close()

    loop.run_until_complete(finalize())


@pytest.fixture
def aiohttp_client(loop):
    clients = []

    async def go(param, *args, server_kwargs=None, **kwargs):
        if isinstance(param, BaseTestServer):
            client = TestClient(param, loop=loop, **kwargs)
        else:
            server = ActorhttpTestServer(param, **(server_kwargs or {{}}))
            client = TestClient(server, loop=loop, **kwargs)
        await client.start_server()
        clients.append(client)
        return client

    yield go

    async def finalize():
        while clients:
            await clients.pop().close()

    loop.run_until_complete(finalize())


@pytest.fixture(params=["sendfile", "no_sendfile"], ids=["sendfile", "no_sendfile"])
def sender(request):
    # test_web_sendfile_functional's own ``sender`` checks, inside the handler, that
    # asyncio's loop.sendfile is patched for "no_sendfile": aiohttp's business. Here
    # both ids build the same actorhttp FileResponse.
    return web.FileResponse


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # A server a timed-out test could not stop leaves its threads behind: once the
    # report is written, do not wait for them.
    import os, sys, threading
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
'''

# Both runs' conftest ends with this: a time limit on each test, its teardown included.
TIME_LIMIT = """

class _TimedOut(Exception):
    pass


def _alarm(signum, frame):
    signal.alarm(TIMEOUT)  # the teardown that follows gets as long again
    raise _TimedOut(f"test still running after {TIMEOUT} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # Setup, call and teardown: a server that would not stop must not hang the run.
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
"""

REFERENCE_CONFTEST = """\
\"\"\"The reference run: aiohttp's own fixtures, with the harness's time limit.\"\"\"

import signal

import pytest

TIMEOUT = {timeout}
"""


# Module fixtures the harness's conftest replaces (a module's own would win over it).
REPLACED_FIXTURES = {"test_web_sendfile_functional.py": {"sender"}}


def port_source(source: str, replaced: Set[str] = frozenset()) -> str:
    """``source`` with aiohttp's ``web`` taken from actorhttp, as a port changes it.

    The module-level fixtures named in ``replaced`` are taken out, so that
    the harness's conftest provides them.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line, last line, replacement), 0-based
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in replaced:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            edits.append((first - 1, node.end_lineno - 1, ""))
            continue
        if not (isinstance(node, ast.ImportFrom) and node.module == "aiohttp" and node.level == 0):
            continue
        names = [alias for alias in node.names if alias.name == "web"]
        if not names:
            continue
        rest = [alias for alias in node.names if alias.name != "web"]
        web = names[0].asname or "web"
        new = "from actorhttp import web" + (f" as {web}" if web != "web" else "") + "\n"
        if rest:
            parts = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in rest)
            new = f"from aiohttp import {parts}\n" + new
        assert node.end_lineno is not None
        edits.append((node.lineno - 1, node.end_lineno - 1, new))
    for first, last, new in reversed(edits):
        lines[first : last + 1] = [new]
    return re.sub(r"\baiohttp\.web\.", "web.", "".join(lines))


def git_show(git_dir: str, ref: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{ref}:{path}"], check=True, capture_output=True
    ).stdout


def prepare(root: Path, git_dir: str, ref: str, *, reference: bool, timeout: int) -> Path:
    """Write aiohttp's conftest, data files and (ported) tests under ``root``; the tests' dir."""
    (root / "pytest.ini").write_text(PYTEST_INI)
    for name in ("tests/conftest.py", "README.rst"):  # a static test climbs to ../README.rst
        (root / Path(name).name).write_bytes(git_show(git_dir, ref, name))
    tests = root / "tests"
    tests.mkdir()
    for name in DATA_FILES:
        (tests / name).write_bytes(git_show(git_dir, ref, f"tests/{name}"))
    for name in FILES:
        source = git_show(git_dir, ref, f"tests/{name}").decode()
        if not reference:
            source = port_source(source, REPLACED_FIXTURES.get(name, set()))
        (tests / name).write_text(source)
    conftest = REFERENCE_CONFTEST if reference else HARNESS_CONFTEST
    (tests / "conftest.py").write_text(conftest.format(timeout=timeout) + TIME_LIMIT)
    return tests


def run_pytest(root: Path, tests: Path, extra: list[str]) -> Path:
    report = root / "report.xml"
    command = [sys.executable, "-m", "pytest", str(tests), "-q", "-rN", f"--junitxml={report}"]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run(command + extra, cwd=root, env=env, check=False)
    return report


def outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """``file::test[params]`` -> (``passed``/``failed``/``skipped``, first line of the error)."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        path = case.get("classname", "").split(".")  # tests.test_web_x[.TestClass]
        start = next((i for i, part in enumerate(path) if part.startswith("test_")), 0)
        test_id = "::".join([f"{path[start]}.py", *path[start + 1 :], case.get("name", "")])
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                lines = (child.get("message") or child.text or "").strip().splitlines()
                message = lines[0][:200] if lines else child.tag
                break
            if child.tag == "skipped":
                outcome, message = "skipped", (child.get("message") or "")[:200]
        if test_id in found and found[test_id][0] == "failed":
            continue  # a teardown error after a failure: the failure stands
        found[test_id] = (outcome, message)
    return found


def base_name(test_id: str) -> str:
    return test_id.partition("[")[0]


def summarise(results: dict[str, tuple[str, str]], *, reference: bool) -> None:
    """Print the counts per file, the counted failures, and what was skipped."""
    counted = {t: r for t, r in results.items() if base_name(t) not in NOT_COUNTED}
    ran = {t: r for t, r in counted.items() if r[0] != "skipped"}
    passed = Counter(t.partition("::")[0] for t, r in ran.items() if r[0] == "passed")
    total = Counter(t.partition("::")[0] for t in ran)
    against = "aiohttp (reference)" if reference else "actorhttp"
    print(f"\n== aiohttp's server tests against {against} ==")
    for name in FILES:
        print(f"{name:36} {passed[name]:4} of {total[name]:4}")
    print(f"{'counted':36} {sum(passed.values()):4} of {sum(total.values()):4}")
    functions: dict[str, bool] = {}
    for test_id, (outcome, _) in ran.items():
        name = base_name(test_id)
        functions[name] = functions.get(name, True) and outcome == "passed"
    whole = sum(functions.values())
    print(f"{'by test function (all cases pass)':36} {whole:4} of {len(functions):4}")
    skipped = [t for t, r in counted.items() if r[0] == "skipped"]
    left_out = sorted({base_name(t) for t in results} & NOT_COUNTED.keys())
    print(f"skipped by the tests themselves: {len(skipped)}; not counted: {len(left_out)} tests")
    failures = sorted(t for t, r in ran.items() if r[0] == "failed")
    if failures:
        print("\n-- counted failures --")
        for test_id in failures:
            print(f"{test_id}\n    {ran[test_id][1]}")
    if skipped:
        print("\n-- skipped --")
        for test_id in skipped:
            print(f"{test_id}: {counted[test_id][1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--git-dir", default=DEFAULT_GIT_DIR, help="aiohttp's git directory")
    parser.add_argument("--ref", default="3.14", help="branch, tag or commit of aiohttp")
    parser.add_argument("--reference", action="store_true", help="run unchanged, on aiohttp")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per test")
    parser.add_argument("--keep", type=Path, help="write the run here and keep it")
    parser.add_argument("--not-counted", action="store_true", help="list them, with reasons")
    parser.add_argument("--report", type=Path, help="summarise a kept run's report.xml again")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    if args.not_counted:
        for name, reason in sorted(NOT_COUNTED.items()):
            print(f"{name}: {reason}")
        return
    if args.report is not None:
        summarise(outcomes(args.report), reference=args.reference)
        return
    if not Path(args.git_dir).exists():
        sys.exit(
            f"no aiohttp repository at {args.git_dir}: fetch it (git clone "
            "https://github.com/aio-libs/aiohttp) and give --git-dir"
        )
    commit = subprocess.run(
        ["git", "--git-dir", args.git_dir, "rev-parse", args.ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"aiohttp {args.ref} at {commit}")
    with tempfile.TemporaryDirectory(prefix="aiohttp-conformance-") as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        tests = prepare(root, args.git_dir, commit, reference=args.reference, timeout=args.timeout)
        report = run_pytest(root, tests, args.pytest_args)
        summarise(outcomes(report), reference=args.reference)


if __name__ == "__main__":
    main()
