"""Responses with no I/O: aiohttp's constructors, typed headers, cookies, hand-over, exceptions.

Where aiohttp documents a behaviour the expected values here are aiohttp's;
the HTTPException family is compared with ``aiohttp.web_exceptions`` itself.
"""

from __future__ import annotations

import datetime
import json
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from multidict import CIMultiDict

from actorhttp import web
from actorhttp._transports._framing import frame
from actorhttp._web._helpers import ETag, parse_media_type
from actorhttp.messages import open_reply
from actorhttp.testing import make_mocked_request

# -- constructors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "content_type", "body"),
    [
        ({"text": "hé"}, "text/plain; charset=utf-8", "hé".encode()),
        ({"text": "hé", "content_type": "text/html"}, "text/html; charset=utf-8", "hé".encode()),
        ({"text": "hé", "charset": "latin-1"}, "text/plain; charset=latin-1", b"h\xe9"),
        ({"body": b"\x00\x01"}, None, b"\x00\x01"),
        ({"body": b"<p>", "content_type": "text/html"}, "text/html", b"<p>"),
        (
            {"body": b"x", "content_type": "text/html", "charset": "koi8-r"},
            "text/html; charset=koi8-r",
            b"x",
        ),
        ({"body": "str body"}, "text/plain; charset=utf-8", b"str body"),
        ({"text": "t", "headers": {"Content-Type": "text/x"}}, "text/x; charset=utf-8", b"t"),
        ({"body": b"b", "headers": {"Content-Type": "image/png"}}, "image/png", b"b"),
        ({}, None, None),
    ],
)
def test_response_constructor_as_aiohttp(
    kwargs: dict[str, Any], content_type: str | None, body: bytes | None
) -> None:
    response = web.Response(**kwargs)
    assert response.headers.get("Content-Type") == content_type
    assert response.body == body
    assert response.status == 200
    assert response.reason == "OK"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"body": b"x", "text": "y"}, ValueError, "body and text are not allowed together"),
        ({"text": "x", "content_type": "text/html; charset=utf-8"}, ValueError, "charset must"),
        (
            {"text": "x", "headers": {"Content-Type": "a/b"}, "content_type": "c/d"},
            ValueError,
            "passing both Content-Type header",
        ),
        (
            {"body": b"x", "headers": {"Content-Type": "a/b"}, "charset": "utf-8"},
            ValueError,
            "passing both Content-Type header",
        ),
        ({"text": b"bytes"}, TypeError, "text argument must be str"),
        ({"body": 12}, ValueError, "Unsupported body type"),
        ({"status": 99}, ValueError, "status"),
        ({"status": 1000}, ValueError, "status"),
        ({"reason": "A\r\nB"}, ValueError, "Reason cannot contain"),
    ],
)
def test_response_constructor_errors(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        web.Response(**kwargs)


def test_aiohttp2_content_type_idiom_on_a_body_response() -> None:
    response = web.Response(body=b"<h1>hi</h1>")
    response.content_type = "text/html;charset=utf-8"
    media, params = parse_media_type(response.headers["Content-Type"])
    assert (media, dict(params)) == ("text/html", {"charset": "utf-8"})
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.content_type == "text/html"
    assert response.charset == "utf-8"
    assert response.text == "<h1>hi</h1>"


def test_content_type_and_charset_setters() -> None:
    response = web.Response(text="x")
    response.content_type = "text/html"  # keeps the charset already chosen, as aiohttp
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    response.charset = "KOI8-R"  # lowercased, as aiohttp
    assert response.headers["Content-Type"] == "text/html; charset=koi8-r"
    response.charset = None
    assert response.headers["Content-Type"] == "text/html"
    assert response.charset is None
    octets = web.StreamResponse()
    assert octets.content_type == "application/octet-stream"
    with pytest.raises(RuntimeError, match="application/octet-stream"):
        octets.charset = "utf-8"


def test_media_type_parameters_keep_their_quotes() -> None:
    response = web.Response(body=b"x")
    response.content_type = 'multipart/mixed; boundary="a b;c"'
    assert response.content_type == "multipart/mixed"
    _, params = parse_media_type(response.headers["Content-Type"])
    assert dict(params) == {"boundary": "a b;c"}
    response.charset = "utf-8"
    _, params = parse_media_type(response.headers["Content-Type"])
    assert dict(params) == {"boundary": "a b;c", "charset": "utf-8"}


def test_text_and_body_setters() -> None:
    response = web.Response(body=b"raw")
    response.text = "now text"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.body == b"now text"
    response.body = b"\xff"
    assert response.body == b"\xff"
    with pytest.raises(UnicodeDecodeError):  # as aiohttp: text decodes strictly
        assert response.text
    with pytest.raises(TypeError):
        response.text = b"bytes"  # type: ignore[assignment]
    latin = web.Response(text="é", charset="latin-1")
    latin.text = "ü"
    assert latin.body == b"\xfc"
    assert web.Response().text is None


def test_content_length() -> None:
    stream = web.StreamResponse()
    assert stream.content_length is None
    stream.content_length = 5
    assert stream.headers["Content-Length"] == "5"
    assert stream.content_length == 5
    with pytest.raises(RuntimeError, match="chunked encoding"):
        stream.enable_chunked_encoding()
    stream.content_length = None
    assert "Content-Length" not in stream.headers
    stream.enable_chunked_encoding()
    assert stream.chunked
    with pytest.raises(RuntimeError, match="chunked encoding is enable"):
        stream.content_length = 3
    with pytest.raises(ValueError, match=">= 0"):
        web.StreamResponse().content_length = -1
    whole = web.Response(body=b"abc")
    assert whole.content_length == 3
    assert web.Response().content_length == 0
    with pytest.raises(RuntimeError, match="set automatically"):
        whole.content_length = 3


def test_chunked_encoding_chunk_size_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="Chunk size is deprecated"):
        web.StreamResponse().enable_chunked_encoding(chunk_size=10)


