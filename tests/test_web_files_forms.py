"""FileResponse, forms, uploads and what a handler sees of its request, over real sockets.

Every test runs on both transports (the ``transport`` fixture behind
``actorhttp_client``), with httpx as the client and raw sockets where the
exact bytes matter.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from actorhttp import web
from actorhttp.testing import TestClient

from .rawhttp import exchange, status_of
from .test_web_api import app_with, get, split

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10
DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "page.html").write_text("<h1>hi</h1>")
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "archive.tar.gz").write_bytes(gzip.compress(b"a tarball, say"))
    (tmp_path / "styled.css").write_text("body { color: red }" * 10)
    (tmp_path / "styled.css.gz").write_bytes(gzip.compress(b"body { color: red }" * 10))
    os.utime(tmp_path / "data.bin", (1_600_000_000, 1_600_000_000))
    return tmp_path


def file_app(root: Path, chunk_sizes: list[int] | None = None) -> web.Application:
    class Recording(web.FileResponse):
        async def write(self, data: bytes | bytearray | memoryview) -> None:
            if chunk_sizes is not None:
                chunk_sizes.append(len(data))
            await super().write(data)

    async def serve(request: web.Request) -> web.StreamResponse:
        chunk = int(request.query.get("chunk", 256 * 1024))
        return Recording(root / request.match_info["name"], chunk_size=chunk)

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    return app


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


# -- FileResponse ----------------------------------------------------------------------


async def test_file_response_types_validators_and_body(
    actorhttp_client: Client, files: Path
) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        page = await client.get("/files/page.html")
        data = await client.get("/files/data.bin")
        missing = await client.get("/files/nope.txt")
    assert page.text == "<h1>hi</h1>"
    assert page.headers["content-type"] == "text/html"
    assert data.content == DATA
    assert data.headers["content-type"] == "application/octet-stream"
    assert data.headers["content-length"] == str(len(DATA))
    assert data.headers["accept-ranges"] == "bytes"
    st = (files / "data.bin").stat()
    assert data.headers["etag"] == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    assert data.headers["last-modified"] == http_date(1_600_000_000)
    assert missing.status_code == 404


async def test_a_tar_gz_arrives_as_stored(actorhttp_client: Client, files: Path) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        response = await client.get("/files/archive.tar.gz")
        raw = await exchange(
            client.server.port, get("/files/archive.tar.gz", "Accept-Encoding: gzip")
        )
    stored = (files / "archive.tar.gz").read_bytes()
    assert response.content == stored  # httpx would have gunzipped a Content-Encoding
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"] == "application/gzip"
    fields, body = split(raw)
    assert "content-encoding" not in fields
    assert body == stored


async def test_a_precompressed_sibling_is_served_when_accepted(
    actorhttp_client: Client, files: Path
) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        raw = await exchange(client.server.port, get("/files/styled.css", "Accept-Encoding: gzip"))
        plain = await exchange(client.server.port, get("/files/styled.css"))
    fields, body = split(raw)
    assert fields["content-encoding"] == ["gzip"]
    assert fields["content-type"] == ["text/css"]
    assert gzip.decompress(body) == b"body { color: red }" * 10
    plain_fields, plain_body = split(plain)
    assert "content-encoding" not in plain_fields
    assert plain_body == b"body { color: red }" * 10


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": "ETAG"}, 304),
        ({"If-None-Match": 'W/"other", W/ETAG'}, 304),  # weak comparison
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": http_date(1_600_000_000)}, 304),
        ({"If-Modified-Since": http_date(1_500_000_000)}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": http_date(1_600_000_000)}, 200),
        ({"If-Match": "ETAG"}, 200),
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": "W/ETAG"}, 412),  # strong comparison
        ({"If-Unmodified-Since": http_date(1_500_000_000)}, 412),
        ({"If-Unmodified-Since": http_date(1_700_000_000)}, 200),
    ],
)
async def test_conditional_requests(
    actorhttp_client: Client, files: Path, headers: dict[str, str], status: int
) -> None:
    st = (files / "data.bin").stat()
    etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    headers = {k: v.replace("ETAG", etag) for k, v in headers.items()}
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        response = await client.get("/files/data.bin", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert response.content == DATA
    else:
        assert response.content == b""
    if status == 304:
        assert response.headers["etag"] == etag
        assert response.headers["last-modified"] == http_date(1_600_000_000)


async def test_validators_echoed_back_match_a_fractional_mtime(
    actorhttp_client: Client, files: Path
) -> None:
    os.utime(files / "data.bin", (1_600_000_000.5, 1_600_000_000.5))
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        first = await client.get("/files/data.bin")
        by_date = await client.get(
            "/files/data.bin", headers={"If-Modified-Since": first.headers["last-modified"]}
        )
        by_tag = await client.get(
            "/files/data.bin", headers={"If-None-Match": first.headers["etag"]}
        )
        unchanged = await client.get(
            "/files/data.bin", headers={"If-Unmodified-Since": first.headers["last-modified"]}
        )
    assert first.headers["last-modified"] == http_date(1_600_000_001)  # rounded up
    assert (by_date.status_code, by_tag.status_code, unchanged.status_code) == (304, 304, 200)


@pytest.mark.parametrize(
    ("range_", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, len(DATA)),
        ("bytes=-50", len(DATA) - 50, len(DATA)),
        ("bytes=-999999", 0, len(DATA)),  # a suffix longer than the file: all of it
        ("bytes=10000-99999", 10000, len(DATA)),
    ],
)
async def test_ranges_get_206(
    actorhttp_client: Client, files: Path, range_: str, start: int, end: int
) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        response = await client.get("/files/data.bin", headers={"Range": range_})
    assert response.status_code == 206
    assert response.content == DATA[start:end]
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(DATA)}"


@pytest.mark.parametrize("range_", ["bytes=10240-", "bytes=99999-", "bytes=5-2", "bytes=x"])
async def test_unsatisfiable_range_is_416(
    actorhttp_client: Client, files: Path, range_: str
) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        response = await client.get("/files/data.bin", headers={"Range": range_})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert response.content == b""


async def test_if_range(actorhttp_client: Client, files: Path) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        current = await client.get(
            "/files/data.bin",
            headers={"Range": "bytes=0-9", "If-Range": http_date(1_600_000_000)},
        )
        stale = await client.get(
            "/files/data.bin",
            headers={"Range": "bytes=0-9", "If-Range": http_date(1_500_000_000)},
        )
    assert (current.status_code, current.content) == (206, DATA[:10])
    assert (stale.status_code, stale.content) == (200, DATA)


async def test_head_of_a_file(actorhttp_client: Client, files: Path) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(files))
        raw = await exchange(
            client.server.port,
            b"HEAD /files/data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    fields, body = split(raw)
    assert status_of(raw) == 200
    assert fields["content-length"] == [str(len(DATA))]
    assert body == b""


async def test_a_large_file_is_streamed_in_chunks(actorhttp_client: Client, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "large.bin").write_bytes(content)
    sizes: list[int] = []
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(file_app(tmp_path, sizes))
        response = await client.get("/files/large.bin?chunk=65536")
    assert response.content == content
    assert max(sizes) == 65536  # read and written a chunk at a time, never whole
    assert len(sizes) == len(content) // 65536 + 1


# -- forms and uploads ---------------------------------------------------------------


async def describe_form(request: web.Request) -> web.Response:
    form = await request.post()
    out: dict[str, list[Any]] = {}
    for name, value in form.items():
        if isinstance(value, web.FileField):
            contents = value.file.read()
            described: Any = {
                "filename": value.filename,
                "content_type": value.content_type,
                "size": len(contents),
                "head": contents[:10].decode("latin-1"),
                "on_disk": bool(value.file.__dict__.get("_rolled")),
            }
        elif isinstance(value, str):
            described = value
        else:
            described = {"bytes": bytes(value).decode("latin-1")}
        out.setdefault(name, []).append(described)
    return web.json_response(out)


async def test_post_of_a_multipart_upload(actorhttp_client: Client) -> None:
    big = b"B" * (200 * 1024)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("POST", "/form", describe_form)))
        response = await client.post(
            "/form",
            data={"name": "Zoë", "tags": ["a", "b"]},
            files=[
                ("notes", ("notes.txt", b"small file", "text/plain")),
                ("notes", ("big.bin", big, "application/octet-stream")),
            ],
        )
    assert response.status_code == 200
    assert response.json() == {
        "name": ["Zoë"],
        "tags": ["a", "b"],
        "notes": [
            {
                "filename": "notes.txt",
                "content_type": "text/plain",
                "size": 10,
                "head": "small file",
                "on_disk": False,
            },
            {
                "filename": "big.bin",
                "content_type": "application/octet-stream",
                "size": len(big),
                "head": "B" * 10,
                "on_disk": True,
            },
        ],
    }


async def test_upload_with_a_non_ascii_filename(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("POST", "/form", describe_form)))
        response = await client.post("/form", files={"doc": ("日本 naïve.txt", b"x", "text/plain")})
    assert response.status_code == 200
    assert response.json()["doc"][0]["filename"] == "日本 naïve.txt"


async def test_post_of_an_urlencoded_form(actorhttp_client: Client) -> None:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("POST", "/form", describe_form)))
        response = await client.post("/form", data={"q": "a b&c", "empty": "", "n": ["1", "2"]})
    assert response.json() == {"q": ["a b&c"], "empty": [""], "n": ["1", "2"]}


async def test_multipart_streamed_to_a_file(actorhttp_client: Client, tmp_path: Path) -> None:
    async def save(request: web.Request) -> web.Response:
        reader = await request.multipart()
        saved: dict[str, int] = {}
        async for part in reader:
            if part.filename is None:
                saved[f"field:{part.name}"] = len(await part.text())
                continue
            path = tmp_path / part.filename
            size = 0
            with path.open("wb") as out:
                while chunk := await part.read_chunk(8192):
                    size += len(chunk)
                    out.write(chunk)
            saved[part.filename] = size
        return web.json_response(saved)

    upload = os.urandom(300 * 1024)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("POST", "/upload", save)))
        response = await client.post(
            "/upload", data={"title": "holiday"}, files={"f": ("up.bin", upload)}
        )
    assert response.json() == {"field:title": 7, "up.bin": len(upload)}
    assert (tmp_path / "up.bin").read_bytes() == upload


async def test_request_content_read_in_pieces(actorhttp_client: Client) -> None:
    async def pieces(request: web.Request) -> web.Response:
        content = request.content
        first_line = await content.readline()
        exact = await content.readexactly(5)
        rest = [len(chunk) async for chunk in content.iter_chunked(1000)]
        return web.json_response(
            {
                "line": first_line.decode(),
                "exact": exact.decode(),
                "rest": sum(rest),
                "at_most_1000": max(rest) <= 1000,
                "eof": content.at_eof(),
                "total": content.total_bytes,
            }
        )

    async def body() -> AsyncIterator[bytes]:
        yield b"first line\nfive!"
        for _ in range(20):
            yield b"r" * 700

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("POST", "/pieces", pieces)))
        chunked = await client.post("/pieces", content=body())
        sized = await client.post("/pieces", content=b"first line\nfive!" + b"r" * 14000)
    for response in (chunked, sized):
        assert response.json() == {
            "line": "first line\n",
            "exact": "five!",
            "rest": 14000,
            "at_most_1000": True,
            "eof": True,
            "total": 14016,
        }


async def test_what_a_handler_sees_of_its_request(actorhttp_client: Client) -> None:
    async def inspect(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "url": str(request.url),
                "host": request.host,
                "remote": request.remote,
                "scheme": request.scheme,
                "forwarded": [dict(element) for element in request.forwarded],
                "cookies": dict(request.cookies),
                "query": list(request.query.items()),
                "query_string": request.query_string,
                "match": dict(request.match_info),
            }
        )

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("GET", "/seen/{name}", inspect)))
        response = await client.get(
            "/seen/w%C3%B6rld?a=1&a=%2F&b=x+y",
            headers={
                "Host": "example.com:8080",
                "Forwarded": 'for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"',
                "Cookie": 'session=abc; theme="dark blue"',
            },
        )
    assert response.json() == {
        "url": "http://example.com:8080/seen/w%C3%B6rld?a=1&a=%2F&b=x+y",
        "host": "example.com:8080",
        "remote": "127.0.0.1",
        "scheme": "http",
        "forwarded": [{"for": "192.0.2.60", "proto": "https"}, {"for": "[2001:db8::1]:4711"}],
        "cookies": {"session": "abc", "theme": "dark blue"},
        "query": [["a", "1"], ["a", "/"], ["b", "x y"]],
        "query_string": "a=1&a=/&b=x y",
        "match": {"name": "wörld"},
    }


async def test_bodies_over_client_max_size_are_413(actorhttp_client: Client) -> None:
    async def read(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    async def chunks(size: int) -> AsyncIterator[bytes]:
        for _ in range(size // 500):
            yield b"c" * 500

    app = app_with(("POST", "/read", read), ("POST", "/form", describe_form), client_max_size=2000)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        fits = await client.post("/read", content=b"x" * 2000)
        declared = await client.post("/read", content=b"x" * 5000)
        streamed = await client.post("/read", content=chunks(5000))
        form = await client.post("/form", files={"f": ("f.bin", b"y" * 5000)})
        urlencoded = await client.post("/form", data={"q": "z" * 5000})
        after = await client.post("/read", content=b"ok")
    assert fits.text == "2000"
    for refused in (declared, streamed, form, urlencoded):
        assert refused.status_code == 413
        assert refused.text == "Maximum request body size 2000 exceeded."
    assert after.text == "2"


async def test_json_body_and_bad_json(actorhttp_client: Client) -> None:
    async def parse(request: web.Request) -> web.Response:
        try:
            data = await request.json()
        except json.JSONDecodeError as exc:
            return web.Response(status=422, text=f"caught at {exc.pos}")
        return web.json_response({"got": data})

    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app_with(("POST", "/json", parse)))
        good = await client.post("/json", json={"a": [1, 2]})
        bad = await client.post("/json", content=b"{oops")
    assert good.json() == {"got": {"a": [1, 2]}}
    assert (bad.status_code, bad.text) == (422, "caught at 1")


async def test_app_config_dict_and_request_state(actorhttp_client: Client) -> None:
    greeting = web.AppKey("greeting", str)
    seen = web.RequestKey("seen", str)

    @web.middleware
    async def mark(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        request[seen] = "by the middleware"
        response: web.StreamResponse = await handler(request)
        return response

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "same_app": request.app is app,
                "greeting": request.config_dict[greeting],
                "state": request[seen],
            }
        )

    app = app_with(("GET", "/", handler), middlewares=[mark])
    cast(Any, app)[greeting] = "hello"  # Application is typed for str keys only, for now
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/")
    assert response.json() == {"same_app": True, "greeting": "hello", "state": "by the middleware"}
