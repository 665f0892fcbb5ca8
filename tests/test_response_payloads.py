"""``Response(body=...)`` with what aiohttp's payload system takes, and multipart parts bounded
by ``client_max_size``: over real sockets on both transports (``actorhttp_client``)."""

from __future__ import annotations

import base64
import gzip
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp.helpers
import pytest
import trio

import actorhttp
from actorhttp import web
from actorhttp.testing import TestClient

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10
BIG = bytes(range(256)) * 4096  # 1 MiB: several pieces of a file


def app_with(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/", handler)
    return app


async def test_an_open_binary_file_is_streamed_with_its_name_type_and_length(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(BIG)
    opened: list[io.BufferedReader] = []

    async def handler(request: web.Request) -> web.Response:
        opened.append(path.open("rb"))
        return web.Response(body=opened[-1])

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        response = await client.get("/")
        head = await client.head("/")
    assert response.status_code == 200
    assert response.content == BIG
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(len(BIG))
    assert "Transfer-Encoding" not in response.headers
    assert response.headers["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert head.headers["Content-Length"] == str(len(BIG))
    assert head.content == b""
    # Closed once sent, and for HEAD unsent: by the handler's task, just after the answer.
    with trio.fail_after(TIMEOUT):
        while not all(file.closed for file in opened):
            await trio.sleep(0.01)
    assert len(opened) == 2


async def test_a_file_is_sent_from_where_it_stands_and_the_responses_fields_win(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"skip this|send this")

    async def handler(request: web.Request) -> web.Response:
        file = path.open("rb")
        file.seek(10)
        headers = {"Content-Type": "text/binary", "Content-Disposition": "inline"}
        return web.Response(body=file, headers=headers)

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        response = await client.get("/")
    assert response.content == b"send this"
    assert response.headers["Content-Length"] == "9"
    assert response.headers["Content-Type"] == "text/binary"
    assert response.headers["Content-Disposition"] == "inline"


async def test_an_open_text_file_is_encoded_and_sent_chunked(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("café " * 100_000, encoding="utf-8")

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=path.open(encoding="utf-8"))

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        response = await client.get("/")
    assert response.text == "café " * 100_000
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert "Content-Length" not in response.headers or response.http_version == "HTTP/2"


async def test_in_memory_streams(actorhttp_client: Client) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.query.get("kind") == "bytes":
            stream = io.BytesIO(b"__binary")
            stream.seek(2)
            return web.Response(body=stream)
        return web.Response(body=io.StringIO("text, from a StringIO"))

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        binary = await client.get("/?kind=bytes")
        text = await client.get("/")
    assert binary.content == b"binary"
    assert binary.headers["Content-Type"] == "application/octet-stream"
    assert binary.headers["Content-Length"] == "6"
    assert "Content-Disposition" not in binary.headers
    assert text.text == "text, from a StringIO"
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Length"] == "21"


async def test_a_multipart_part_is_sent_back_with_its_name(actorhttp_client: Client) -> None:
    async def handler(request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        return web.Response(body=part)

    files = {"upload": ("café.txt", b"the part's bytes", "text/plain")}
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        response = await client.post("/", files=files)
    assert response.content == b"the part's bytes"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; name="upload"; filename="caf%C3%A9.txt"'
    )


async def test_get_payload_and_its_content_disposition(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"payload")

    async def handler(request: web.Request) -> web.Response:
        payload = actorhttp.get_payload(path.open("rb"))
        payload.set_content_disposition("inline", filename="shown as.txt")
        return web.Response(body=payload)

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        response = await client.get("/")
    assert response.content == b"payload"
    assert response.headers["Content-Disposition"] == 'inline; filename="shown%20as.txt"'


def test_content_disposition_follows_aiohttps_quoting() -> None:
    payload = actorhttp.get_payload(b"")
    cases: tuple[dict[str, Any], ...] = (
        {"name": "a field", "filename": "ü x.txt"},
        {"name": "naïve"},
        {"name": 'quote " and \\'},
    )
    for params in cases:
        payload.set_content_disposition("attachment", **params)
        expected = aiohttp.helpers.content_disposition_header("attachment", **params)
        assert payload.headers["Content-Disposition"] == expected
    with pytest.raises(ValueError, match="disposition type"):
        payload.set_content_disposition("two words")


async def test_an_unsupported_body_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unsupported body type"):
        web.Response(body=object())
    with pytest.raises(LookupError):
        actorhttp.get_payload(42)


async def test_request_content_echoed_as_a_body(actorhttp_client: Client) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=request.content)

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(handler))
        response = await client.post("/", content=b"line one\nline two\n" * 1000)
    assert response.content == b"line one\nline two\n" * 1000


async def test_multipart_parts_read_whole_are_bounded_by_client_max_size(
    actorhttp_client: Client,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        assert part is not None
        how = request.query["read"]
        if how == "chunks":
            size = 0
            while chunk := await part.read_chunk():
                size += len(chunk)
            return web.Response(text=str(size))
        data = await part.text() if how == "text" else await part.read()
        return web.Response(text=str(len(data)))

    app = web.Application(client_max_size=1000)
    app.router.add_post("/", handler)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        small = await client.post("/?read=text", files={"f": ("f", b"a" * 900)})
        text = await client.post("/?read=text", files={"f": ("f", b"a" * 1020)})
        raw = await client.post("/?read=raw", files={"f": ("f", b"a" * 1020)})
        chunks = await client.post("/?read=chunks", files={"f": ("f", b"a" * 5000)})
    assert small.text == "900"
    assert text.status_code == raw.status_code == 413
    assert "1000" in text.text
    assert chunks.text == "5000"  # read_chunk streams: the handler decides


async def test_a_base64_part_is_bounded_once_decoded_too(actorhttp_client: Client) -> None:
    async def handler(request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        assert part is not None
        return web.Response(text=str(len(await part.read(decode=True))))

    app = web.Application(client_max_size=1000)
    app.router.add_post("/", handler)

    # 700 bytes of base64 that decode to 525: fits; a gzip part inflating past the limit: not.
    def body(part_headers: bytes, data: bytes) -> bytes:
        return (
            b'--b\r\nContent-Disposition: form-data; name="f"\r\n'
            + part_headers
            + b"\r\n\r\n"
            + data
            + b"\r\n--b--\r\n"
        )

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    fits = body(b"Content-Transfer-Encoding: base64", base64.b64encode(b"x" * 525))
    inflates = body(b"Content-Encoding: gzip", gzip.compress(b"x" * 5000))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        small = await client.post("/", content=fits, headers=headers)
        bomb = await client.post("/", content=inflates, headers=headers)
    assert small.text == "525"
    assert bomb.status_code == 413


def test_a_payloads_file_is_closed_even_when_the_response_is_never_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"x")
    file = path.open("rb")
    payload = actorhttp.get_payload(file)

    async def close() -> None:
        await payload.aclose()

    trio.run(close)
    assert file.closed
    assert isinstance(payload, actorhttp.Payload)


async def test_on_response_prepare_runs_once_for_a_streamed_body(
    actorhttp_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"file")
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=path.open("rb"))

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        calls.append(request.path)
        response.headers["X-Prepared"] = str(len(calls))

    app = app_with(handler)
    app.on_response_prepare.append(on_prepare)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/")
    assert response.content == b"file"
    assert response.headers["X-Prepared"] == "1"
    assert calls == ["/"]