@pytest.mark.parametrize(
    ("value", "header"),
    [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1_000_000_000, "Sun, 09 Sep 2001 01:46:40 GMT"),
        (1_000_000_000.2, "Sun, 09 Sep 2001 01:46:41 GMT"),  # rounded up, as aiohttp
        (
            datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "Thu, 02 Jan 2020 03:04:05 GMT",
        ),
        (datetime.datetime(2020, 1, 2, 3, 4, 5, 10), "Thu, 02 Jan 2020 03:04:06 GMT"),
        ("Mon, 01 Jan 2001 00:00:00 GMT", "Mon, 01 Jan 2001 00:00:00 GMT"),
    ],
)
def test_last_modified(value: Any, header: str) -> None:
    response = web.StreamResponse()
    response.last_modified = value
    assert response.headers["Last-Modified"] == header
    assert response.last_modified is not None
    assert response.last_modified.tzinfo is datetime.UTC
    response.last_modified = None
    assert "Last-Modified" not in response.headers
    with pytest.raises(TypeError, match="Unsupported type for last_modified"):
        response.last_modified = [1]  # type: ignore[assignment]
    response.last_modified = "garbage"
    assert response.last_modified is None


@pytest.mark.parametrize(
    ("value", "header", "parsed"),
    [
        ("abc", '"abc"', ETag("abc")),
        ("*", "*", ETag("*")),
        (ETag("abc", is_weak=True), 'W/"abc"', ETag("abc", is_weak=True)),
        (ETag("abc"), '"abc"', ETag("abc")),
        (ETag("*", is_weak=True), "*", ETag("*")),
        ("ü", '"ü"', ETag("ü")),
    ],
)
def test_etag(value: str | ETag, header: str, parsed: ETag) -> None:
    response = web.StreamResponse()
    response.etag = value
    assert response.headers["ETag"] == header
    assert response.etag == parsed
    response.etag = None
    assert response.etag is None


