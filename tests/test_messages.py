"""Tests of the value types: Response, Request, Headers, Query, BodyReader, commands, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from actorhttp._body import BodyReader
from actorhttp._exceptions import (
    HTTPBadRequest,
    HTTPClientError,
    HTTPException,
    HTTPFound,
    HTTPMethodNotAllowed,
    HTTPNoContent,
    HTTPNotFound,
    HTTPRequestEntityTooLarge,
)
from actorhttp._headers import Headers
from actorhttp._query import Query
from actorhttp.messages import AddRoute, Request, Response, StartServer, StopServer


class FakeReceive:
    """A transport's ``receive``: the chunks in turn, then ``b""``; counts its calls."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        return self.chunks.pop(0) if self.chunks else b""


def make_request(
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    query_string: str = "",
) -> Request:
    reply, _ = trio.open_memory_channel[Response](1)
    receive = FakeReceive(body) if body is not None else None
    return Request(
        method="POST",
        path="/p",
        raw_path="/p",
        query_string=query_string,
        headers=Headers(headers or {}),
        content=BodyReader(receive),
        reply=reply,
    )


# -- Response ----------------------------------------------------------------------


def test_response_text_is_utf8_plain_text() -> None:
    response = Response(text="héllo")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.body == "héllo".encode()
    assert response.status == 200
    assert response.reason == "OK"


def test_response_body_defaults_to_octet_stream() -> None:
    response = Response(body=b"\x00\x01")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.body == b"\x00\x01"


def test_response_body_accepts_bytearray_and_memoryview() -> None:
    assert Response(body=bytearray(b"ab")).body == b"ab"
    assert Response(body=memoryview(b"cd")).body == b"cd"


def test_response_without_body_has_no_content_type() -> None:
    response = Response(status=204)
    assert "Content-Type" not in response.headers
    assert response.body == b""
    assert response.reason == "No Content"


def test_response_text_with_content_type() -> None:
    response = Response(text="<p>hi</p>", content_type="text/html")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


def test_response_text_with_charset_encodes_with_it() -> None:
    response = Response(text="é", charset="latin-1")
    assert response.headers["Content-Type"] == "text/plain; charset=latin-1"
    assert response.body == b"\xe9"


def test_response_body_with_content_type_and_charset() -> None:
    response = Response(body=b"{}", content_type="application/json", charset="utf-8")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_response_text_is_encoded_with_charset_of_content_type_header() -> None:
    # The body must be what the declared charset says it is: "é" in latin-1.
    response = Response(text="é", headers={"Content-Type": "text/plain; charset=latin-1"})
    assert response.body == b"\xe9"
    assert response.text == "é"


def test_response_body_and_text_together_raise() -> None:
    with pytest.raises(ValueError, match="give body or text, not both"):
        Response(body=b"a", text="a")


def test_response_content_type_and_header_together_raise() -> None:
    with pytest.raises(ValueError, match="not both"):
        Response(text="a", content_type="text/html", headers={"Content-Type": "text/plain"})


def test_response_charset_and_header_together_raise() -> None:
    with pytest.raises(ValueError, match="not both"):
        Response(body=b"a", charset="utf-8", headers={"content-type": "text/plain"})


@pytest.mark.parametrize("status", [99, 1000, 0, -200])
def test_response_status_out_of_range_raises(status: int) -> None:
    with pytest.raises(ValueError, match="status must be an int from 100 to 999"):
        Response(status=status)


@pytest.mark.parametrize("status", [True, "200", 200.0, None])
def test_response_status_not_int_raises(status: Any) -> None:
    with pytest.raises(ValueError, match="status must be an int"):
        Response(status=status)


@pytest.mark.parametrize("status", [100, 999])
def test_response_status_bounds_are_accepted(status: int) -> None:
    assert Response(status=status).status == status


def test_response_unknown_status_has_empty_reason() -> None:
    assert Response(status=599).reason == ""


