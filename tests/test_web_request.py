"""The request API with no network (``make_mocked_request``), against aiohttp's behaviour.

Where aiohttp parses a field, the same input is given to aiohttp's own
``make_mocked_request`` and the answers compared.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import warnings
from collections.abc import Callable, MutableMapping, Sequence
from tempfile import SpooledTemporaryFile
from typing import IO, Any
from unittest import mock

import aiohttp.test_utils
import pytest
import trio
from aiohttp.http_parser import HttpRequestParserPy
from multidict import CIMultiDict

from actorhttp import web
from actorhttp._web._helpers import ETag
from actorhttp._web._streams import StreamReader
from actorhttp.testing import make_mocked_request


def raw_request(target: str, headers: Sequence[tuple[str, str]] = ()) -> web.Request:
    """A request whose header fields may repeat (make_mocked_request takes a mapping)."""
    request = make_mocked_request("GET", target)
    fields = tuple((k.encode("latin-1"), v.encode("utf-8")) for k, v in headers)
    return web.Request(
        request.method, request.raw_target_path, request.raw_query_string, fields,
        request.content, request.reply, peer=request.peer,
    )  # fmt: skip


def aiohttp_request(target: str, headers: Sequence[tuple[str, str]] = ()) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return aiohttp.test_utils.make_mocked_request("GET", target, headers=CIMultiDict(headers))


def feeder(chunks: Sequence[bytes], taken: list[int] | None = None) -> Callable[[], Any]:
    pending = list(chunks)

    async def receive() -> bytes:
        await trio.lowlevel.checkpoint()
        if taken is not None:
            taken.append(1)
        return pending.pop(0) if pending else b""

    return receive


def body(chunks: Sequence[bytes], declared: int | None = None, **kwargs: Any) -> StreamReader:
    return StreamReader(feeder(chunks), declared_length=declared, **kwargs)


def rolled(file: IO[bytes]) -> bool:
    """Whether a SpooledTemporaryFile has moved to disk."""
    assert isinstance(file, SpooledTemporaryFile)
    return bool(file.__dict__["_rolled"])


def post_request(data: bytes | StreamReader, content_type: str, **kwargs: Any) -> web.Request:
    return make_mocked_request(
        "POST", "/form", {"Content-Type": content_type}, payload=data, **kwargs
    )


# -- the target ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "path", "query", "query_string"),
    [
        ("/plain?x=1", "/plain", [("x", "1")], "x=1"),
        (
            "/p%2Fq/r?a=%2F&b=c+d&e=&e=2&f",
            "/p/q/r",
            [("a", "/"), ("b", "c d"), ("e", ""), ("e", "2"), ("f", "")],
            "a=/&b=c d&e=&e=2&f",  # decoded, as aiohttp's request.query_string
        ),
        ("/caf%C3%A9?q=%C3%A9", "/café", [("q", "é")], "q=é"),
        ("/%7Ex/", "/~x/", [], ""),
        ("/x?a=1&a=2&=v&k", "/x", [("a", "1"), ("a", "2"), ("", "v"), ("k", "")], None),
    ],
)
def test_target_as_aiohttp(
    target: str, path: str, query: list[tuple[str, str]], query_string: str | None
) -> None:
    request = make_mocked_request("GET", target, {"Host": "example.com:8080"})
    assert request.path == path
    assert request.raw_path == target
    assert list(request.query.items()) == query
    assert request.query_string == (query_string or target.partition("?")[2])
    assert request.path_qs == str(request.rel_url) == target  # as aiohttp's parser keeps it
    assert not request.rel_url.is_absolute()
    assert str(request.url) == f"http://example.com:8080{request.path_qs}"
    assert request.url.path == path
    theirs = aiohttp_parsed(target)  # what aiohttp's server-side parser makes of it
    assert (request.path, request.raw_path, request.query_string, request.path_qs) == (
        theirs.url.path,
        theirs.path,
        theirs.url.query_string,
        str(theirs.url),
    )
    assert list(request.query.items()) == list(theirs.url.query.items())


def aiohttp_parsed(target: str) -> Any:
    loop = asyncio.new_event_loop()
    try:
        parser = HttpRequestParserPy(mock.Mock(), loop, 2**16)
        messages, _, _ = parser.feed_data(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        return messages[0][0]
    finally:
        loop.close()


def test_headers_are_a_case_insensitive_multidict() -> None:
    request = raw_request("/", [("X-A", "1"), ("x-a", "2"), ("X-B", "é")])
    assert request.headers.getall("x-A") == ["1", "2"]
    assert request.headers["X-A"] == "1"
    assert request.headers["x-b"] == "é"
    assert list(request.headers.items()) == [("X-A", "1"), ("x-a", "2"), ("X-B", "é")]
    with pytest.raises(TypeError):
        request.headers["X-C"] = "no"  # type: ignore[index]


def test_host_remote_scheme_secure() -> None:
    request = make_mocked_request("GET", "/x", {"Host": "[::1]:80"}, peer=("10.0.0.1", 5))
    assert (request.host, request.remote, request.scheme, request.secure) == (
        "[::1]:80",
        "10.0.0.1",
        "http",
        False,
    )
    assert str(request.url) == "http://[::1]/x"  # the default port goes, as yarl does
    assert request.get_extra_info("peername") == ("10.0.0.1", 5)
    unknown = make_mocked_request("GET", "/x", peer=None)
    assert (unknown.remote, unknown.host) == (None, "")
    https = request.clone(scheme="https", host="example.com", remote="1.2.3.4")
    assert (https.scheme, https.secure, https.host, https.remote) == (
        "https",
        True,
        "example.com",
        "1.2.3.4",
    )
    assert str(https.url) == "https://example.com/x"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ('a="quoted value"; b=x', {"a": "quoted value", "b": "x"}),
        ('a="\\"esc\\""', {"a": '"esc"'}),
        ("bad pair; a=1; =x; c", {"a": "1"}),  # pairs with no name or no "=" are skipped
        ("n@me=1; ok=2", {"ok": "2"}),  # a name that is not a token is skipped
        ("a=1;a=2", {"a": "2"}),
        (" a = 1 ", {"a": "1"}),
        ("a=%20x", {"a": "%20x"}),  # not percent-decoded, as aiohttp
    ],
)
def test_cookies(header: str, expected: dict[str, str]) -> None:
    assert dict(raw_request("/", [("Cookie", header)]).cookies) == expected


def test_cookies_from_several_cookie_headers() -> None:
    # HTTP/2 may split the cookies over several fields (RFC 9113 8.2.3).
    request = raw_request("/", [("Cookie", "a=1"), ("Cookie", "b=2")])
    assert dict(request.cookies) == {"a": "1", "b": "2"}
    assert dict(make_mocked_request("GET", "/").cookies) == {}


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "garbage",
        "",
    ],
)
def test_conditional_dates_as_aiohttp(value: str) -> None:
    fields = [("If-Modified-Since", value), ("If-Unmodified-Since", value), ("If-Range", value)]
    ours, theirs = raw_request("/", fields), aiohttp_request("/", fields)
    assert ours.if_modified_since == theirs.if_modified_since
    assert ours.if_unmodified_since == theirs.if_unmodified_since
    assert ours.if_range == theirs.if_range
    if value.startswith("Sun"):
        assert ours.if_range == datetime.datetime(1994, 11, 6, 8, 49, 37, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"a"', (ETag("a"),)),
        ('W/"a", "b"', (ETag("a", True), ETag("b"))),
        ("*", (ETag("*"),)),
        ('"a", garbage, "c"', (ETag("a"),)),  # stops at bad syntax
        ("garbage", ()),
        ('"a" "b"', ()),
        ("W/*", ()),
        ("", None),
    ],
)
def test_if_match_and_if_none_match(value: str, expected: tuple[ETag, ...] | None) -> None:
    fields = [("If-Match", value), ("If-None-Match", value)]
    request = raw_request("/", fields)
    assert request.if_match == request.if_none_match == expected
    theirs = aiohttp_request("/", fields)
    assert [(e.value, e.is_weak) for e in request.if_match or ()] == [
        (e.value, e.is_weak) for e in theirs.if_match or ()
    ]
    assert make_mocked_request("GET", "/").if_match is None


RANGES = [
    "bytes=0-499", "bytes=500-", "bytes=-500", "bytes=0-0", "BYTES=1-2", "bytes=0-",
    "bytes=500-499", "bytes=-", "bytes=1-2,3-4", "items=0-1", "bytes=a-b", "bytes= 1-2", "",
]  # fmt: skip


@pytest.mark.parametrize("value", RANGES)
def test_http_range_as_aiohttp(value: str) -> None:
    ours, theirs = raw_request("/", [("Range", value)]), aiohttp_request("/", [("Range", value)])
    try:
        expected: slice | str = theirs.http_range
    except ValueError as exc:
        expected = str(exc)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            assert ours.http_range
    else:
        assert ours.http_range == expected
    assert make_mocked_request("GET", "/").http_range == slice(None, None, 1)


FORWARDED = [
    ["for=192.0.2.60;proto=http;by=203.0.113.43"],
    ['For="[2001:db8:cafe::17]:4711"'],
    ["for=192.0.2.43, for=198.51.100.17"],
    ["for=192.0.2.43,for=198.51.100.17;by=x", "for=1.2.3.4"],
    ['for="quoted\\"pair\\\\x"'],
    ["for=1.2.3.4;;by=5", "garbage"],
    ["for=1.2.3.4 garbage, for=5.6.7.8", "for=1.2.3.4;bad=, for=5.6.7.8"],
    ["for = 1.2.3.4", "for=1.2.3.4, ,for=5", 'for="unterminated'],
    ["host=example.com:8080;proto=https", "FOR=X;Proto=HTTPS", "for=a;for=b"],
    ["for=1,  for=2  ;  by=3", "for=1\t,\tfor=2", ",,", "for=1,", 'for="\\"'],
]


@pytest.mark.parametrize("values", FORWARDED)
def test_forwarded_as_aiohttp(values: list[str]) -> None:
    fields = [("Forwarded", value) for value in values]
    ours = [dict(element) for element in raw_request("/", fields).forwarded]
    theirs = [dict(element) for element in aiohttp_request("/", fields).forwarded]
    assert ours == theirs
    assert ours  # every case has at least one element


def test_content_type_charset_and_length() -> None:
    request = raw_request(
        "/",
        [
            ("Content-Type", 'Multipart/Form-Data; boundary="a; b"; Charset=latin-1'),
            ("Content-Length", "12"),
        ],
    )
    assert request.content_type == "multipart/form-data"
    assert request.charset == "latin-1"  # the ";" inside quotes did not split
    assert request.content_length == 12
    bare = make_mocked_request("GET", "/")
    assert (bare.content_type, bare.charset, bare.content_length) == (
        "application/octet-stream",
        None,
        None,
    )
    assert raw_request("/", [("Content-Length", "١٢")]).content_length is None


# -- the body -----------------------------------------------------------------------


async def test_can_read_body_and_body_exists() -> None:
    empty = make_mocked_request("GET", "/")
    assert not empty.can_read_body
    assert not empty.body_exists
    request = make_mocked_request("POST", "/", payload=b"data")
    assert request.can_read_body
    assert request.body_exists
    assert await request.read() == b"data"
    assert (request.can_read_body, request.body_exists) == (False, True)  # came with one
    with pytest.warns(DeprecationWarning, match="can_read_body"):
        assert not request.has_body


async def test_read_is_cached() -> None:
    request = make_mocked_request("POST", "/", payload=body([b"ab", b"cd"]))
    assert await request.read() == b"abcd"
    assert await request.read() == b"abcd"
    assert await request.text() == "abcd"
    assert reader_is_drained(request)


def reader_is_drained(request: web.Request) -> bool:
    return request.content.at_eof()


async def test_text_uses_the_charset_and_bad_bytes_are_400() -> None:
    latin = post_request(b"caf\xe9", "text/plain; charset=latin-1")
    assert await latin.text() == "café"
    bad = post_request(b"caf\xe9", "text/plain")
    with pytest.raises(web.HTTPBadRequest) as caught:
        await bad.text()
    assert caught.value.status == 400
    unknown = post_request(b"x", "text/plain; charset=no-such-codec")
    with pytest.raises(web.HTTPBadRequest):
        await unknown.text()


async def test_json_and_bad_json() -> None:
    good = post_request(b'{"a": [1, 2]}', "application/json")
    assert await good.json() == {"a": [1, 2]}
    custom = post_request(b"[1]", "application/json")
    assert await custom.json(loads=lambda text: ("loaded", text)) == ("loaded", "[1]")
    bad = post_request(b"{not json", "application/json")
    with pytest.raises(json.JSONDecodeError) as caught:
        await bad.json()
    assert isinstance(caught.value, web.HTTPBadRequest)
    assert caught.value.status == 400
    assert caught.value.pos == 1


async def test_read_over_a_declared_limit_is_413_before_reading() -> None:
    taken: list[int] = []
    reader = StreamReader(feeder([b"x" * 100], taken), declared_length=5000)
    request = make_mocked_request("POST", "/", payload=reader, client_max_size=1000)
    with pytest.raises(web.HTTPRequestEntityTooLarge) as caught:
        await request.read()
    assert taken == []
    assert (caught.value.status, caught.value.max_size, caught.value.actual_size) == (
        413,
        1000,
        5000,
    )


async def test_read_of_an_undeclared_body_is_413_at_the_crossing_chunk() -> None:
    reader = body([b"x" * 400] * 10)
    request = make_mocked_request("POST", "/", payload=reader, client_max_size=1000)
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await request.read()
    assert reader.total_bytes == 1200  # stopped at the third piece
    unlimited = make_mocked_request("POST", "/", payload=body([b"y" * 400] * 3))
    unlimited = unlimited.clone(client_max_size=0)
    assert len(await unlimited.read()) == 1200


async def test_stream_reader_reads() -> None:
    reader = body([b"line one\nline", b" two\nrest", b"-of-it"], declared=None)
    assert await reader.readline() == b"line one\n"
    assert await reader.read(3) == b"lin"
    assert await reader.readuntil(b"\n") == b"e two\n"
    assert reader.read_nowait(2) == b"re"
    assert await reader.readany() == b"st"
    assert await reader.readexactly(6) == b"-of-it"
    assert not reader.at_eof()
    assert await reader.read() == b""
    assert reader.at_eof()
    assert reader.is_eof()
    assert reader.total_bytes == 28
    with pytest.raises(ValueError, match="Separator"):
        await reader.readuntil(b"")


async def test_stream_reader_readexactly_short_is_incomplete_read() -> None:
    reader = body([b"abc"])
    with pytest.raises(asyncio.IncompleteReadError) as caught:
        await reader.readexactly(5)
    assert (caught.value.partial, caught.value.expected) == (b"abc", 5)


async def test_stream_reader_iterators() -> None:
    pieces = [b"a\nb", b"c\n", b"d" * 10]
    assert [p async for p in body(pieces).iter_any()] == pieces
    chunked = [b"a\nb", b"c\n", b"dddd", b"dddd", b"dd"]  # at most 4, as they come
    assert [p async for p in body(pieces).iter_chunked(4)] == chunked
    assert [p async for p in body(pieces).iter_chunks()] == [(p, False) for p in pieces]
    assert [line async for line in body(pieces)] == [b"a\n", b"bc\n", b"d" * 10]
    with pytest.raises(ValueError, match="positive"):
        async for _ in body(pieces).iter_chunked(0):
            pass


async def test_readchunk_ends_with_empty_and_false_as_aiohttp() -> None:
    reader = body([b"one", b"two"])
    seen = []
    while True:  # aiohttp's own loop: ends on (b"", False)
        chunk = await reader.readchunk()
        if chunk == (b"", False):
            break
        seen.append(chunk)
        assert len(seen) < 10, "readchunk never ended"
    assert seen == [(b"one", False), (b"two", False)]


async def test_readline_past_the_limit_is_value_error() -> None:
    reader = body([b"x" * 100, b"y" * 100, b"\n"], limit=64)  # past 2 * limit, as aiohttp
    with pytest.raises(ValueError, match="Chunk too big"):
        await reader.readline()


async def test_a_failing_body_keeps_failing() -> None:
    async def broken() -> bytes:
        raise web.RequestPayloadError("cut short")

    reader = StreamReader(broken)
    for _ in range(2):
        with pytest.raises(web.RequestPayloadError):
            await reader.read()
    assert isinstance(reader.exception(), web.RequestPayloadError)


# -- clone and state ----------------------------------------------------------------


def test_clone() -> None:
    request = make_mocked_request("GET", "/a?x=1", {"Host": "h", "X-A": "1"})
    key = web.RequestKey("user", str)
    request[key] = "alice"
    clone = request.clone(method="post", rel_url="/b?y=2", headers={"X-B": "2"}, client_max_size=5)
    assert (clone.method, clone.path, clone.query_string) == ("POST", "/b", "y=2")
    assert dict(clone.headers) == {"X-B": "2"}
    assert clone.client_max_size == 5
    assert clone[key] == "alice"  # the state is copied, as aiohttp's
    clone[key] = "bob"
    assert request[key] == "alice"
    assert clone.reply is request.reply
    assert (request.method, request.path, request.headers["X-A"]) == ("GET", "/a", "1")
    with pytest.raises(ValueError, match="relative"):
        request.clone(rel_url="http://elsewhere/")


async def test_finishing_a_request_closes_the_files_its_clones_spooled() -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=f; filename=a.bin\r\n\r\n"
        + b"x" * 100_000
        + b"\r\n--b--\r\n"
    )
    request = post_request(body, "multipart/form-data; boundary=b")
    clone = request.clone(remote="192.0.2.1").clone(scheme="https")  # as middlewares do
    file = (await clone.post())["f"].file  # type: ignore[union-attr]
    assert rolled(file)
    request._finish()  # what the server does once the answer is out
    assert file.closed


def test_request_state_keys_and_the_str_key_warning() -> None:
    request = make_mocked_request("GET", "/")
    key = web.RequestKey("count", int)
    request[key] = 1
    assert request[key] == 1
    assert key in request
    with pytest.warns(web.NotAppKeyWarning, match="RequestKey"):
        request["test_web_request plain key"] = 2
    request["test_web_request plain key"] = 3  # warned once: filterwarnings=error passes
    assert request.get("missing", "default") == "default"
    assert len(request) == 2
    del request[key]
    assert list(request) == ["test_web_request plain key"]


def test_a_request_is_a_mutable_mapping_of_its_state_as_aiohttps() -> None:
    request = make_mocked_request("GET", "/")
    other = make_mocked_request("GET", "/")
    user, role = web.RequestKey("user", str), web.RequestKey("role", str)
    assert isinstance(request, MutableMapping)
    assert request  # empty state, still true
    request.update({user: "ann"})
    assert request.setdefault(role, "admin") == "admin"
    assert request.setdefault(role, "guest") == "admin"
    assert list(request.keys()) == [user, role]
    assert list(request.values()) == ["ann", "admin"]
    assert dict(request.items()) == {user: "ann", role: "admin"}
    assert request.pop(role) == "admin"
    assert request.pop(role, None) is None
    with pytest.raises(KeyError):
        request.pop(role)
    assert request.popitem() == (user, "ann")
    request[user] = "bob"
    request.clear()
    assert len(request) == 0
    with pytest.warns(web.NotAppKeyWarning, match="RequestKey"):
        request.update(plain=1)
    # Identity, not contents: two requests with equal state are two requests.
    other["plain"] = 1
    assert request != other
    assert len({request, other}) == 2


def test_the_router_reads_as_a_mapping_of_named_resources() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/a", handler, name="a")
    app.router.add_get("/b", handler)
    assert list(app.router.keys()) == ["a"]
    assert [r.canonical for r in app.router.values()] == ["/a"]
    assert [(n, r.canonical) for n, r in app.router.items()] == [("a", "/a")]
    assert app.router.get("a") is app.router["a"]
    assert app.router.get("nope") is None


def test_the_transports_builder_makes_what_the_constructor_makes() -> None:
    """new_request sets each field by hand: a field added to Request must be added there too."""
    from dataclasses import fields

    from actorhttp._reply import open_reply
    from actorhttp._web._newrequest import new_request
    from actorhttp._web._streams import EMPTY_PAYLOAD

    reply, _ = open_reply()
    head: Any = ("GET", "/a", "q=1", ((b"Host", b"x"),), EMPTY_PAYLOAD, reply)
    rest: dict[str, Any] = {"peer": ("127.0.0.1", 1), "keep_alive": False}
    built = new_request(*head, **rest)
    constructed = web.Request(*head, **rest)
    assert type(built) is web.Request
    for f in fields(web.Request):
        assert getattr(built, f.name) == getattr(constructed, f.name), f.name
    with pytest.raises(AttributeError):
        built.method = "POST"  # type: ignore[misc]
