"""HTTP/2 on the httptools transport: real clients over loopback, TLS (ALPN h2) and h2c.

httpx with ``http2=True`` (its ``h2`` extra) for the request and response
APIs, curl for its own HTTP/2 stack (nghttp2), and the raw h2 client of
``tests/h2client.py`` where a test needs to see frames (GOAWAY, resets,
interim responses). Every response type goes over it, every way of reading
a body, and the lifecycle: a stop's GOAWAY, the idle timeout, the access log.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import h2.events
import httpx
import pytest
import trio
import trio.testing
import trustme

from actorhttp import (
    Application,
    FileField,
    MinDataRate,
    Request,
    Response,
    StreamResponse,
    json_response,
)
from actorhttp.messages import StartServer
from actorhttp.testing import serve_app

from .h2client import H2Client
from .tlscerts import client_context, server_context

TIMEOUT = 30
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def describe(request: Request) -> Response:
    return json_response(
        {
            "version": f"{request.version.major}.{request.version.minor}",
            "scheme": request.scheme,
            "host": request.host,
            "url": str(request.url),
            "query": dict(request.query),
        }
    )


async def echo(request: Request) -> Response:
    return Response(body=await request.read(), content_type="application/octet-stream")


async def form(request: Request) -> Response:
    data = await request.post()
    upload = data["file"]
    assert isinstance(upload, FileField)
    return json_response({"name": data["name"], "file": len(upload.file.read())})


async def parts(request: Request) -> Response:
    reader = await request.multipart()
    sizes = {}
    async for part in reader:
        assert not isinstance(part, type(reader))
        total = 0
        while chunk := await part.read_chunk(8192):
            total += len(chunk)
        sizes[part.name or ""] = total
    return json_response(sizes)


async def chunks(request: Request) -> Response:
    total = 0
    async for chunk in request.content.iter_chunked(1000):
        total += len(chunk)
    return json_response({"total": total})


async def stream(request: Request) -> StreamResponse:
    response = StreamResponse()
    response.enable_compression()
    await response.prepare(request)
    for i in range(64):
        await response.write(b"%06d" % i * 4096)
    await response.write_eof()
    return response


async def slow(request: Request) -> Response:
    await trio.sleep(float(request.query.get("s", "1")))
    return Response(text="slow")


async def fails_midway(request: Request) -> StreamResponse:
    response = StreamResponse()
    await response.prepare(request)
    await response.write(b"part")
    raise RuntimeError("the handler broke")


def h2_app(tmp_path: Path | None = None) -> Application:
    app = Application(client_max_size=16 * MiB)
    app.router.add_route("*", "/describe", describe)
    app.router.add_post("/echo", echo)
    app.router.add_post("/form", form)
    app.router.add_post("/parts", parts)
    app.router.add_post("/chunks", chunks)
    app.router.add_get("/stream", stream)
    app.router.add_get("/slow", slow)
    app.router.add_get("/fails", fails_midway)
    if tmp_path is not None:
        (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 4096)
        app.router.add_static("/static", tmp_path)
    return app


async def pieces(piece: bytes, count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield piece


async def test_httpx_over_tls_gets_http2_by_alpn_and_every_request_api(
    ca: trustme.CA, tmp_path: Path
) -> None:
    context = server_context(ca, "h2", "http/1.1")
    assert StartServer(ssl_context=context).transport_name == "httptools"
    upload = b"u" * (3 * MiB + 7)  # past the windows: the handler's reads open them
    with trio.fail_after(TIMEOUT):
        async with (
            serve_app(h2_app(tmp_path), ssl_context=context) as client,
            httpx.AsyncClient(
                verify=client_context(ca), http2=True, base_url=client.server.url
            ) as https,
        ):
            described = await https.get("/describe?a=1")
            echoed = await https.post("/echo", content=upload)
            posted = await https.post(
                "/form", data={"name": "n"}, files={"file": ("f.bin", b"f" * 100_000)}
            )
            multipart = await https.post(
                "/parts", files={"a": ("a", b"a" * 70_000), "b": ("b", b"b" * 10)}
            )
            chunked = await https.post("/chunks", content=pieces(b"c" * 30_000, 5))
            streamed = await https.get("/stream", headers={"Accept-Encoding": "gzip"})
            served = await https.get("/static/big.bin")
            ranged = await https.get("/static/big.bin", headers={"Range": "bytes=10-19"})
            head = await https.head("/static/big.bin")
            missing = await https.get("/nowhere")
    assert {r.http_version for r in (described, echoed, posted, streamed, head)} == {"HTTP/2"}
    assert described.json() == {
        "version": "2.0",
        "scheme": "https",
        "host": described.json()["host"],
        "url": f"{client.server.url}/describe?a=1",
        "query": {"a": "1"},
    }
    assert described.json()["host"].startswith("127.0.0.1:")  # from :authority
    assert echoed.content == upload
    assert posted.json() == {"name": "n", "file": 100_000}
    assert multipart.json() == {"a": 70_000, "b": 10}
    assert chunked.json() == {"total": 150_000}
    assert streamed.headers["content-encoding"] == "gzip"
    assert streamed.content == b"".join(b"%06d" % i * 4096 for i in range(64))  # httpx inflates
    assert served.content == bytes(range(256)) * 4096
    assert (ranged.status_code, ranged.content) == (206, bytes(range(10, 20)))
    assert head.headers["content-length"] == str(256 * 4096)
    assert head.content == b""
    assert missing.status_code == 404


async def test_concurrent_streams_on_one_connection(ca: trustme.CA) -> None:
    context = server_context(ca, "h2", "http/1.1")
    with trio.fail_after(TIMEOUT):
        async with (
            serve_app(h2_app(), ssl_context=context) as client,
            httpx.AsyncClient(
                verify=client_context(ca), http2=True, base_url=client.server.url
            ) as https,
        ):
            results: list[httpx.Response] = []

            async def one(i: int) -> None:
                results.append(await https.get(f"/slow?s=0.5&i={i}"))

            begun = trio.current_time()
            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(one, i)
            took = trio.current_time() - begun
    assert [r.status_code for r in results] == [200] * 50
    assert {r.http_version for r in results} == {"HTTP/2"}
    assert took < 10  # side by side, not one after the other (50 x 0.5 s)


async def test_certificate_files_offer_h2_and_http11(ca: trustme.CA, tmp_path: Path) -> None:
    issued = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    issued.private_key_pem.write_to_path(str(keyfile))
    settings = {"certfile": str(certfile), "keyfile": str(keyfile)}
    assert StartServer(**settings).transport_name == "httptools"  # type: ignore[arg-type]
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app(), **settings) as client:
            async with httpx.AsyncClient(verify=client_context(ca), http2=True) as two:
                h2 = await two.get(f"{client.server.url}/describe")
            async with httpx.AsyncClient(verify=client_context(ca)) as one:
                h1 = await one.get(f"{client.server.url}/describe")
    assert (h2.http_version, h2.json()["version"]) == ("HTTP/2", "2.0")
    assert (h1.http_version, h1.json()["version"]) == ("HTTP/1.1", "1.1")


async def test_h2c_with_prior_knowledge_and_http11_on_one_port() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app()) as client:
            async with httpx.AsyncClient(http1=False, http2=True) as h2c:
                two = await h2c.post(f"{client.server.url}/echo", content=b"x" * 200_000)
            async with httpx.AsyncClient() as plain:
                one = await plain.get(f"{client.server.url}/describe")
    assert (two.http_version, two.content) == ("HTTP/2", b"x" * 200_000)
    assert one.json()["version"] == "1.1"


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_curl_http2_over_tls_and_with_prior_knowledge(ca: trustme.CA, tmp_path: Path) -> None:
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    context = server_context(ca, "h2", "http/1.1")
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app(), ssl_context=context) as tls, serve_app(h2_app()) as plain:
            out = "%{http_version} %{response_code}"
            over_tls = await trio.to_thread.run_sync(
                curl,
                "--http2",
                "--cacert",
                str(tmp_path / "ca.pem"),
                "-w",
                f" {out}",
                f"{tls.server.url}/describe",
            )
            prior = await trio.to_thread.run_sync(
                curl,
                "--http2-prior-knowledge",
                "--data-binary",
                "x" * 100_000,
                "-o",
                "/dev/null",
                "-w",
                out,
                f"{plain.server.url}/echo",
            )
            upgrade = await trio.to_thread.run_sync(
                curl, "--http2", "-o", "/dev/null", "-w", out, f"{plain.server.url}/describe"
            )
    assert over_tls.stdout.endswith(" 2 200"), over_tls
    assert '"version": "2.0"' in over_tls.stdout
    assert prior.stdout == "2 200", prior
    # Upgrade: h2c is not taken (RFC 9113 deprecates it): curl gets its answer in HTTP/1.1.
    assert upgrade.stdout == "1.1 200", upgrade


async def test_a_handler_that_fails_part_way_resets_its_stream_only() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app()) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                broken = await client.request("/fails")
                await client.until(lambda: client.ended(broken))
                status, body = await client.get("/describe")
    assert client.status(broken) == 200
    assert client.reset_code(broken) == h2.errors.ErrorCodes.INTERNAL_ERROR
    assert status == 200
    assert b'"version": "2.0"' in body


async def test_expect_100_continue_goes_out_when_the_handler_reads() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app()) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                stream_id = client.conn.get_next_available_stream_id()
                headers = [
                    (b":method", b"POST"),
                    (b":scheme", b"http"),
                    (b":authority", b"x"),
                    (b":path", b"/echo"),
                    (b"expect", b"100-continue"),
                ]
                client.conn.send_headers(stream_id, headers)
                await client.flush()
                await client.until(
                    lambda: any(
                        isinstance(e, h2.events.InformationalResponseReceived)
                        for e in client.events
                    )
                )
                client.conn.send_data(stream_id, b"body", end_stream=True)
                await client.flush()
                await client.until(lambda: client.ended(stream_id))
    assert client.body(stream_id) == b"body"


async def test_a_stop_sends_goaway_and_lets_streams_in_flight_finish() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app()) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream, trio.open_nursery() as nursery:
                in_flight = await client.request("/slow?s=1")
                await trio.sleep(0.2)  # the handler is running
                nursery.start_soon(served.server.stop, 5)
                await client.until(lambda: client.goaway() is not None)
                goaway = client.goaway()
                await client.until(lambda: False)  # to the close
    assert goaway is not None
    assert goaway.last_stream_id == in_flight
    assert goaway.error_code == h2.errors.ErrorCodes.NO_ERROR
    # h2's client drops what follows a GOAWAY; the raw bytes show the answer came.
    assert b"slow" in client.raw


async def test_an_idle_connection_gets_goaway_after_the_keep_alive_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with serve_app(h2_app(), keep_alive_timeout=30) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                status, _ = await client.get("/describe")
                answered = trio.current_time()
                for _ in range(5):  # pings do not keep a connection alive
                    client.conn.ping(b"12345678")
                    await client.flush()
                    await trio.sleep(5)
                await client.until(lambda: False)
                closed = trio.current_time()
    assert status == 200
    goaway = client.goaway()
    assert goaway is not None
    assert goaway.additional_data == b"idle timeout"
    assert 30 <= closed - answered < 32


async def test_no_request_count_cap_on_a_connection() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(h2_app()) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                for _ in range(30):
                    ids = [await client.request("/describe") for _ in range(50)]
                    await client.until(lambda ids=ids: all(client.ended(i) for i in ids))  # type: ignore[misc]
                    assert {client.status(i) for i in ids} == {200}
                    client.events.clear()
    assert client.goaway() is None


async def test_the_access_log_says_http2(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="actorhttp.access")
    with trio.fail_after(TIMEOUT):
        async with (
            serve_app(h2_app(), access_log=logging.getLogger("actorhttp.access")) as s,
            httpx.AsyncClient(http1=False, http2=True) as h2c,
        ):
            await h2c.get(f"{s.server.url}/describe?x=1")
    assert any('"GET /describe?x=1 HTTP/2.0" 200' in r.getMessage() for r in caplog.records)


async def test_a_stream_to_a_client_whose_window_stays_shut_is_reset_at_the_minimum_rate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    told: list[BaseException] = []

    async def big(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(1000):
                await response.write(b"b" * 65536)
        except ConnectionResetError as exc:
            told.append(exc)
            raise
        return response

    app = Application()
    app.router.add_get("/big", big)
    app.router.add_get("/small", _small)
    rate = MinDataRate(bytes_per_second=1000, grace_period=5)
    with trio.fail_after(600):
        async with serve_app(app, min_response_rate=rate) as served:
            stalled = await H2Client.connect(served.server.port, acknowledge=False)
            async with stalled.stream:
                stream_id = await stalled.request("/big")
                await stalled.until(lambda: stalled.ended(stream_id))
                other = await stalled.request("/small")  # the connection goes on
                await stalled.until(lambda: stalled.ended(other))
    assert stalled.reset_code(stream_id) == h2.errors.ErrorCodes.CANCEL
    assert len(stalled.body(stream_id)) == 65535  # the first window, then nothing
    assert told
    assert stalled.status(other) == 200


async def _small(request: Request) -> Response:
    return Response(text="small")


async def test_gzip_of_a_whole_body_and_cookies() -> None:
    async def cookie(request: Request) -> Response:
        response = Response(text="c" * 5000)
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        response.enable_compression()
        return response

    app = Application()
    app.router.add_get("/cookie", cookie)
    with trio.fail_after(TIMEOUT):
        async with serve_app(app) as served:
            client = await H2Client.connect(served.server.port)
            async with client.stream:
                stream_id = await client.request("/cookie", extra=[(b"accept-encoding", b"gzip")])
                await client.until(lambda: client.ended(stream_id))
    (response,) = [e for e in client.events if isinstance(e, h2.events.ResponseReceived)]
    headers = response.headers or []
    assert sorted(v for n, v in headers if n == b"set-cookie") == [b"a=1; Path=/", b"b=2; Path=/"]
    assert gzip.decompress(client.body(stream_id)) == b"c" * 5000


@pytest.mark.skipif(
    shutil.which("h2load") is None,
    reason="h2load is not installed (Debian's nghttp2-client; scripts/test.sh installs it as root)",
)
async def test_h2load_over_tls_gets_every_answer(ca: trustme.CA, tmp_path: Path) -> None:
    context = server_context(ca, "h2", "http/1.1")
    with trio.fail_after(60):
        async with serve_app(h2_app(), ssl_context=context) as served:
            done = await trio.to_thread.run_sync(
                lambda: subprocess.run(
                    [
                        "h2load",
                        "-n",
                        "2000",
                        "-c",
                        "4",
                        "-m",
                        "10",
                        f"{served.server.url}/describe",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=50,
                    check=False,
                )
            )
    assert "Application protocol: h2" in done.stdout, done.stdout
    assert "2000 succeeded, 0 failed, 0 errored" in done.stdout, done.stdout
    assert "status codes: 2000 2xx" in done.stdout