def test_response_custom_reason() -> None:
    assert Response(status=200, reason="Fine").reason == "Fine"


@pytest.mark.parametrize("reason", ["Bad\r\nX-Injected: 1", "a\rb", "a\nb"])
def test_response_reason_with_cr_or_lf_raises(reason: str) -> None:
    with pytest.raises(ValueError, match="has a CR or LF"):
        Response(reason=reason)


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b", "x\r\nSet-Cookie: evil=1"])
def test_response_header_value_with_cr_lf_nul_raises_in_constructor(value: str) -> None:
    with pytest.raises(ValueError, match="has a CR, LF or NUL"):
        Response(text="x", headers={"X-Test": value})


@pytest.mark.parametrize("name", ["X\rTest", "X\nTest", "X\x00Test", "X Test", "", "X:Test"])
def test_response_header_name_invalid_raises_in_constructor(name: str) -> None:
    with pytest.raises(ValueError, match="invalid header name"):
        Response(text="x", headers=[(name, "v")])


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b"])
def test_response_header_value_with_cr_lf_nul_raises_when_set_later(value: str) -> None:
    response = Response(text="x")
    with pytest.raises(ValueError, match="has a CR, LF or NUL"):
        response.headers["X-Test"] = value
    assert "X-Test" not in response.headers


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b"])
def test_response_header_value_with_cr_lf_nul_raises_when_added_later(value: str) -> None:
    response = Response(text="x")
    with pytest.raises(ValueError, match="has a CR, LF or NUL"):
        response.headers.add("X-Test", value)
    assert "X-Test" not in response.headers


@pytest.mark.parametrize("name", ["X\rTest", "X\nTest", "X\x00Test"])
def test_response_header_name_with_cr_lf_nul_raises_when_set_later(name: str) -> None:
    response = Response(text="x")
    with pytest.raises(ValueError, match="invalid header name"):
        response.headers[name] = "v"
    with pytest.raises(ValueError, match="invalid header name"):
        response.headers.add(name, "v")
    assert len(response.headers) == 1


def test_response_text_property_decodes_body() -> None:
    assert Response(body="ü".encode()).text == "ü"


def test_response_text_property_uses_charset() -> None:
    response = Response(body=b"\xfc", content_type="text/plain", charset="latin-1")
    assert response.text == "ü"


def test_response_charset_property() -> None:
    assert Response(text="x", charset="utf-16").charset == "utf-16"
    assert Response(body=b"x").charset is None


def test_response_content_type_property_drops_parameters() -> None:
    assert Response(text="x", content_type="text/csv").content_type == "text/csv"
    assert Response(status=204).content_type == "application/octet-stream"


def test_response_content_length_is_body_length() -> None:
    assert Response(text="héllo").content_length == 6


def test_response_is_frozen() -> None:
    response = Response(text="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        response.status = 404  # type: ignore[misc]
    assert response.status == 200


def test_response_headers_stay_editable() -> None:
    response = Response(text="x")
    response.headers["X-Extra"] = "1"
    response.headers.add("X-Extra", "2")
    assert response.headers.getall("x-extra") == ["1", "2"]


def test_response_copies_headers_given_as_headers() -> None:
    given = Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    response = Response(text="x", headers=given)
    response.headers["X-Extra"] = "1"
    assert "X-Extra" not in given
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]


# -- Headers -----------------------------------------------------------------------


def test_headers_lookup_ignores_case() -> None:
    headers = Headers({"Content-Type": "text/plain"})
    assert headers["content-type"] == "text/plain"
    assert headers["CONTENT-TYPE"] == "text/plain"
    assert "cOnTeNt-TyPe" in headers


def test_headers_missing_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Headers()["X-Missing"]


def test_headers_get_with_default() -> None:
    assert Headers().get("X-Missing", "default") == "default"


def test_headers_getitem_returns_first_value() -> None:
    headers = Headers([("Accept", "a"), ("accept", "b")])
    assert headers["ACCEPT"] == "a"