@pytest.mark.parametrize("bad", ['a"b', "a b", "", ETag('x"')])
def test_invalid_etag_is_value_error(bad: str | ETag) -> None:
    with pytest.raises(ValueError, match="not a valid etag"):
        web.StreamResponse().etag = bad
    with pytest.raises(ValueError, match="Unsupported etag type"):
        web.StreamResponse().etag = 5  # type: ignore[assignment]
    assert web.StreamResponse(headers={"ETag": "unquoted"}).etag is None


def test_status_and_flags() -> None:
    response = web.StreamResponse(status=299)
    assert response.reason == ""
    response.set_status(404)
    assert (response.status, response.reason) == (404, "Not Found")
    response.set_status(418, "Teapot")
    assert response.reason == "Teapot"
    before = response.keep_alive
    response.force_close()
    assert (before, response.keep_alive) == (None, False)
    assert not response.prepared
    assert repr(response) == "<StreamResponse 418 Teapot not prepared>"


def forced(response: web.StreamResponse) -> web.ContentCoding | None:
    return response._compression_force


def test_enable_compression() -> None:
    assert not web.StreamResponse().compression
    response = web.StreamResponse()
    response.enable_compression()
    assert response.compression
    assert forced(response) is None
    response.enable_compression(web.ContentCoding.gzip, strategy=zlib.Z_HUFFMAN_ONLY)
    assert forced(response) is web.ContentCoding.gzip
    assert response._compression_strategy == zlib.Z_HUFFMAN_ONLY
    with pytest.warns(DeprecationWarning, match="Using boolean for force"):
        response.enable_compression(True)
    assert forced(response) is web.ContentCoding.deflate
    with pytest.raises(TypeError):
        response.enable_compression("gzip")  # type: ignore[arg-type]


# -- header safety ---------------------------------------------------------------

BAD_FIELDS = [("X-A", "a\r\nB: c"), ("X-A", "a\nb"), ("X-A", "a\rb"), ("X-A", "a\x00b")]
BAD_NAMES = [("X A", "v"), ("X:A", "v"), ("", "v"), ("X\r\nA", "v"), ("Ä", "v")]


@pytest.mark.parametrize(("name", "value"), BAD_FIELDS + BAD_NAMES)
def test_unsafe_header_is_value_error_where_set(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="header"):
        web.StreamResponse(headers={name: value})
    with pytest.raises(ValueError, match="header"):
        web.Response(text="x", headers=[(name, value)])
    with pytest.raises(ValueError, match="header"):
        web.HTTPNotFound(headers=CIMultiDict({name: value}))
    headers = web.StreamResponse().headers
    setters: list[Callable[[], object]] = [
        lambda: headers.__setitem__(name, value),
        lambda: headers.add(name, value),
        lambda: headers.extend({name: value}),
        lambda: headers.extend([(name, value)]),
        lambda: headers.update({name: value}),
        lambda: headers.merge({name: value}),
        lambda: headers.setdefault(name, value),
    ]
    for setter in setters:
        with pytest.raises(ValueError, match="header"):
            setter()
    assert len(headers) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "x", "content_type": "text/html\r\nX-Evil: 1"},
        {"body": b"x", "content_type": "text/html\r\nX-Evil: 1"},
        {"body": b"x", "content_type": "text/html", "charset": "utf-8\r\nX-Evil: 1"},
    ],
)
def test_unsafe_content_type_argument_is_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="header"):
        web.Response(**kwargs)


def test_unsafe_content_type_in_json_response_is_value_error() -> None:
    with pytest.raises(ValueError, match="header"):
        web.json_response({}, content_type="application/json\nX-Evil: 1")


@pytest.mark.parametrize(
    "attribute",
    [
        {"domain": "x\r\nX-Evil: 1"},
        {"path": "/\r\nX-Evil: 1"},
        {"expires": "x\nX-Evil: 1"},
        {"samesite": "Lax\r\nX-Evil: 1"},
        {"max_age": "1\r\nX-Evil: 1"},
        {"version": "1\x00"},
    ],
)
def test_unsafe_cookie_attribute_is_value_error(attribute: dict[str, Any]) -> None:
    response = web.Response(text="x")
    with pytest.raises(ValueError, match="cookie"):
        response.set_cookie("a", "b", **attribute)


