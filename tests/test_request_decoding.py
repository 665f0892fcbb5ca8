"""Request bodies sent with a Content-Encoding: decoded as aiohttp decodes them, bounded.

Through real sockets on both transports (httpx sends the compressed bytes as
they are), and the decoder itself driven directly for the zip bomb.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli
import httpx
import pytest
import trio

from actorhttp import web
from actorhttp._web import _decoding
from actorhttp._web._decoding import DECODED_PIECE, decoding
from actorhttp.messages import TransportName
from actorhttp.testing import serve_app

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef,unused-ignore]

TIMEOUT = 10
PLAIN = b"actorhttp decodes what aiohttp decodes. " * 2000


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("gzip", gzip.compress),
    "deflate": ("deflate", zlib.compress),
    "raw-deflate": ("deflate", _raw_deflate),  # what some clients send as "deflate"
    "br": ("br", brotli.compress),
    "zstd": ("zstd", zstd.compress),
    "GZIP": ("GZIP", gzip.compress),  # the coding's name is case-insensitive
}


async def read_length(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(text=f"{len(body)} {body == PLAIN}")


async def stream_pieces(request: web.Request) -> web.Response:
    largest = total = 0
    async for piece in request.content.iter_any():
        largest, total = max(largest, len(piece)), total + len(piece)
    return web.Response(text=f"{total} {largest}")


async def form(request: web.Request) -> web.Response:
    fields = await request.post()
    return web.Response(text=str(fields["name"]))


async def catch(request: web.Request) -> web.Response:
    try:
        await request.content.read()
    except web.RequestPayloadError as exc:
        return web.Response(text=f"caught: {exc.text}")
    return web.Response(text="no error")


def make_app(**handler_args: object) -> web.Application:
    app = web.Application(handler_args=handler_args)
    app.router.add_post("/read", read_length)
    app.router.add_post("/stream", stream_pieces)
    app.router.add_post("/form", form)
    app.router.add_post("/catch", catch)
    return app


@pytest.mark.parametrize("name", list(ENCODERS))
async def test_a_compressed_body_is_read_decoded(transport: TransportName, name: str) -> None:
    coding, encode = ENCODERS[name]
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            response = await client.post(
                "/read", content=encode(PLAIN), headers={"Content-Encoding": coding}
            )
    assert response.status_code == 200
    assert response.text == f"{len(PLAIN)} True"


async def test_concatenated_gzip_members_are_all_decoded(transport: TransportName) -> None:
    body = gzip.compress(PLAIN[:1000]) + gzip.compress(PLAIN[1000:])
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            response = await client.post(
                "/read", content=body, headers={"Content-Encoding": "gzip"}
            )
    assert response.text == f"{len(PLAIN)} True"


async def test_a_compressed_form_is_parsed(transport: TransportName) -> None:
    body = gzip.compress(b"name=decoded+value&other=1")
    headers = {
        "Content-Encoding": "gzip",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            response = await client.post("/form", content=body, headers=headers)
    assert response.text == "decoded value"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_bad_compressed_data_is_a_payload_error(
    transport: TransportName, coding: str, damage: str
) -> None:
    encode = ENCODERS[coding][1]
    whole = encode(PLAIN)
    body = b"this is not compressed at all" if damage == "garbage" else whole[: len(whole) // 2]
    headers = {"Content-Encoding": coding}
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            unhandled = await client.post("/read", content=body, headers=headers)
            caught = await client.post("/catch", content=body, headers=headers)
            after = await client.post("/read", content=PLAIN)
    assert unhandled.status_code == 400
    assert coding in unhandled.text
    assert caught.text.startswith("caught: ")
    assert after.text == f"{len(PLAIN)} True"  # the server goes on


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
async def test_a_zip_bomb_is_refused_at_client_max_size(
    transport: TransportName, coding: str
) -> None:
    zeros = bytes(16 * 1024 * 1024)  # 16 MiB of zeros: a few KiB sent
    if coding == "gzip":
        bomb = gzip.compress(zeros, 1)
    elif coding == "br":
        bomb = brotli.compress(zeros, quality=1)
    else:
        bomb = zstd.compress(zeros)
    assert len(bomb) < 100_000
    headers = {"Content-Encoding": coding}
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            refused = await client.post("/read", content=bomb, headers=headers)
            streamed = await client.post("/stream", content=bomb, headers=headers)
    assert refused.status_code == 413
    total, largest = map(int, streamed.text.split())
    assert total == 16 * 1024 * 1024  # read piece by piece, the handler's choice
    assert largest <= 2 * DECODED_PIECE  # brotli's output limit is approximate


async def test_the_decoder_never_runs_ahead_of_the_reader() -> None:
    # 1 GiB of zeros (1,024 gzip members of a MiB each, 1 MiB sent): decoding three
    # pieces of it must take three pieces of memory, not the gigabyte.
    bomb = gzip.compress(bytes(1024 * 1024), 1) * 1024
    sent = [bomb]

    async def receive() -> bytes:
        await trio.lowlevel.checkpoint()
        return sent.pop() if sent else b""

    read = decoding(receive, [(b"Content-Encoding", b"gzip")], read_bufsize=2**16)
    pieces = [await read() for _ in range(3)]
    assert [len(piece) for piece in pieces] == [DECODED_PIECE] * 3
    assert not sent  # the whole compressed body was taken, and is decoded as asked


async def test_auto_decompress_false_hands_the_body_over_as_sent(
    transport: TransportName,
) -> None:
    body = gzip.compress(PLAIN)
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(auto_decompress=False), transport=transport) as client:
            kept = await client.post("/read", content=body, headers={"Content-Encoding": "gzip"})
        async with serve_app(make_app(), transport=transport, auto_decompress=False) as client:
            given = await client.post("/read", content=body, headers={"Content-Encoding": "gzip"})
    assert kept.text == f"{len(body)} False"
    assert given.text == f"{len(body)} False"


@pytest.mark.parametrize("coding", ["identity", "compress", "gzip, deflate", "x-custom"])
async def test_other_codings_pass_through(transport: TransportName, coding: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app(), transport=transport) as client:
            response = await client.post(
                "/read", content=PLAIN, headers={"Content-Encoding": coding}
            )
    assert response.text == f"{len(PLAIN)} True"


async def test_br_without_brotli_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_decoding, "_brotli", None)
    with trio.fail_after(TIMEOUT):
        async with serve_app(make_app()) as client:
            response = await client.post(
                "/read", content=brotli.compress(PLAIN), headers={"Content-Encoding": "br"}
            )
    assert response.status_code == 400
    assert "brotli" in response.text
    assert "actorhttp[compression]" in response.text


async def test_an_http2_stream_body_is_decoded_too() -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            serve_app(make_app(), transport="httptools") as client,
            httpx.AsyncClient(http1=False, http2=True) as h2c,  # h2c, prior knowledge
        ):
            response = await h2c.post(
                client.server.url + "/read",
                content=gzip.compress(PLAIN),
                headers={"Content-Encoding": "gzip"},
            )
    assert response.http_version == "HTTP/2"
    assert response.text == f"{len(PLAIN)} True"