def test_headers_getall_keeps_order_and_repeats() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("X-Other", "o"), ("set-cookie", "b=2")])
    assert headers.getall("SET-COOKIE") == ["a=1", "b=2"]


def test_headers_getall_missing_gives_empty_list_or_default() -> None:
    headers = Headers()
    assert headers.getall("X") == []
    assert headers.getall("X", ["d"]) == ["d"]


def test_headers_setitem_replaces_every_field_of_that_name() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("X-Other", "o"), ("set-cookie", "b=2")])
    headers["SET-COOKIE"] = "c=3"
    assert headers.getall("set-cookie") == ["c=3"]
    assert headers.multi_items() == [("X-Other", "o"), ("SET-COOKIE", "c=3")]


def test_headers_add_appends() -> None:
    headers = Headers({"A": "1"})
    headers.add("a", "2")
    assert headers.multi_items() == [("A", "1"), ("a", "2")]


def test_headers_delitem_removes_every_field_of_that_name() -> None:
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    del headers["a"]
    assert headers.multi_items() == [("B", "2")]


def test_headers_delitem_missing_raises_key_error() -> None:
    headers = Headers({"A": "1"})
    with pytest.raises(KeyError):
        del headers["B"]
    assert headers.multi_items() == [("A", "1")]


def test_headers_multi_items_keeps_order_and_spelling() -> None:
    pairs = [("Content-Type", "text/plain"), ("set-cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert Headers(pairs).multi_items() == pairs


def test_headers_len_and_iter_count_names_once() -> None:
    headers = Headers([("Set-Cookie", "a"), ("X", "y"), ("set-cookie", "b")])
    assert len(headers) == 2
    assert list(headers) == ["Set-Cookie", "X"]


def test_headers_copy_is_independent() -> None:
    original = Headers([("A", "1"), ("A", "2")])
    copy = original.copy()
    copy.add("B", "3")
    copy["A"] = "changed"
    assert original.multi_items() == [("A", "1"), ("A", "2")]
    assert copy.multi_items() == [("B", "3"), ("A", "changed")]


def test_headers_built_from_headers_keep_repeated_fields() -> None:
    original = Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    assert Headers(original).multi_items() == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


def test_headers_equality_ignores_name_case() -> None:
    assert Headers({"Content-Type": "x"}) == Headers({"content-type": "x"})


def test_headers_equality_compares_values_exactly() -> None:
    assert Headers({"A": "x"}) != Headers({"A": "X"})
    assert Headers({"A": "x"}) != Headers([("A", "x"), ("A", "x")])


def test_headers_are_not_equal_to_a_dict() -> None:
    assert Headers({"A": "x"}) != {"A": "x"}


def test_headers_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Headers())


def test_headers_refuse_non_str() -> None:
    with pytest.raises(TypeError, match="must be str"):
        Headers({"A": 1})  # type: ignore[arg-type]


# -- Query -------------------------------------------------------------------------


def test_query_gives_first_value_by_key() -> None:
    assert Query("a=1&b=2&a=3")["a"] == "1"


def test_query_getall_gives_every_value_in_order() -> None:
    query = Query("a=1&b=2&a=3")
    assert query.getall("a") == ["1", "3"]
    assert query.getall("missing") == []


def test_query_keeps_blank_values() -> None:
    query = Query("empty=&flag&x=1")
    assert query["empty"] == ""
    assert query["flag"] == ""


def test_query_decodes_escapes_and_plus() -> None:
    assert Query("q=a+b%26c")["q"] == "a b&c"


def test_query_missing_key_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Query("a=1")["b"]


def test_query_len_and_iter_count_unique_keys() -> None:
    query = Query("b=1&a=2&b=3")
    assert len(query) == 2
    assert list(query) == ["b", "a"]


def test_query_empty() -> None:
    query = Query()
    assert len(query) == 0
    assert list(query) == []


def test_query_multi_items() -> None:
    assert Query("a=1&a=2").multi_items() == [("a", "1"), ("a", "2")]


# -- BodyReader --------------------------------------------------------------------


async def test_body_read_returns_whole_body() -> None:
    receive = FakeReceive(b"hello ", b"world")
    body = BodyReader(receive)
    assert await body.read() == b"hello world"
    assert receive.calls == 3
    assert body.received == 11


async def test_body_read_n_splits_chunk_and_keeps_rest() -> None:
    receive = FakeReceive(b"abcdef")
    body = BodyReader(receive)
    assert await body.read(4) == b"abcd"
    assert await body.read(4) == b"ef"
    assert receive.calls == 1
    assert await body.read(4) == b""
    assert receive.calls == 2


async def test_body_read_after_read_n_returns_the_rest() -> None:
    body = BodyReader(FakeReceive(b"abcdef", b"gh"))
    assert await body.read(2) == b"ab"
    assert await body.read() == b"cdefgh"


async def test_body_readany_returns_chunks_as_they_arrive() -> None:
    body = BodyReader(FakeReceive(b"ab", b"cde"))
    assert [await body.readany() for _ in range(3)] == [b"ab", b"cde", b""]


async def test_body_iter_chunked_gives_exact_size_chunks() -> None:
    body = BodyReader(FakeReceive(b"abcdef", b"gh", b"ijklm"))
    chunks = [chunk async for chunk in body.iter_chunked(4)]
    assert chunks == [b"abcd", b"efgh", b"ijkl", b"m"]


async def test_body_iter_chunked_zero_raises_value_error() -> None:
    receive = FakeReceive(b"abc")
    body = BodyReader(receive)
    with pytest.raises(ValueError, match="chunk size must be positive"):
        async for _ in body.iter_chunked(0):
            pass
    assert receive.calls == 0


async def test_body_iter_any_yields_every_chunk() -> None:
    body = BodyReader(FakeReceive(b"a", b"bc"))
    assert [chunk async for chunk in body.iter_any()] == [b"a", b"bc"]


async def test_body_declared_length_over_limit_raises_without_receiving() -> None:
    receive = FakeReceive(b"x" * 20)
    body = BodyReader(receive, max_size=10, declared_length=20)
    with pytest.raises(HTTPRequestEntityTooLarge) as exc_info:
        await body.read()
    assert receive.calls == 0
    assert exc_info.value.status == 413
    assert (exc_info.value.max_size, exc_info.value.actual_size) == (10, 20)


async def test_body_declared_length_at_limit_is_read() -> None:
    body = BodyReader(FakeReceive(b"x" * 10), max_size=10, declared_length=10)
    assert await body.read() == b"x" * 10


async def test_body_stream_crossing_limit_raises_on_crossing_chunk() -> None:
    receive = FakeReceive(b"12345", b"67890", b"abc")
    body = BodyReader(receive, max_size=8)
    assert await body.readany() == b"12345"
    with pytest.raises(HTTPRequestEntityTooLarge) as exc_info:
        await body.readany()
    assert receive.calls == 2
    assert (exc_info.value.max_size, exc_info.value.actual_size) == (8, 10)


async def test_body_stream_crossing_limit_never_receives_again() -> None:
    receive = FakeReceive(b"12345", b"67890", b"abc")
    body = BodyReader(receive, max_size=8)
    with pytest.raises(HTTPRequestEntityTooLarge):
        await body.read()
    with pytest.raises(HTTPRequestEntityTooLarge):
        await body.read()
    assert receive.calls == 2


async def test_body_reads_after_413_raise_the_same_error() -> None:
    body = BodyReader(FakeReceive(b"123456789"), max_size=8)
    with pytest.raises(HTTPRequestEntityTooLarge) as first:
        await body.read()
    with pytest.raises(HTTPRequestEntityTooLarge) as second:
        await body.readany()
    assert second.value is first.value


async def test_body_reads_after_declared_413_raise_the_same_error() -> None:
    receive = FakeReceive(b"x")
    body = BodyReader(receive, max_size=1, declared_length=2)
    with pytest.raises(HTTPRequestEntityTooLarge) as first:
        await body.read()
    with pytest.raises(HTTPRequestEntityTooLarge) as second:
        await body.read(1)
    assert second.value is first.value
    assert receive.calls == 0


async def test_body_stream_exactly_at_limit_is_read() -> None:
    body = BodyReader(FakeReceive(b"1234", b"5678"), max_size=8)
    assert await body.read() == b"12345678"


async def test_body_at_eof_only_after_end_is_received() -> None:
    body = BodyReader(FakeReceive(b"abc"))
    assert not body.at_eof()
    assert await body.readany() == b"abc"
    assert not body.at_eof()
    assert await body.readany() == b""
    assert body.at_eof()


async def test_body_not_at_eof_while_split_chunk_is_pending() -> None:
    body = BodyReader(FakeReceive(b"abcdef"), declared_length=6)
    assert await body.read(2) == b"ab"
    assert not body.at_eof()
    assert await body.read() == b"cdef"
    assert body.at_eof()


async def test_body_declared_zero_length_is_at_eof_without_receiving() -> None:
    receive = FakeReceive(b"unexpected")
    body = BodyReader(receive, declared_length=0)
    assert body.at_eof()
    assert await body.read() == b""
    assert receive.calls == 0


async def test_body_without_receive_is_empty_at_eof() -> None:
    body = BodyReader(None)
    assert body.at_eof()
    assert await body.read() == b""
    assert body.received == 0


# -- Request -----------------------------------------------------------------------


async def test_request_json_parses_body() -> None:
    request = make_request(body=b'{"a": [1, 2]}', headers={"Content-Type": "application/json"})
    assert await request.json() == {"a": [1, 2]}


async def test_request_json_bad_json_raises_bad_request() -> None:
    request = make_request(body=b"{not json")
    with pytest.raises(HTTPBadRequest, match="400") as exc_info:
        await request.json()
    assert exc_info.value.status == 400
    assert "not valid JSON" in exc_info.value.text


async def test_request_text_decodes_utf8_by_default() -> None:
    assert await make_request(body="héllo".encode()).text() == "héllo"


async def test_request_text_uses_charset() -> None:
    request = make_request(body=b"\xe9", headers={"Content-Type": "text/plain; charset=latin-1"})
    assert await request.text() == "é"


async def test_request_text_undecodable_raises_bad_request() -> None:
    request = make_request(body=b"\xff\xfe\xfa")
    with pytest.raises(HTTPBadRequest) as exc_info:
        await request.text()
    assert exc_info.value.status == 400
    assert "not valid utf-8" in exc_info.value.text


async def test_request_text_unknown_charset_raises_bad_request() -> None:
    request = make_request(body=b"abc", headers={"Content-Type": "text/plain; charset=nope"})
    with pytest.raises(HTTPBadRequest) as exc_info:
        await request.text()
    assert exc_info.value.status == 400
    assert "not valid nope" in exc_info.value.text


async def test_request_read_returns_body() -> None:
    assert await make_request(body=b"raw").read() == b"raw"


def test_request_query() -> None:
    request = make_request(query_string="a=1&b=&a=2")
    assert request.query["a"] == "1"
    assert request.query.getall("a") == ["1", "2"]
    assert request.query["b"] == ""


def test_request_content_type_is_lowercased_without_parameters() -> None:
    request = make_request(headers={"Content-Type": "Application/JSON ; charset=UTF-8"})
    assert request.content_type == "application/json"


def test_request_content_type_defaults_to_octet_stream() -> None:
    assert make_request().content_type == "application/octet-stream"


def test_request_charset() -> None:
    request = make_request(headers={"Content-Type": 'text/plain; Charset="latin-1"'})
    assert request.charset == "latin-1"


def test_request_charset_missing_is_none() -> None:
    assert make_request(headers={"Content-Type": "text/plain"}).charset is None
    assert make_request().charset is None


def test_request_content_length() -> None:
    assert make_request(headers={"Content-Length": "12"}).content_length == 12


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", ""])
def test_request_content_length_invalid_is_none(value: str) -> None:
    assert make_request(headers={"Content-Length": value}).content_length is None


@pytest.mark.parametrize("value", ["²", "١٢"])
def test_request_content_length_non_ascii_digits_is_none(value: str) -> None:
    # RFC 9110 Content-Length is 1*DIGIT, ASCII digits only.
    assert make_request(headers={"Content-Length": value}).content_length is None


def test_request_content_length_missing_is_none() -> None:
    assert make_request().content_length is None


def test_request_host() -> None:
    assert make_request(headers={"host": "example.com"}).host == "example.com"
    assert make_request().host is None


def test_request_item_storage() -> None:
    request = make_request()
    request["user"] = "ann"
    assert request["user"] == "ann"
    assert "user" in request
    assert "other" not in request
    assert request.get("other", 5) == 5
    assert request.state == {"user": "ann"}


def test_request_missing_item_raises_key_error() -> None:
    with pytest.raises(KeyError):
        make_request()["missing"]


def test_request_is_frozen() -> None:
    request = make_request()
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.method = "GET"  # type: ignore[misc]
    assert request.method == "POST"


def test_request_defaults() -> None:
    request = make_request()
    assert request.match_info == {}
    assert (request.scheme, request.http_version, request.client, request.app) == (
        "http",
        "1.1",
        None,
        None,
    )


# -- commands ----------------------------------------------------------------------


def test_start_server_defaults_are_valid() -> None:
    command = StartServer()
    assert (command.host, command.port, command.transport) == ("127.0.0.1", 8080, "auto")
    assert command.transport_name == "httptools"
    assert StartServer(certfile="c", keyfile="k").transport_name == "hypercorn"


@pytest.mark.parametrize("port", [0, 65535])
def test_start_server_port_bounds_are_accepted(port: int) -> None:
    assert StartServer(port=port).port == port


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": -1}, "port must be from 0 to 65535"),
        ({"port": 65536}, "port must be from 0 to 65535"),
        ({"port": "80"}, "port must be an int"),
        ({"port": True}, "port must be an int"),
        ({"port": 80.0}, "port must be an int"),
        ({"host": ""}, "host must be a non-empty string"),
        ({"host": None}, "host must be a non-empty string"),
        ({"client_max_size": 0}, "client_max_size must be a positive number"),
        ({"client_max_size": -1}, "client_max_size must be a positive number"),
        ({"max_header_size": 0}, "max_header_size must be a positive number"),
        ({"keep_alive_timeout": 0}, "keep_alive_timeout must be a positive number"),
        ({"keep_alive_timeout": -0.5}, "keep_alive_timeout must be a positive number"),
        ({"keep_alive_timeout": float("nan")}, "keep_alive_timeout must be a positive number"),
        ({"read_timeout": 0}, "read_timeout must be a positive number"),
        ({"h2_max_concurrent_streams": 0}, "h2_max_concurrent_streams must be a positive"),
        ({"backlog": 0}, "backlog must be a positive number"),
        ({"backlog": True}, "backlog must be a positive number"),
        ({"certfile": "cert.pem"}, "TLS needs both certfile and keyfile"),
        ({"keyfile": "key.pem"}, "TLS needs both certfile and keyfile"),
        ({"transport": "uvicorn"}, "unknown transport 'uvicorn'"),
    ],
)
def test_start_server_refuses_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StartServer(**kwargs)


