"""``request.transport`` and ``request.protocol`` as aiohttp programs read them, both transports."""

from __future__ import annotations

import logging
import socket
from typing import Any

import httpx
import pytest
import trio
import trustme

from actorhttp import web
from actorhttp.messages import TransportName
from actorhttp.testing import make_mocked_request, serve_app

from .tlscerts import client_context, server_context


async def describe(request: web.Request) -> web.Response:
    transport = request.transport
    assert transport is not None
    ssl_object = transport.get_extra_info("ssl_object")
    info: dict[str, Any] = {
        "peername": list(transport.get_extra_info("peername")),
        "sockname": list(transport.get_extra_info("sockname")[:2]),
        "socket_peer": list(transport.get_extra_info("socket").getpeername()[:2]),
        "sslcontext": transport.get_extra_info("sslcontext") is not None,
        "tls_version": ssl_object.version() if ssl_object is not None else None,
        "unknown": transport.get_extra_info("nothing", "default"),
        "closing": transport.is_closing(),
        "logger": request.protocol.logger.name,
        "protocol_transport": request.protocol.transport is transport,
        "request_extra": list(request.get_extra_info("peername")),
    }
    return web.json_response(info)


def app() -> web.Application:
    application = web.Application()
    application.router.add_get("/", describe)
    return application


async def test_transport_describes_the_connection(transport: TransportName) -> None:
    with trio.fail_after(10):
        async with serve_app(app(), transport=transport) as client:
            info = (await client.get("/")).json()
    port = client.server.port
    assert info["sockname"] == ["127.0.0.1", port]
    assert info["peername"][0] == "127.0.0.1"
    assert info["peername"] == info["socket_peer"] == info["request_extra"]
    assert info["sslcontext"] is False
    assert info["tls_version"] is None
    assert info["unknown"] == "default"
    assert info["closing"] is False
    assert info["logger"] == "actorhttp"
    assert info["protocol_transport"] is True


@pytest.mark.parametrize("http2", [False, True])
async def test_transport_over_tls(transport: TransportName, http2: bool) -> None:
    ca = trustme.CA()
    context = server_context(ca, "h2", "http/1.1")
    with trio.fail_after(10):
        async with (
            serve_app(app(), transport=transport, ssl_context=context) as c,
            httpx.AsyncClient(verify=client_context(ca), base_url=c.server.url, http2=http2) as tls,
        ):
            response = await tls.get("/")
    assert response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
    info = response.json()
    assert info["sslcontext"] is True
    assert info["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert info["closing"] is False
    assert info["peername"] == info["socket_peer"]


async def test_transport_is_none_once_the_client_has_gone(transport: TransportName) -> None:
    seen: list[object] = []
    before_done, after_done = trio.Event(), trio.Event()
    client_gone = trio.Event()

    async def wait_for_the_client_to_leave(request: web.Request) -> web.Response:
        seen.append(request.transport)
        before_done.set()
        await client_gone.wait()
        with trio.fail_after(5):
            while request.transport is not None:
                await trio.sleep(0.01)
        seen.append(request.transport)
        after_done.set()
        return web.Response(text="nobody reads this")

    application = web.Application()
    application.router.add_get("/", wait_for_the_client_to_leave)
    with trio.fail_after(10):
        async with serve_app(application, transport=transport) as client:
            port = client.server.port
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await before_done.wait()
            sock.close()
            client_gone.set()
            await after_done.wait()
    assert seen[0] is not None
    assert seen[1] is None


def test_a_mocked_request_has_a_transport_without_a_socket() -> None:
    request = make_mocked_request("GET", "/", peer=("10.0.0.7", 5000))
    transport = request.transport
    assert transport is not None
    assert transport.get_extra_info("peername") == ("10.0.0.7", 5000)
    assert transport.get_extra_info("socket") is None
    assert transport.get_extra_info("sockname", "x") == "x"
    assert not transport.is_closing()
    assert request.protocol.transport is transport
    assert request.protocol.logger is logging.getLogger("actorhttp")
    assert make_mocked_request("GET", "/").transport is not transport  # one per request
    gone = make_mocked_request("GET", "/", transport=None)
    assert gone.transport is None
    assert gone.get_extra_info("peername") == ("127.0.0.1", 0)
