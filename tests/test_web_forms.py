"""Forms with no network: ``post()`` (urlencoded, multipart, the spill) and ``multipart()``."""

from __future__ import annotations

import base64
import gzip
import quopri
from tempfile import SpooledTemporaryFile
from typing import Any

import pytest
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from actorhttp import web
from actorhttp._web._multipart import FILE_SPOOL_MAX_SIZE
from actorhttp.testing import make_mocked_request

from .test_web_request import body, post_request, rolled

# -- forms --------------------------------------------------------------------------

BOUNDARY = "xYzZY"


def multipart(*parts: tuple[dict[str, str], bytes], boundary: str = BOUNDARY) -> bytes:
    out = bytearray()
    for headers, data in parts:
        out += f"--{boundary}\r\n".encode()
        for name, value in headers.items():
            out += f"{name}: {value}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def disposition(name: str, filename: str | None = None) -> dict[str, str]:
    value = f'form-data; name="{name}"'
    if filename is not None:
        value += f'; filename="{filename}"'
    return {"Content-Disposition": value}


FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


async def test_post_urlencoded() -> None:
    request = post_request(b"a=1&b=x+y&a=%C3%A9&empty=", "application/x-www-form-urlencoded")
    form = await request.post()
    assert list(form.items()) == [("a", "1"), ("b", "x y"), ("a", "é"), ("empty", "")]
    assert await request.post() is form  # cached
    latin = post_request(b"a=%E9", "application/x-www-form-urlencoded; charset=latin-1")
    assert (await latin.post())["a"] == "é"
    get = make_mocked_request("GET", "/", payload=b"a=1")
    assert dict(await get.post()) == {}
    other = post_request(b"a=1", "application/json")
    assert dict(await other.post()) == {}


async def test_post_multipart_fields_and_files() -> None:
    data = multipart(
        (disposition("text"), "héllo".encode()),
        ({**disposition("latin"), "Content-Type": "text/plain; charset=latin-1"}, b"caf\xe9"),
        ({**disposition("raw"), "Content-Type": "application/octet-stream"}, b"\x00\x01"),
        (
            {**disposition("upload", "notes.txt"), "Content-Type": "text/plain", "X-Extra": "1"},
            b"file contents",
        ),
        (disposition("bare", "blob.bin"), b"\xff" * 10),
    )
    request = post_request(data, FORM_TYPE)
    form = await request.post()
    assert form["text"] == "héllo"
    assert form["latin"] == "café"
    assert form["raw"] == b"\x00\x01"
    upload = form["upload"]
    assert isinstance(upload, web.FileField)
    assert (upload.name, upload.filename, upload.content_type) == (
        "upload",
        "notes.txt",
        "text/plain",
    )
    assert upload.headers["X-Extra"] == "1"
    assert upload.file.read() == b"file contents"
    assert not rolled(upload.file)  # small: kept in memory
    bare = form["bare"]
    assert isinstance(bare, web.FileField)
    assert bare.content_type == "application/octet-stream"
    assert bare.file.read() == b"\xff" * 10
    request._finish()  # the request is over: its files are released, as aiohttp does
    assert upload.file.closed
    assert bare.file.closed


