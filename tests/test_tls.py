"""TLS as aiohttp programs ask for it: ``ssl_context=`` (or certificate files), both transports.

A throwaway CA (trustme) signs the server's certificate; httpx trusts that
CA. HTTPS/1.1 runs on either transport, HTTP/2 by ALPN on hypercorn, and a
client that does not speak TLS to a TLS port costs only its connection.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
import trustme
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, TextMessage
from wsproto.events import Request as WSRequest

from actorhttp import (
    Application,
    Request,
    Response,
    StreamResponse,
    WebSocketResponse,
    json_response,
)
from actorhttp.messages import StartServer, TransportName
from actorhttp.testing import serve_app

from .rawhttp import exchange_until_closed
from .tlscerts import client_context, server_context

TIMEOUT = 20


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def describe(request: Request) -> Response:
    body = await request.read()
    return json_response(
        {
            "scheme": request.scheme,
            "secure": request.secure,
            "url": str(request.url),
            "version": f"{request.version.major}.{request.version.minor}",
            "body": len(body),
        }
    )


async def stream(request: Request) -> StreamResponse:
    response = StreamResponse()
    await response.prepare(request)
    for _ in range(64):
        await response.write(b"t" * 16384)
    await response.write_eof()
    return response


async def echo_ws(request: Request) -> WebSocketResponse:
    ws = WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        await ws.send_str(f"echo {message.data}")
    return ws


def tls_app() -> Application:
    app = Application()
    app.router.add_route("*", "/describe", describe)
    app.router.add_get("/stream", stream)
    app.router.add_get("/ws", echo_ws)
    return app


async def test_https_with_an_ssl_context(ca: trustme.CA, transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport=transport, ssl_context=server_context(ca)) as c:
            url = c.server.url
            async with httpx.AsyncClient(verify=client_context(ca), base_url=url) as https:
                get = await https.get("/describe")
                post = await https.post("/describe", content=b"x" * 300_000)
                streamed = await https.get("/stream")
                again = await https.get("/describe")  # the same TLS connection, kept alive
    assert url.startswith("https://127.0.0.1:")
    assert get.json() == {
        "scheme": "https",
        "secure": True,
        "url": f"{url}/describe",
        "version": "1.1",
        "body": 0,
    }
    assert post.json()["body"] == 300_000
    assert len(streamed.content) == 64 * 16384
    assert again.status_code == 200


async def test_auto_serves_an_ssl_context_on_httptools(ca: trustme.CA) -> None:
    assert StartServer(ssl_context=server_context(ca)).transport_name == "httptools"
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), ssl_context=server_context(ca)) as client:
            https = httpx.AsyncClient(verify=client_context(ca), http2=True)
            async with https:
                response = await https.get(f"{client.server.url}/describe")
    assert response.http_version == "HTTP/1.1"  # offered h2 by the client; HTTP/1.1 here
    assert response.json()["scheme"] == "https"


async def test_http2_by_alpn_on_hypercorn_with_an_ssl_context(ca: trustme.CA) -> None:
    context = server_context(ca, "h2", "http/1.1")
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport="hypercorn", ssl_context=context) as client:
            https = httpx.AsyncClient(verify=client_context(ca), http2=True)
            async with https:
                response = await https.get(f"{client.server.url}/describe")
    assert response.http_version == "HTTP/2"
    assert response.json()["version"] == "2.0"


async def test_certificate_files_work_on_httptools(ca: trustme.CA, tmp_path: Path) -> None:
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    with trio.fail_after(TIMEOUT):
        async with (
            serve_app(
                tls_app(), transport="httptools", certfile=str(certfile), keyfile=str(keyfile)
            ) as client,
            httpx.AsyncClient(verify=client_context(ca), base_url=client.server.url) as https,
        ):
            response = await https.get("/describe")
    assert response.json()["scheme"] == "https"


async def test_websocket_over_tls(ca: trustme.CA, transport: TransportName) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport=transport, ssl_context=server_context(ca)) as c:
            tcp = await trio.open_tcp_stream("127.0.0.1", c.server.port)
            stream = trio.SSLStream(tcp, client_context(ca), server_hostname="127.0.0.1")
            async with stream:
                ws = WSConnection(ConnectionType.CLIENT)
                await stream.send_all(ws.send(WSRequest(host="127.0.0.1", target="/ws")))
                received: list[object] = []
                while not received:  # the handshake's answer
                    ws.receive_data(bytes(await stream.receive_some()))
                    received += list(ws.events())
                await stream.send_all(ws.send(TextMessage("hi")))
                while not any(isinstance(e, TextMessage) for e in received):
                    ws.receive_data(bytes(await stream.receive_some()))
                    received += list(ws.events())
    assert isinstance(received[0], AcceptConnection)
    assert [e.data for e in received if isinstance(e, TextMessage)] == ["echo hi"]


async def test_a_plain_http_client_on_a_tls_port_costs_only_its_connection(
    ca: trustme.CA, transport: TransportName
) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport=transport, ssl_context=server_context(ca)) as c:
            answer, closed = await exchange_until_closed(
                c.server.port, b"GET /describe HTTP/1.1\r\nHost: x\r\n\r\n", patience=10
            )
            async with httpx.AsyncClient(verify=client_context(ca), base_url=c.server.url) as h:
                after = await h.get("/describe")
    assert closed
    assert not answer.startswith(b"HTTP/1.1 200")  # nothing was served in the clear
    assert after.status_code == 200


def test_ssl_context_settings_are_checked(ca: trustme.CA) -> None:
    with pytest.raises(ValueError, match=r"ssl_context must be an ssl\.SSLContext"):
        StartServer(ssl_context="cert.pem")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give ssl_context or certfile/keyfile, not both"):
        StartServer(ssl_context=server_context(ca), certfile="c", keyfile="k")


async def test_a_tls_client_that_stops_reading_is_cut_and_the_writer_told(
    autojump_clock: trio.testing.MockClock, ca: trustme.CA, transport: TransportName
) -> None:
    told: list[float] = []

    async def endless(request: Request) -> StreamResponse:
        response = StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(100_000):  # 6 GiB: no buffer holds that
                await response.write(b"s" * 65536)
        except ConnectionResetError:
            told.append(trio.current_time())
            raise
        return response

    app = Application()
    app.router.add_get("/endless", endless)
    with trio.fail_after(600):
        async with serve_app(app, transport=transport, ssl_context=server_context(ca)) as c:
            tcp = await trio.open_tcp_stream("127.0.0.1", c.server.port)
            stream = trio.SSLStream(tcp, client_context(ca), server_hostname="127.0.0.1")
            async with stream:
                begun = trio.current_time()
                await stream.send_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
                while not told:  # and never read a byte
                    await trio.sleep(1)
    # Measured on the socket under TLS: the grace period, and what the client acknowledged.
    assert 5 <= told[0] - begun < 10