def test_unsafe_cookie_set_through_the_morsel_is_never_framed() -> None:
    response = web.Response(text="x")
    response.cookies["c"] = "v"
    response.cookies["c"]["domain"] = "a\r\nX-Evil: 1"
    with pytest.raises(ValueError, match="cookie"):
        open_reply()[0].send_nowait(response)
    assert not response.prepared


# -- cookies -----------------------------------------------------------------------


def wire_cookies(response: web.StreamResponse) -> list[str]:
    response._hand_over()
    return [value for name, value in frame(response, "GET").headers if name == "Set-Cookie"]


def test_set_cookie_every_attribute() -> None:
    response = web.StreamResponse()
    response.set_cookie(
        "a",
        "b",
        expires="Wed, 21 Oct 2015 07:28:00 GMT",
        domain="example.com",
        max_age=10,
        path="/p",
        secure=True,
        httponly=True,
        version="1",
        samesite="Lax",
        partitioned=True,
    )
    response.set_cookie("second", "with space; and")
    assert wire_cookies(response) == [
        "a=b; Domain=example.com; expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly; "
        "Max-Age=10; Path=/p; SameSite=Lax; Secure; Version=1; Partitioned",
        'second="with space\\073 and"; Path=/',
    ]


def test_set_cookie_updates_and_none_leaves_alone() -> None:
    response = web.StreamResponse()
    response.set_cookie("a", "1", max_age=10, partitioned=True, secure=True)
    response.set_cookie("a", "2")  # max_age dropped, as aiohttp; secure and partitioned kept
    assert wire_cookies(response) == ["a=2; Path=/; Secure; Partitioned"]
    unpartitioned = web.StreamResponse()
    unpartitioned.set_cookie("a", "1", partitioned=True)
    unpartitioned.set_cookie("a", "1", partitioned=False, secure=False)
    assert wire_cookies(unpartitioned) == ["a=1; Path=/"]
    with pytest.raises(Exception, match="Illegal key"):
        web.StreamResponse().set_cookie("a b", "x")


def test_del_cookie() -> None:
    response = web.StreamResponse()
    response.set_cookie("a", "1", partitioned=True)
    response.del_cookie(
        "a", domain="x.com", path="/p", secure=True, httponly=True, samesite="Strict"
    )
    assert wire_cookies(response) == [
        'a=""; Domain=x.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; '
        "Path=/p; SameSite=Strict; Secure"
    ]
    again = web.StreamResponse()
    again.del_cookie("a")
    again.set_cookie("a", "back")  # the expiry of the deletion does not stick, as aiohttp
    assert wire_cookies(again) == ["a=back; Path=/"]


# -- hand-over ---------------------------------------------------------------------

MUTATORS: dict[str, Callable[[web.Response], object]] = {
    "set_status": lambda r: r.set_status(404),
    "headers[]=": lambda r: r.headers.__setitem__("X-New", "1"),
    "headers.add": lambda r: r.headers.add("X-New", "1"),
    "del headers[]": lambda r: r.headers.__delitem__("X-Old"),
    "headers.pop": lambda r: r.headers.pop("X-Old"),
    "headers.popone": lambda r: r.headers.popone("X-Old"),
    "headers.popall": lambda r: r.headers.popall("X-Old"),
    "headers.popitem": lambda r: r.headers.popitem(),
    "headers.clear": lambda r: r.headers.clear(),
    "headers.update": lambda r: r.headers.update({"X-Old": "2"}),
    "headers.extend": lambda r: r.headers.extend({"X-New": "2"}),
    "headers.merge": lambda r: r.headers.merge({"X-New": "2"}),
    "headers.setdefault": lambda r: r.headers.setdefault("X-New", "2"),
    "content_type=": lambda r: setattr(r, "content_type", "text/html"),
    "charset=": lambda r: setattr(r, "charset", "latin-1"),
    "body=": lambda r: setattr(r, "body", b"other"),
    "text=": lambda r: setattr(r, "text", "other"),
    "set_cookie": lambda r: r.set_cookie("k", "v"),
    "del_cookie": lambda r: r.del_cookie("k"),
    "force_close": lambda r: r.force_close(),
    "enable_compression": lambda r: r.enable_compression(),
    "enable_chunked_encoding": lambda r: r.enable_chunked_encoding(),
    "last_modified=": lambda r: setattr(r, "last_modified", 0),
    "last_modified=None": lambda r: setattr(r, "last_modified", None),
    "etag=": lambda r: setattr(r, "etag", "x"),
    "etag=None": lambda r: setattr(r, "etag", None),
}