def test_start_server_allows_no_limits_where_optional() -> None:
    command = StartServer(client_max_size=None, read_timeout=None)
    assert (command.client_max_size, command.read_timeout) == (None, None)


def test_start_server_accepts_tls_pair() -> None:
    command = StartServer(certfile="cert.pem", keyfile="key.pem")
    assert (command.certfile, command.keyfile) == ("cert.pem", "key.pem")


def test_stop_server_refuses_negative_grace() -> None:
    with pytest.raises(ValueError, match="grace must be >= 0"):
        StopServer(grace=-1)


@pytest.mark.parametrize("grace", ["x", None, True])
def test_stop_server_refuses_non_number_grace(grace: Any) -> None:
    with pytest.raises(ValueError, match="grace must be a number"):
        StopServer(grace=grace)


def test_stop_server_accepts_zero_grace() -> None:
    assert StopServer(grace=0).grace == 0


def test_add_route_accepts_single_method_string() -> None:
    command = AddRoute("get", "/x")
    assert command.methods == ("GET",)
    assert (command.path, command.handler, command.name) == ("/x", None, None)


def test_add_route_normalises_methods_to_upper_case_tuple() -> None:
    assert AddRoute(["get", "Post"], "/x").methods == ("GET", "POST")


@pytest.mark.parametrize("methods", [[], (), "", ["GET", ""]])
def test_add_route_refuses_empty_methods(methods: Any) -> None:
    with pytest.raises(ValueError, match="methods must be non-empty method names"):
        AddRoute(methods, "/x")


