"""The hypercorn transport: HTTP/2, TLS, malformed requests, slow clients, limits."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from actorhttp import Application, Request, Response, json_response
from actorhttp.testing import serve_app

from .rawhttp import exchange, exchange_until_closed, status_of

TIMEOUT = 10


async def version(request: Request) -> Response:
    body = await request.read()
    return json_response(
        {"version": "{}.{}".format(*request.version), "scheme": request.scheme, "body": len(body)}
    )


def make_app() -> Application:
    app = Application()
    app.router.add_route("*", "/version", version)
    return app


async def test_http2_prior_knowledge() -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            serve_app(make_app(), transport="hypercorn") as client,
            httpx.AsyncClient(http1=False, http2=True, base_url=client.server.url) as h2,
        ):
            get = await h2.get("/version")
            post = await h2.post("/version", content=b"x" * 5000)
    assert get.http_version == "HTTP/2"
    assert get.json()["version"] == "2.0"
    assert post.json() == {"version": "2.0", "scheme": "http", "body": 5000}
    assert "connection" not in post.headers  # never a Connection header over HTTP/2


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ssl.SSLContext]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return certfile, keyfile, client_context


async def test_tls_with_http1_and_http2(tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    certfile, keyfile, context = tls
    with trio.fail_after(TIMEOUT):
        # transport "auto" picks hypercorn for TLS
        async with serve_app(make_app(), certfile=str(certfile), keyfile=str(keyfile)) as client:
            url = client.server.url
            async with httpx.AsyncClient(verify=context, http2=True, base_url=url) as https:
                h2 = await https.get("/version")
            async with httpx.AsyncClient(verify=context, base_url=url) as https:
                h1 = await https.get("/version")
    assert url.startswith("https://127.0.0.1:")
    assert h2.json() == {"version": "2.0", "scheme": "https", "body": 0}
    assert h1.json() == {"version": "1.1", "scheme": "https", "body": 0}


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
    ],
)
async def test_malformed_request_gets_400_and_server_goes_on(request_bytes: bytes) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport="hypercorn") as client:
            raw = await exchange(client.server.port, request_bytes)
            after = await client.get("/version")
    assert status_of(raw) == 400
    assert after.status_code == 200


async def test_headers_over_max_header_size_are_refused() -> None:
    big = b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n"
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport="hypercorn", max_header_size=2048) as client:
            raw = await exchange(client.server.port, big)
            small = await client.get("/version")
    assert status_of(raw) == 431
    assert small.status_code == 200


async def test_slow_client_is_cut_by_keep_alive_timeout() -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport="hypercorn", keep_alive_timeout=0.3) as client:
            stream = await trio.open_tcp_stream("127.0.0.1", client.server.port)
            async with stream:
                await stream.send_all(b"GET /version HTTP/1.1\r\n")  # and never the rest
                begun = trio.current_time()
                with trio.move_on_after(5):
                    data = await stream.receive_some()
                took = trio.current_time() - begun
    assert took < 3
    assert data == b"" or status_of(data) >= 400


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"POST /version HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            b"GET /version HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: v\r\n" % i for i in range(2000))
            + b"\r\n",
            431,
        ),
        (b"GET /version HTTP/1.1\r\nHost: x\r\nX-Bell: a\x07b\r\n\r\n", 400),
        (b"GET /version HTTP/1.1\r\nHost: x\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400),
        (b"POST /version HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"GET /" + b"x" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ],
    ids=["cl-with-te", "2000-fields", "control-char", "two-content-types", "te-in-1.0", "uri"],
)
async def test_hypercorn_refuses_at_our_layer_what_the_scope_shows(
    request_bytes: bytes, status: int
) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport="hypercorn") as client:
            answer, closed = await exchange_until_closed(client.server.port, request_bytes)
            after = await client.get("/version")
    assert status_of(answer) == status
    assert closed  # RFC 9112 6.1: after CL with TE the server MUST close
    assert after.status_code == 200
