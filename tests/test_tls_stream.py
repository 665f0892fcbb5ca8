"""The httptools transport's own TLS stream (``_tlsio.TLSStream``), over real loopback sockets.

What ``test_tls.py`` checks on both transports holds here too; these are
the cases a hand-driven ``SSLObject`` can get wrong: clients that are not
TLS, stall in the handshake or vanish without ``close_notify``; bodies of
megabytes either way and requests pipelined across records; TLS 1.2 and
1.3; our ``close_notify``; renegotiation (by the ``openssl`` command, as
Python's ``ssl`` cannot start one). Each waits within a bound: the virtual
clock's where deadlines matter, a few real seconds elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing
import trustme

from actorhttp import Application, Request, Response, StreamResponse, json_response
from actorhttp._transports._base import tls_context
from actorhttp._transports._tlsio import UNSENT, TLSStream
from actorhttp.messages import StartServer
from actorhttp.testing import serve_app

from .rawhttp import exchange_until_closed
from .tlscerts import client_context, server_context

TIMEOUT = 20
VIRTUAL_LIMIT = 600
MiB = 1024 * 1024
PAYLOAD = random.Random(7).randbytes(8 * MiB)  # incompressible, and the same every run
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
OPENSSL = shutil.which("openssl")
RECEIVE = 1 << 20
KEEP_CONNECTED = 3600  # a keep-alive deadline that cannot be what ends a connection in time


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def digest(request: Request) -> Response:
    body = await request.read()
    return json_response({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})


async def whole(request: Request) -> Response:
    return Response(body=PAYLOAD)  # one plain answer: written at its hand-over, then the rest


async def streamed(request: Request) -> StreamResponse:
    response = StreamResponse()
    await response.prepare(request)
    sizes = random.Random(3)
    offset = 0
    while offset < len(PAYLOAD):  # pieces of every size, not records' multiples
        step = sizes.randint(1, 300_000)
        await response.write(PAYLOAD[offset : offset + step])
        offset += step
    await response.write_eof()
    return response


async def numbered(request: Request) -> Response:
    return Response(text=f"n={request.query['n']};")


def tls_app() -> Application:
    app = Application(client_max_size=16 * MiB)
    app.router.add_post("/digest", digest)
    app.router.add_get("/whole", whole)
    app.router.add_get("/streamed", streamed)
    app.router.add_get("/n", numbered)
    return app


async def open_tls(
    port: int, context: ssl.SSLContext, *, https_compatible: bool = True
) -> trio.SSLStream[trio.SocketStream]:
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    stream = trio.SSLStream(
        tcp, context, server_hostname="127.0.0.1", https_compatible=https_compatible
    )
    await stream.do_handshake()
    return stream


async def read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        data = await stream.receive_some()
        if not data:
            break
        received += data
    return received


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What actorhttp logged about a connection going wrong (any level)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "actorhttp" and ("failed" in r.getMessage() or r.levelno >= logging.WARNING)
    ]


def client_hello() -> bytes:
    """A TLS client's first flight, as a real client would send it."""
    client = ssl.create_default_context().wrap_bio(
        ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(), server_hostname="127.0.0.1"
    )
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


# -- clients that are not, or not quite, TLS -----------------------------------------------


async def test_a_plain_http_client_is_refused_at_once_and_quietly(
    ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="actorhttp")
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport="httptools", ssl_context=server_context(ca)) as c:
            begun = trio.current_time()
            answer, closed = await exchange_until_closed(
                c.server.port, b"GET /n?n=1 HTTP/1.1\r\nHost: x\r\n\r\n", patience=3
            )
            elapsed = trio.current_time() - begun
            stream = await open_tls(c.server.port, client_context(ca))
            async with stream:
                await stream.send_all(b"GET /n?n=2 HTTP/1.1\r\nHost: x\r\n\r\n")
                after = await read_until(stream, b"n=2;")
    assert closed
    assert elapsed < 2  # no deadline involved: the handshake failed
    assert b"n=1" not in answer
    assert b"n=2;" in after
    failures = [r for r in caplog.records if "TLS handshake" in r.getMessage()]
    assert failures
    assert all(r.levelno == logging.DEBUG for r in failures)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.name == "actorhttp"]