# -- HTTP exceptions ---------------------------------------------------------------


def test_http_not_found_status_and_default_text() -> None:
    exc = HTTPNotFound()
    assert exc.status == 404
    assert exc.reason == "Not Found"
    assert exc.text == "404: Not Found"
    assert exc.headers == []
    assert isinstance(exc, HTTPClientError)


def test_http_exception_custom_text_and_reason() -> None:
    exc = HTTPNotFound(text="no such user", reason="Gone Fishing")
    assert (exc.text, exc.reason) == ("no such user", "Gone Fishing")


def test_http_exception_headers_from_mapping() -> None:
    assert HTTPNotFound(headers={"X-A": "1"}).headers == [("X-A", "1")]


def test_http_found_has_location_header() -> None:
    exc = HTTPFound("/x")
    assert exc.status == 302
    assert exc.location == "/x"
    assert exc.headers == [("Location", "/x")]


def test_http_found_empty_location_raises() -> None:
    with pytest.raises(ValueError, match="non-empty location"):
        HTTPFound("")


def test_http_method_not_allowed_has_sorted_allow_header() -> None:
    exc = HTTPMethodNotAllowed("put", ["POST", "GET"])
    assert exc.status == 405
    assert exc.method == "PUT"
    assert exc.allowed_methods == frozenset({"GET", "POST"})
    assert exc.headers == [("Allow", "GET, POST")]