async def test_post_file_spills_to_disk_past_the_threshold() -> None:
    big = bytes(range(256)) * (FILE_SPOOL_MAX_SIZE // 256 + 1)
    data = multipart(
        (disposition("small", "s.bin"), b"s" * FILE_SPOOL_MAX_SIZE),
        (disposition("big", "b.bin"), big),
    )
    pieces = [data[i : i + 10_000] for i in range(0, len(data), 10_000)]
    request = post_request(body(pieces), FORM_TYPE)
    form = await request.post()
    small, large = form["small"], form["big"]
    assert isinstance(small, web.FileField)
    assert isinstance(large, web.FileField)
    assert not rolled(small.file)
    assert rolled(large.file)
    assert large.file.read() == big
    assert small.file.read() == b"s" * FILE_SPOOL_MAX_SIZE
    request._finish()
    assert large.file.closed


async def test_post_multipart_over_the_limit_is_413() -> None:
    data = multipart((disposition("f", "f.bin"), b"z" * 5000))
    declared = post_request(data, FORM_TYPE, client_max_size=1000)
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await declared.post()
    streamed = post_request(body([data[:2000], data[2000:]]), FORM_TYPE, client_max_size=1000)
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await streamed.post()


async def test_a_form_refused_part_way_closes_the_files_it_had_spooled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[Any] = []
    real = SpooledTemporaryFile

    def spy(*args: Any) -> Any:
        opened.append(real(*args))
        return opened[-1]

    monkeypatch.setattr("actorhttp._web._multipart.SpooledTemporaryFile", spy)
    data = multipart(
        (disposition("first", "a.bin"), b"a" * 500), (disposition("second"), b"b" * 900)
    )
    request = post_request(body([data[:700], data[700:]]), FORM_TYPE, client_max_size=1000)
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await request.post()
    assert len(opened) == 1
    assert opened[0].closed


async def test_multipart_reader_streams_parts() -> None:
    encoded = gzip.compress(b'{"zipped": true}')
    data = multipart(
        ({**disposition("json"), "Content-Type": "application/json"}, b'{"a": 1}'),
        (disposition("form"), b"x=1&y=2"),
        (
            {**disposition("b64", "f.bin"), "Content-Transfer-Encoding": "base64"},
            base64.b64encode(b"binary\x00data"),
        ),
        (
            {**disposition("qp"), "Content-Transfer-Encoding": "quoted-printable"},
            quopri.encodestring("café".encode()),
        ),
        ({**disposition("gz"), "Content-Encoding": "gzip"}, encoded),
        (disposition("skipped"), b"never read"),
        (disposition("big", "big.bin"), b"0123456789" * 10),
    )
    reader = await post_request(body([data[:50], data[50:]]), FORM_TYPE).multipart()
    json_part = await reader.next()
    assert json_part is not None
    assert (json_part.name, json_part.filename) == ("json", None)
    assert await json_part.json() == {"a": 1}
    form_part = await reader.next()
    assert form_part is not None
    assert await form_part.form() == [("x", "1"), ("y", "2")]
    b64 = await reader.next()
    assert b64 is not None
    assert b64.filename == "f.bin"
    assert await b64.read(decode=True) == b"binary\x00data"
    qp = await reader.next()
    assert qp is not None
    assert await qp.text() == "café"
    gz = await reader.next()
    assert gz is not None
    assert await gz.json() == {"zipped": True}
    skipped = await reader.next()
    assert skipped is not None
    await skipped.release()
    assert skipped.at_eof()
    big = await reader.next()
    assert big is not None
    chunks = []
    while chunk := await big.read_chunk(30):
        chunks.append(chunk)
    assert [len(c) for c in chunks] == [30, 30, 30, 10]
    assert await reader.next() is None
    assert reader.at_eof()


async def test_multipart_reader_of_a_body_that_is_not_multipart_is_a_400() -> None:
    request = post_request(multipart((disposition("a"), b"1")), "text/plain")
    with pytest.raises(web.RequestPayloadError):
        await request.multipart()


async def test_multipart_reader_skips_unread_parts_and_iterates() -> None:
    data = multipart((disposition("a"), b"1" * 1000), (disposition("b"), b"2"))
    reader = await post_request(data, FORM_TYPE).multipart()
    names = [part.name async for part in reader]
    assert names == ["a", "b"]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        (FORM_TYPE, b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\nno end"),
        (FORM_TYPE, b"not multipart at all"),
        ("multipart/form-data", multipart((disposition("a"), b"1"))),  # no boundary
        (FORM_TYPE, multipart(({"Content-Type": "text/plain"}, b"no name"))),
        (
            FORM_TYPE,
            multipart(({**disposition("a"), "Content-Transfer-Encoding": "base64"}, b"abc")),
        ),
        (FORM_TYPE, multipart(({**disposition("a"), "Content-Encoding": "gzip"}, b"nope"))),
    ],
)
async def test_malformed_multipart_is_a_400(content_type: str, data: bytes) -> None:
    with pytest.raises(web.RequestPayloadError) as caught:
        await post_request(data, content_type).post()
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("disposition_value", "name", "filename"),
    [
        ('form-data; name="f"; filename="naïve.txt"', "f", "naïve.txt"),
        ('form-data; name="f"; filename="日本.txt"', "f", "日本.txt"),
        ("form-data; name=f; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt", "f", "日本.txt"),
        ("form-data; name=f; filename=plain.txt; filename*=UTF-8''%E6%97%A5.txt", "f", "日.txt"),
        ("form-data; name=f; filename*=iso-8859-1'en'%E9t%E9.txt", "f", "été.txt"),
        ('form-data; name="a;b"; filename="x\\"y.txt"', "a;b", 'x"y.txt'),
        ('form-data; name="f"; filename="C:\\\\dir\\\\x.txt"', "f", "C:\\dir\\x.txt"),
        ('form-data; Name="upper"', "upper", None),
    ],
)
async def test_part_names_and_filenames_as_aiohttp(
    disposition_value: str, name: str, filename: str | None
) -> None:
    data = multipart(({"Content-Disposition": disposition_value}, b"contents"))
    reader = await post_request(data, FORM_TYPE).multipart()
    part = await reader.next()
    assert part is not None
    theirs = parse_content_disposition(disposition_value)[1]
    assert (part.name, part.filename) == (name, filename)
    assert part.name == content_disposition_filename(theirs, "name")
    assert part.filename == content_disposition_filename(theirs, "filename")
    await part.release()
    if filename is not None:
        request = post_request(data, FORM_TYPE)
        field = (await request.post())[name]
        assert isinstance(field, web.FileField)
        assert field.filename == filename
        request._finish()