@pytest.mark.parametrize("sent", ["nothing", "half a ClientHello", "the ClientHello only"])
async def test_a_client_that_stalls_in_the_handshake_is_cut_at_its_deadline(
    autojump_clock: trio.testing.MockClock, ca: trustme.CA, sent: str
) -> None:
    hello = client_hello()
    first = {"nothing": b"", "half a ClientHello": hello[: len(hello) // 2]}.get(sent, hello)
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(
            tls_app(), transport="httptools", ssl_context=server_context(ca), keep_alive_timeout=7
        ) as c:
            tcp = await trio.open_tcp_stream("127.0.0.1", c.server.port)
            async with tcp:
                begun = trio.current_time()
                if first:
                    await tcp.send_all(first)
                received = b""
                while data := await tcp.receive_some():
                    received += data
                ended = trio.current_time() - begun
    # An idle connection's deadline (keep_alive_timeout) bounds a handshake never finished.
    assert 7 <= ended < 8
    assert bool(received) == (sent == "the ClientHello only")  # the server's flight, no more


async def test_a_request_head_left_unfinished_over_tls_gets_its_408(
    autojump_clock: trio.testing.MockClock, ca: trustme.CA
) -> None:
    with trio.fail_after(VIRTUAL_LIMIT):
        async with serve_app(
            tls_app(), transport="httptools", ssl_context=server_context(ca), header_timeout=9
        ) as c:
            stream = await open_tls(c.server.port, client_context(ca))
            async with stream:
                await stream.send_all(b"GET /n?n=1 HTTP/1.1\r\nHo")
                begun = trio.current_time()
                answer = await read_until(stream, b"\r\n\r\n")
                ended = trio.current_time() - begun
    # The reaper cancelled the connection's read mid-wait; the stream was still whole.
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 9 <= ended < 10


async def test_a_client_closing_without_close_notify_is_an_ordinary_eof(
    ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="actorhttp")
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport="httptools", ssl_context=server_context(ca)) as c:
            for n in range(3):
                stream = await open_tls(c.server.port, client_context(ca))
                await stream.send_all(b"GET /n?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
                assert b"n=%d;" % n in await read_until(stream, b";")
                await stream.transport_stream.aclose()  # TCP FIN, no close_notify
            await trio.sleep(0.5)  # the server reads those EOFs meanwhile
    assert problems(caplog) == []


async def test_we_close_with_close_notify(ca: trustme.CA) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport="httptools", ssl_context=server_context(ca)) as c:
            # https_compatible=False: an EOF without close_notify would be an error here.
            stream = await open_tls(c.server.port, client_context(ca), https_compatible=False)
            async with stream:
                await stream.send_all(
                    b"GET /n?n=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                received = b""
                while data := await stream.receive_some():
                    received += data
    assert received.endswith(b"n=1;")


# -- the data itself -------------------------------------------------------------------------


async def test_eight_mib_each_way_arrive_intact(ca: trustme.CA) -> None:
    with trio.fail_after(TIMEOUT * 3):
        async with (
            serve_app(tls_app(), transport="httptools", ssl_context=server_context(ca)) as c,
            httpx.AsyncClient(
                verify=client_context(ca), base_url=c.server.url, timeout=TIMEOUT
            ) as https,
        ):
            upload = await https.post("/digest", content=PAYLOAD)
            whole_body = await https.get("/whole")
            streamed_body = await https.get("/streamed")
            again = await https.post("/digest", content=PAYLOAD[:1000])  # the same connection
    assert upload.json() == {"size": len(PAYLOAD), "sha256": DIGEST}
    assert hashlib.sha256(whole_body.content).hexdigest() == DIGEST
    assert hashlib.sha256(streamed_body.content).hexdigest() == DIGEST
    assert again.json()["size"] == 1000


async def test_pipelined_requests_over_one_tls_connection_are_answered_in_order(
    ca: trustme.CA,
) -> None:
    count = 2000  # about 70 KB: several TLS records, mostly read from the socket at once
    requests = b"".join(b"GET /n?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in range(count))
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport="httptools", ssl_context=server_context(ca)) as c:
            stream = await open_tls(c.server.port, client_context(ca))
            async with stream:
                await stream.send_all(requests)  # many requests in each TLS record
                received = await read_until(stream, b"n=%d;" % (count - 1))
                await stream.send_all(b"GET /n?n=last HTTP/1.1\r\nHost: x\r\n\r\n")
                received += await read_until(stream, b"n=last;")
    numbers = re.findall(rb"n=(\w+);", received)
    assert numbers == [str(n).encode() for n in range(count)] + [b"last"]
    assert received.count(b"HTTP/1.1 200 OK") == count + 1


@pytest.mark.parametrize(
    ("version", "name"),
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")],
    ids=["TLSv1.2", "TLSv1.3"],
)
async def test_tls_1_2_and_1_3_clients(ca: trustme.CA, version: ssl.TLSVersion, name: str) -> None:
    context = client_context(ca)
    context.minimum_version = context.maximum_version = version
    with trio.fail_after(TIMEOUT):
        async with serve_app(tls_app(), transport="httptools", ssl_context=server_context(ca)) as c:
            stream = await open_tls(c.server.port, context)
            async with stream:
                for n in range(3):  # kept alive, across TLS 1.3's session tickets
                    await stream.send_all(b"GET /n?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
                    assert b"n=%d;" % n in await read_until(stream, b";")
                negotiated = stream.version()
    assert negotiated == name


# -- renegotiation, by openssl s_client's "R" command ---------------------------------------


class SClient:
    """``openssl s_client`` on a TLS 1.2 connection, driven through its stdin and stdout."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output = b""

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(data)

    async def wait_for(self, marker: bytes) -> bool:
        """Read its output until ``marker`` (True) or its end (False)."""
        assert self.process.stdout is not None
        while marker not in self.output:
            data = await self.process.stdout.receive_some()
            if not data:
                return False
            self.output += data
        return True


async def renegotiate(port: int) -> tuple[bool, SClient]:
    """Ask, renegotiate, ask again: whether the second answer came, and the client."""
    assert OPENSSL is not None
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-no_ign_eof"]
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    client = SClient(process)
    try:
        await client.send(b"GET /n?n=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await client.wait_for(b"n=1;"), client.output.decode(errors="replace")
        await client.send(b"R\n")  # s_client's command: a client-initiated renegotiation
        await client.wait_for(b"RENEGOTIATING")
        try:
            await client.send(b"GET /n?n=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        except trio.BrokenResourceError:
            pass  # s_client already gone: the refusal ended it; its output is read below
        return await client.wait_for(b"n=2;"), client
    finally:
        process.kill()
        await process.wait()


needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="no openssl command")


@needs_openssl
async def test_renegotiation_is_refused_by_the_context_we_build(
    ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="actorhttp")
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    with trio.fail_after(TIMEOUT):
        async with serve_app(
            tls_app(),
            transport="httptools",
            certfile=str(certfile),
            keyfile=str(keyfile),
            keep_alive_timeout=KEEP_CONNECTED,
        ) as c:
            answered, client = await renegotiate(c.server.port)
            async with httpx.AsyncClient(verify=client_context(ca), base_url=c.server.url) as h:
                after = await h.get("/n", params={"n": "3"})
    # OpenSSL 3 refuses a client's renegotiation by default; older ones need the option.
    settings = StartServer(certfile=str(certfile), keyfile=str(keyfile))
    context = tls_context(settings, alpn=["http/1.1"])
    assert context is not None
    assert context.options & ssl.OP_NO_RENEGOTIATION
    # Refused at once with an alert (not left waiting for a ServerHello that never comes).
    assert not answered
    assert b"no renegotiation" in client.output
    assert after.text == "n=3;"
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.name == "actorhttp"]


@needs_openssl
@pytest.mark.skipif(ssl.OPENSSL_VERSION_INFO < (3,), reason="OpenSSL 3's option bits")
async def test_renegotiation_allowed_by_a_users_context_completes_in_the_reads(
    ca: trustme.CA,
) -> None:
    context = server_context(ca)
    context.options &= ~ssl.OP_NO_RENEGOTIATION
    context.options |= 0x100  # SSL_OP_ALLOW_CLIENT_RENEGOTIATION: off by default in OpenSSL 3
    with trio.fail_after(TIMEOUT):
        async with serve_app(
            tls_app(), transport="httptools", ssl_context=context, keep_alive_timeout=KEEP_CONNECTED
        ) as c:
            answered, client = await renegotiate(c.server.port)
    assert answered, client.output.decode(errors="replace")


# -- the stream itself, on a socket pair ---------------------------------------------------


class BareClient:
    """A TLS client as bare as our server: an ``SSLObject`` over a socket read by hand.

    Reading the socket synchronously, it can make room in the server's send
    buffer without letting the server's tasks run.
    """

    def __init__(self, sock: trio.socket.SocketType, context: ssl.SSLContext) -> None:
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="127.0.0.1")

    async def flush(self) -> None:
        data = self.outgoing.read()
        while data:
            data = data[await self.sock.send(data) :]

    async def handshake_and_send(self, data: bytes) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self.flush()
                self.incoming.write(await self.sock.recv(RECEIVE))
        self.tls.write(data)
        await self.flush()

    def drain(self) -> int:
        """Take what the kernel holds for us now, without waiting; how many bytes."""
        taken = 0
        while True:
            try:
                data = os.read(self.sock.fileno(), RECEIVE)
            except BlockingIOError:
                return taken
            self.incoming.write(data)
            taken += len(data)

    async def receive_exactly(self, size: int) -> bytes:
        received = bytearray()
        while len(received) < size:
            try:
                received += self.tls.read(RECEIVE)
            except ssl.SSLWantReadError:
                await trio.lowlevel.wait_readable(self.sock)
                self.drain()
        return bytes(received)


async def test_sends_from_several_tasks_leave_whole_and_in_order(ca: trustme.CA) -> None:
    ours, theirs = trio.socket.socketpair()
    server = TLSStream(trio.SocketStream(ours), server_context(ca))
    client = BareClient(theirs, client_context(ca))
    with trio.fail_after(TIMEOUT):
        async with server, trio.open_nursery() as nursery:
            nursery.start_soon(client.handshake_and_send, b"ping")
            assert await server.receive_some() == b"ping"
            first = PAYLOAD[: 4 * MiB]  # more than the socket buffers: the send waits
            nursery.start_soon(server.send_all, first)
            await trio.testing.wait_all_tasks_blocked()
            assert client.drain() > 0  # room in the buffer, and the waiting send not yet run
            # The hand-over's synchronous write, while a send waits: queued behind it.
            assert server.write_some(b"second") == UNSENT
            nursery.start_soon(server.send_rest, UNSENT)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(server.send_all, b"third")
            received = await client.receive_exactly(len(first) + len(b"secondthird"))
    theirs.close()
    assert received == first + b"secondthird"


async def tls_pair(ca: trustme.CA) -> tuple[TLSStream, trio.SSLStream[trio.SocketStream]]:
    """Our server stream and trio's client stream, handshaken, on the two ends of a socket pair."""
    ours, theirs = trio.socket.socketpair()
    server = TLSStream(trio.SocketStream(ours), server_context(ca))
    client = trio.SSLStream(
        trio.SocketStream(theirs), client_context(ca), server_hostname="127.0.0.1"
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.send_all, b"ping")
        assert await server.receive_some() == b"ping"  # the handshake, then the data
    return server, client


async def test_a_write_that_needs_the_client_fails_the_stream_with_a_reason(
    ca: trustme.CA, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a write does mid-renegotiation (with a context that allows one), simulated:
    no Python client can start a renegotiation while the server writes."""
    caplog.set_level(logging.DEBUG, logger="actorhttp")

    def wants_read(data: bytes) -> int:
        raise ssl.SSLWantReadError("The operation did not complete (read)")

    with trio.fail_after(TIMEOUT):
        server, client = await tls_pair(ca)
        async with server, client:
            monkeypatch.setattr(server._ssl, "write", wants_read)
            with pytest.raises(trio.BrokenResourceError, match="renegotiation"):
                await server.send_all(b"answer")
            with pytest.raises(trio.BrokenResourceError, match="renegotiation"):
                server.write_some(b"again")  # broken for good: never a wait on the client
    assert any("renegotiation" in r.getMessage() for r in caplog.records)