def test_http_exception_base_class_raises_type_error() -> None:
    with pytest.raises(TypeError, match="has no status"):
        HTTPException()


def test_http_no_content_has_empty_text() -> None:
    exc = HTTPNoContent()
    assert exc.status == 204
    assert exc.text == ""


def test_http_request_entity_too_large_text_mentions_both_sizes() -> None:
    exc = HTTPRequestEntityTooLarge(10, 20)
    assert exc.status == 413
    assert exc.text == "Maximum request body size 10 exceeded, actual body size 20"


async def _chunks() -> AsyncIterator[bytes]:
    yield b"a"


def test_streamed_response_has_no_length_and_no_text() -> None:
    response = Response(stream=_chunks())
    assert response.body == b""
    assert response.content_length is None
    assert response.content_type == "application/octet-stream"
    with pytest.raises(TypeError, match="streamed"):
        _ = response.text


def test_stream_excludes_body_and_text_and_must_be_async_iterable() -> None:
    with pytest.raises(ValueError, match="only one"):
        Response(stream=_chunks(), body=b"x")
    with pytest.raises(ValueError, match="only one"):
        Response(stream=_chunks(), text="x")
    with pytest.raises(TypeError, match="async iterable"):
        Response(stream=[b"x"])  # type: ignore[arg-type]
