"""The benchmark's own pieces: its servers answer alike, and wrk's output is read right."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from benchmarks import h2_engine, instructions, servers, stream_servers
from benchmarks import http as bench_http
from benchmarks.http import ENDPOINTS, Certificates, Options, Pinning, parse_wrk
from benchmarks.servers import KINDS
from benchmarks.streams import QUICK_STREAM_MIB, QUICK_UPLOAD_MIB
from benchmarks.websocket import Measurement, table
from benchmarks.ws_servers import KINDS as WS_KINDS

ROOT = Path(__file__).resolve().parent.parent

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:8080/hello
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.83ms    1.21ms  20.10ms   91.00%
    Req/Sec    15.20k     1.10k   16.90k    80.00%
  Latency Distribution
     50%    3.61ms
     75%    4.02ms
     90%    4.70ms
     99%  880.00us
  75951 requests in 5.00s, 10.50MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:  15189.42
Transfer/sec:      2.10MB
"""


def test_parse_wrk_reads_rate_latencies_and_errors() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests_per_s == pytest.approx(15189.42)
    assert result.p50_ms == pytest.approx(3.61)
    assert result.p99_ms == pytest.approx(0.88)
    assert result.requests == 75951
    assert result.errors == {"read": 3, "timeout": 1, "non-2xx/3xx": 2}


def test_parse_wrk_refuses_output_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="cannot parse"):
        parse_wrk("wrk: connection refused")


H2LOAD_OUTPUT = """\
starting benchmark...
spawning thread #0: 16 total client(s). Timing-based test with 0s of warm-up time (...)
TLS Protocol: TLSv1.3
Application protocol: h2

finished in 5.00s, 3690.40 req/s, 127.21KB/s
requests: 18452 total, 18612 started, 18452 done, 18450 succeeded, 2 failed, 0 errored, 0 timeout
status codes: 18450 2xx, 0 3xx, 2 4xx, 0 5xx
traffic: 636.08KB (651346) total, 90.82KB (93002) headers (space savings 93.68%), (...)
                     min         max         mean         sd        +/- sd
time for request:     1.61ms     91.37ms     43.13ms      5.46ms    86.64%
"""


def test_parse_h2load_reads_rate_times_and_failures() -> None:
    result = bench_http.parse_h2load(H2LOAD_OUTPUT)
    assert result.requests_per_s == pytest.approx(3690.40)
    assert result.requests == 18450
    assert result.p50_ms == pytest.approx(43.13)  # h2load's mean
    assert result.p99_ms == pytest.approx(91.37)  # and max: it reports no percentiles
    assert result.errors == {"failed": 2}
    with pytest.raises(ValueError, match="cannot parse"):
        bench_http.parse_h2load("h2load: connection refused")


def test_h2_only_picks_rows_by_kind_and_keeps_the_baseline() -> None:
    options = bench_http.parse_options(
        ["--h2", "--only", "actorhttp-cli", "--tls-connections", "64"]
    )
    assert options.servers == ["actorhttp-cli", "aiohttp"]
    assert options.tls_connections == 64
    with pytest.raises(SystemExit):
        bench_http.parse_options(["--h2", "--only", "starlette-hypercorn"])


@pytest.mark.parametrize("name", h2_engine.SERVERS)
def test_h2_engine_answers_every_replayed_request(name: str) -> None:
    for kind in h2_engine.KINDS:  # measure raises if a request went unanswered
        assert h2_engine.measure(name, kind, batches=3, repeats=1) > 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("kind", KINDS)
async def test_every_benchmark_server_answers_the_same(kind: str) -> None:
    port = free_port()
    command = [sys.executable, "benchmarks/servers.py", kind, str(port)]
    process = await trio.lowlevel.open_process(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with trio.fail_after(20):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(200):  # up to 10 s for the server to listen
                    try:
                        hello = await http.get("/hello")
                        break
                    except httpx.TransportError:
                        await trio.sleep(0.05)
                else:
                    pytest.fail(f"{kind} never listened on {port}")
                data = await http.get("/json")
                item = await http.get("/items/42")
    finally:
        process.kill()
        await process.wait()
    assert hello.text == "Hello, World!"
    assert json.loads(data.text) == {"message": "Hello, World!"}
    assert "42" in item.text
    assert item.status_code == 200


@pytest.fixture(scope="module")
def certificates() -> Iterator[Certificates]:
    with bench_http.certificates() as made:
        yield made


UNPINNED = Pinning(None, None, "unpinned")


def test_the_benchmark_and_its_servers_agree_on_the_tls_files() -> None:
    assert (bench_http.CERTFILE, bench_http.KEYFILE) == (servers.CERTFILE, servers.KEYFILE)


@pytest.mark.parametrize("kind", KINDS)
def test_every_benchmark_server_answers_over_tls(kind: str, certificates: Certificates) -> None:
    # The benchmark's own start-up check: GET /hello, the certificate verified against the CA.
    with bench_http.running_server(kind, UNPINNED, ENDPOINTS["hello-tls"], tls=certificates) as s:
        negotiated = s.tls
        status, body, again = bench_http.get(s.port, "/hello", tls=certificates.client_context())
    assert (status, body) == (200, b"Hello, World!")
    assert negotiated == again
    assert negotiated is not None
    assert negotiated.startswith("TLSv1.")
    assert negotiated.endswith("ALPN http/1.1")


@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed (scripts/test.sh installs it with apt-get when it can)",
)
def test_wrk_loads_the_https_endpoint(
    certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_http, "SINGLE_SECONDS", 1)  # cheap: 1 s loaded, 1 s at 1 conn
    endpoint = ENDPOINTS["hello-tls"]
    options = Options(1, 1, 0, 1, ["actorhttp-httptools"], [endpoint], None, skip_memory=True)
    measured = bench_http.measure_once(
        "actorhttp-httptools", endpoint, 1, options, UNPINNED, certificates
    )
    assert measured.problem is None
    assert measured.result is not None
    assert measured.result.requests > 0
    assert measured.result.errors == {}
    assert measured.cpu_us_per_request is not None
    assert measured.tls is not None