@pytest.mark.parametrize("how", ["_hand_over", "reply"])
@pytest.mark.parametrize("mutate", MUTATORS.values(), ids=list(MUTATORS))
def test_every_change_after_hand_over_is_runtime_error(
    how: str, mutate: Callable[[web.Response], object]
) -> None:
    response = web.Response(text="original", headers={"X-Old": "1"})
    response.set_cookie("k", "v")
    response.etag = "e"
    if how == "reply":
        open_reply()[0].send_nowait(response)
    else:
        response._hand_over()
    before = frame(response, "GET")
    with pytest.raises(RuntimeError, match="after the headers have been sent"):
        mutate(response)
    after = frame(response, "GET")
    assert (after.status, after.headers, after.body) == (before.status, before.headers, before.body)
    assert after.body == b"original"


def test_stream_response_content_length_after_hand_over() -> None:
    response = web.StreamResponse()
    response.content_length = 3
    response._hand_over()
    with pytest.raises(RuntimeError):
        response.content_length = 4
    with pytest.raises(RuntimeError):
        response.content_length = None
    assert response.headers["Content-Length"] == "3"


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_a_mutable_body_is_snapshotted_at_hand_over(kind: type) -> None:
    buffer = bytearray(b"original")
    response = web.Response(body=kind(buffer) if kind is memoryview else buffer)
    open_reply()[0].send_nowait(response)
    buffer[:] = b"CHANGED!"
    wire = frame(response, "GET")
    assert wire.body == b"original"
    assert wire.headers[-1] == ("Content-Length", "8")


def test_cookies_changed_through_the_jar_after_hand_over_are_not_sent() -> None:
    response = web.Response(text="x")
    response.set_cookie("a", "1")
    response._hand_over()
    response.cookies["a"] = "2"
    response.cookies["b"] = "3"
    assert [v for k, v in frame(response, "GET").headers if k == "Set-Cookie"] == ["a=1; Path=/"]


def test_response_state_keys() -> None:
    key = web.ResponseKey("key", int)
    response = web.StreamResponse()
    response[key] = 1
    assert response[key] == 1
    with pytest.warns(web.NotAppKeyWarning):
        response["plain str key for this test"] = 2
    assert len(response) == 2
    del response[key]
    assert list(response) == ["plain str key for this test"]


# -- json responses ----------------------------------------------------------------


def test_json_response() -> None:
    response = web.json_response({"a": [1, "é"]})
    assert json.loads(response.text or "") == {"a": [1, "é"]}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    custom = web.json_response([1], dumps=lambda data: "custom", status=201)
    assert (custom.text, custom.status) == ("custom", 201)
    ready = web.json_response(body=b'{"b":2}', content_type="application/vnd.x+json")
    assert (ready.body, ready.content_type, ready.charset) == (
        b'{"b":2}',
        "application/vnd.x+json",
        None,
    )
    assert web.json_response(text='{"c":3}').text == '{"c":3}'
    with pytest.raises(ValueError, match="only one of data, text, or body"):
        web.json_response({"a": 1}, text="x")


def test_json_bytes_response() -> None:
    response = web.json_bytes_response({"a": 1}, dumps=lambda data: json.dumps(data).encode())
    assert response.body == b'{"a": 1}'
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError, match="only one of data or body"):
        web.json_bytes_response({"a": 1}, dumps=lambda data: b"", body=b"x")


# -- prepare, write, write_eof (no I/O: the pipe read by hand) ------------------------