def test_the_instruction_count_driver_reads_whole_answers() -> None:
    assert instructions._complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert not instructions._complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
    assert not instructions._complete(b"HTTP/1.1 200 OK\r\n\r\nhello")  # no length: not ours
    port = free_port()
    command = [sys.executable, "benchmarks/servers.py", "actorhttp-httptools", str(port)]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL) as process:
        try:
            for _ in range(200):  # up to 10 s for the server to listen
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    trio.run(trio.sleep, 0.05)
            instructions.drive(port, "/items/7", 3 * instructions.CONNECTIONS + 1)
        finally:
            process.kill()


def markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each ``## heading``'s first Markdown table, as rows keyed by the header's cells."""
    tables: dict[str, list[dict[str, str]]] = {}
    for section in ("\n" + text).split("\n## ")[1:]:
        heading, _, body = section.partition("\n")
        lines = [line for line in body.splitlines() if line.startswith("|")]
        if len(lines) < 2:
            continue
        header = [cell.strip() for cell in lines[0].strip("|").split("|")]
        tables[heading] = [
            dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
            for line in lines[2:]
        ]
    return tables


def run_quick(script: str) -> subprocess.CompletedProcess[str]:
    """``benchmarks/<script> --quick``, run to its end; it must exit 0."""
    completed = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-4000:]
    return completed


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc: Linux only")
def test_streams_quick_every_server_streams_and_actorhttp_holds_no_body_in_memory() -> None:
    completed = run_quick("streams.py")
    tables = markdown_tables(completed.stdout)
    payloads = {"Streamed response": QUICK_STREAM_MIB, "Multipart upload": QUICK_UPLOAD_MIB}
    for prefix, payload_mib in payloads.items():
        [heading] = [name for name in tables if name.startswith(prefix)]
        rows = {row["server"]: row for row in tables[heading]}
        assert set(rows) == set(stream_servers.KINDS), heading
        for kind, row in rows.items():
            assert row["rounds"] == "1/1", (heading, row)
            assert row.get("received", row.get("saved file", "")).endswith("intact"), row
            if kind.startswith("actorhttp-"):
                # A server that held the whole body would grow by about the payload.
                growth = float(row["peak growth (MiB)"])
                assert growth < payload_mib / 2, (heading, row)


def test_websocket_table_takes_medians_and_ratios_within_rounds() -> None:
    rounds = [
        {
            "aiohttp": Measurement("aiohttp", 1000, 1.0, 0.010),  # 1,000/s, 10 us
            "actorhttp-httptools": Measurement("actorhttp-httptools", 1000, 2.0, 0.030),
        },
        {
            "aiohttp": Measurement("aiohttp", 1000, 0.5, 0.005),  # a faster round for both
            "actorhttp-httptools": Measurement("actorhttp-httptools", 1000, 1.0, 0.015),
        },
        {"actorhttp-httptools": Measurement("actorhttp-httptools", 1000, 4.0, 0.060)},
    ]
    lines = table(["actorhttp-httptools", "actorhttp-hypercorn", "aiohttp"], rounds).splitlines()
    # medians: 500/s and 30 us; ratios per round (0.5x, 0.5x; 3x, 3x), the lone round unpaired
    assert lines[2] == "| actorhttp-httptools | 500 | 30.0 | 0.50x | 3.00x |"
    assert lines[3] == "| actorhttp-hypercorn | failed | failed | | |"
    assert lines[4] == "| aiohttp | 1,500 | 7.5 | 1.00x | 1.00x |"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc: Linux only")
def test_websocket_quick_has_a_row_for_every_server() -> None:
    completed = run_quick("websocket.py")
    [rows] = markdown_tables("## WebSocket echo\n" + completed.stdout).values()
    by_server = {row["server"]: row for row in rows}
    assert set(by_server) == set(WS_KINDS)
    for row in by_server.values():
        assert float(row["messages/s"].replace(",", "")) > 0, row
        assert float(row["CPU us/message"]) > 0, row
        assert row["messages/s vs aiohttp"].endswith("x"), row
    assert by_server["aiohttp"]["CPU vs aiohttp"] == "1.00x"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc: Linux only")
def test_ws_scale_quick_fills_every_row_and_every_server_stops() -> None:
    """The at-scale WebSocket benchmark, small: each server opens, idles, broadcasts,
    echoes and stops (a server that did not exit in time is a failed measurement)."""
    completed = run_quick("ws_scale.py")
    assert "failed" not in completed.stdout, completed.stdout
    tables = [line for line in completed.stdout.splitlines() if line.startswith("| at ")]
    kinds = "actorhttp-actor | vs aiohttp | actorhttp-handler | vs aiohttp | aiohttp"
    assert tables == [f"| at 200 sockets | {kinds} |"]
    assert completed.stderr.count("closes {'1001': 200}") == 3, completed.stderr[-4000:]