async def test_prepare_sends_the_head_and_writes_go_through_the_pipe() -> None:
    reply, receiver = open_reply()
    request = make_mocked_request("GET", "/", reply=reply)
    response = web.StreamResponse()
    with pytest.raises(RuntimeError, match="before prepare"):
        await response.write(b"early")
    await response.prepare(request)
    assert await receiver.receive() is response
    assert response.prepared
    await response.prepare(request)  # a second prepare does nothing, as aiohttp
    with pytest.raises(TypeError, match="byte-ish"):
        await response.write("text")  # type: ignore[arg-type]
    await response.write(bytearray(b"one "))
    await response.write(memoryview(b"two"))
    pipe = response._pipe
    assert pipe is not None
    assert await pipe.read() == b"one two"
    async with trio.open_nursery() as nursery:
        nursery.start_soon(response.write_eof, b" three")
        assert await pipe.read() == b" three"
        assert await pipe.read() == b""
    assert response.body_length == 13
    with pytest.raises(RuntimeError, match="after write_eof"):
        await response.write(b"late")
    await response.write_eof()  # again: nothing
    with pytest.warns(DeprecationWarning, match="drain"):
        await response.drain()


async def test_a_write_waits_for_a_slow_connection(autojump_clock: trio.testing.MockClock) -> None:
    reply, _receiver = open_reply()
    response = web.StreamResponse()
    await response.prepare(make_mocked_request("GET", "/", reply=reply))
    pipe = response._pipe
    assert pipe is not None
    done_at: list[float] = []

    async def writer() -> None:
        for _ in range(4):
            await response.write(b"x" * 40_000)  # 160 KB against a 64 KiB pipe
        done_at.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        for _ in range(2):
            await trio.sleep(10)
            assert len(await pipe.read()) == 80_000  # the writer parked past 64 KiB
    assert done_at == [20.0]


async def test_head_and_204_bodies_are_dropped_unsent() -> None:
    for method, status in (("HEAD", 200), ("GET", 204), ("GET", 304)):
        reply, _receiver = open_reply()
        response = web.StreamResponse(status=status)
        await response.prepare(make_mocked_request(method, "/", reply=reply))
        await response.write(b"dropped")
        assert response.body_length == 7
        assert response._pipe is not None
        assert response._pipe.discard


async def test_prepare_to_a_client_gone_is_connection_reset() -> None:
    reply, receiver = open_reply()
    receiver.close()
    response = web.StreamResponse()
    with pytest.raises(ConnectionResetError):
        await response.prepare(make_mocked_request("GET", "/", reply=reply))


async def test_response_writes_whole_only() -> None:
    reply, receiver = open_reply()
    response = web.Response(text="whole")
    with pytest.raises(RuntimeError, match="StreamResponse"):
        await response.write(b"x")
    await response.prepare(make_mocked_request("GET", "/", reply=reply))
    assert await receiver.receive() is response
    assert response._pipe is None
    with pytest.raises(ValueError, match="data arg is not supported"):
        await web.Response().write_eof(b"x")


@pytest.mark.parametrize("status", [200, 201, 404, 599])
@pytest.mark.parametrize("text", ["", "hello", "héllo ☃", "\U0001f600"])
def test_text_fast_path_builds_what_the_general_path_builds(status: int, text: str) -> None:
    fast = web.Response(text=text, status=status)
    general = web.Response(text=text, status=status, charset="utf-8")  # takes the long way
    assert list(fast.headers.items()) == list(general.headers.items())
    assert (fast.status, fast.reason, fast.body, fast.text) == (
        general.status,
        general.reason,
        general.body,
        general.text,
    )
    assert fast.content_type == "text/plain"
    assert fast.charset == "utf-8"
    fast.headers["X-Later"] = "1"  # still the response's own, changeable headers
    fast.text = "changed"
    assert fast.body == b"changed"


def test_text_fast_path_refuses_what_the_general_path_refuses() -> None:
    with pytest.raises(TypeError):
        web.Response(text=b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        web.Response(text="x", status=1000)
    with pytest.raises(UnicodeEncodeError):
        web.Response(text="\ud800")
