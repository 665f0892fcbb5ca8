"""Behind a proxy: ``proxy_headers_middleware``, sans-IO and then over real sockets.

The header grammar (``actorhttp._web._forwarded``) and the trust decision
(``actorhttp._proxy``) are tested as plain functions, with properties that
must hold for any input: an untrusted peer never changes anything, and a
trusted one gets either its headers' meaning or a 400, never a 500. The
socket tests run on both transports; httpx connects from 127.0.0.1, so the
tests that trust "127.0.0.1" see their headers honoured and the others not.
"""

from __future__ import annotations

import gc
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import ip_address, ip_network
from typing import Any

import aiohttp.test_utils
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

import actorhttp
from actorhttp import web
from actorhttp._proxy import Forwarding, TrustedProxies, from_forwarded, from_x_forwarded
from actorhttp._web._forwarded import (
    MalformedHeader,
    Node,
    parse_forwarded,
    parse_host,
    parse_node,
    parse_proto,
    split_list,
)
from actorhttp.testing import TestClient, make_mocked_request

Client = Callable[..., Awaitable[TestClient]]
TIMEOUT = 10
TRUSTED = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"])

# -- the grammar ------------------------------------------------------------------------


def test_split_list_joins_field_lines_and_drops_empty_elements() -> None:
    assert split_list(["a, b", " ,c,, ", "d"]) == ["a", "b", "c", "d"]
    assert split_list([]) == []


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("192.0.2.43", Node(ip_address("192.0.2.43"), "192.0.2.43")),
        ("192.0.2.43:47011", Node(ip_address("192.0.2.43"), "192.0.2.43")),
        ("[2001:DB8:cafe::17]", Node(ip_address("2001:db8:cafe::17"), "2001:db8:cafe::17")),
        ("[2001:db8:cafe::17]:4711", Node(ip_address("2001:db8:cafe::17"), "2001:db8:cafe::17")),
        ("unknown", Node(None, "unknown")),
        ("UNKNOWN:_port", Node(None, "unknown")),
        ("_gazonk", Node(None, "_gazonk")),
        ("_hidden.proxy-1:_obf", Node(None, "_hidden.proxy-1")),
    ],
)
def test_parse_node_takes_rfc_7239_identifiers(text: str, node: Node) -> None:
    assert parse_node(text, "Forwarded") == node


@pytest.mark.parametrize(
    "text",
    ["", "example.com", "2001:db8::1", "[192.0.2.43]", "192.0.2.43:123456", "1.2.3", "_", "[::1"],
)
def test_parse_node_refuses_anything_else(text: str) -> None:
    with pytest.raises(MalformedHeader, match="Forwarded"):
        parse_node(text, "Forwarded")


def test_x_forwarded_for_may_carry_a_bare_ipv6_address() -> None:
    node = parse_node("2001:DB8::1", "X-Forwarded-For", bare_ipv6=True)
    assert node == Node(ip_address("2001:db8::1"), "2001:db8::1")


@pytest.mark.parametrize(
    ("lines", "elements"),
    [
        # RFC 7239's own examples (sections 4 and 7.4).
        (['for="_gazonk"'], [{"for": "_gazonk"}]),
        (['For="[2001:db8:cafe::17]:4711"'], [{"for": "[2001:db8:cafe::17]:4711"}]),
        (
            ["for=192.0.2.60;proto=http;by=203.0.113.43"],
            [{"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}],
        ),
        (["for=192.0.2.43, for=198.51.100.17"], [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}]),
        # Two field lines are one list; empty elements and pairs are dropped.
        (["for=a", " , for=b ;; proto=https,"], [{"for": "a"}, {"for": "b", "proto": "https"}]),
        (['host="a\\"b\\\\c"'], [{"host": 'a"b\\c'}]),
        (['ext="x, y; z"'], [{"ext": "x, y; z"}]),  # quoted: the comma splits nothing
        ([""], []),
    ],
)
def test_parse_forwarded(lines: list[str], elements: list[dict[str, str]]) -> None:
    assert parse_forwarded(lines) == elements


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("for=192.0.2.43:80", "',' or ';' expected at offset 14"),  # a port needs quotes
        ("for=[2001:db8::1]", "name=value expected at offset 0"),
        ("for = 192.0.2.43", "name=value expected at offset 0"),
        ('for="192.0.2.43', "name=value expected at offset 0"),
        ("for=a proto=http", "',' or ';' expected at offset 6"),
        ("for=a;For=b", "for= twice in one element"),
        ("for=a, b", "name=value expected at offset 7"),
        ("for=", "name=value expected at offset 0"),
    ],
)
def test_parse_forwarded_refuses_what_the_grammar_does_not_allow(line: str, reason: str) -> None:
    with pytest.raises(MalformedHeader, match=f"malformed Forwarded header: {reason}"):
        parse_forwarded(["for=192.0.2.1", line])


TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefXYZ"
_tokens = st.text(TOKEN_CHARS, min_size=1, max_size=8)
_quoted = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)
_ows = st.sampled_from(["", " ", "\t ", "  "])


@st.composite
def forwarded_lines(draw: st.DrawFn) -> tuple[list[str], list[dict[str, str]]]:
    """Well-formed Forwarded field lines, and the elements they say."""
    lines, elements = [], []
    for _ in range(draw(st.integers(1, 3))):
        texts = []
        for _ in range(draw(st.integers(1, 3))):
            pairs = draw(st.dictionaries(_tokens.map(str.lower), _tokens | _quoted, max_size=3))
            shown = []
            for name, value in pairs.items():
                quote = not value or any(c not in TOKEN_CHARS for c in value)
                escaped = value.replace("\\", "\\\\").replace('"', '\\"')
                shown.append(f'{name}="{escaped}"' if quote else f"{name}={value}")
            texts.append((draw(_ows) + ";").join(shown))
            if pairs:
                elements.append(pairs)
        lines.append((draw(_ows) + "," + draw(_ows)).join(texts))
    return lines, elements


@settings(max_examples=100, deadline=None)
@given(forwarded_lines())
def test_parse_forwarded_agrees_with_aiohttp_on_well_formed_headers(
    case: tuple[list[str], list[dict[str, str]]],
) -> None:
    lines, elements = case
    assert parse_forwarded(lines) == elements
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = aiohttp.test_utils.make_mocked_request(
            "GET", "/", headers=CIMultiDict(("Forwarded", line) for line in lines)
        ).forwarded
    assert [dict(element) for element in theirs if element] == elements


@pytest.mark.parametrize(
    ("text", "scheme"), [("https", "https"), ("HTTP", "http"), ("wss", "https"), ("ws", "http")]
)
def test_parse_proto(text: str, scheme: str) -> None:
    assert parse_proto(text, "X-Forwarded-Proto") == scheme


@pytest.mark.parametrize("text", ["", "ftp", "https ", "https://"])
def test_parse_proto_refuses_other_schemes(text: str) -> None:
    with pytest.raises(MalformedHeader, match="X-Forwarded-Proto"):
        parse_proto(text, "X-Forwarded-Proto")


@pytest.mark.parametrize(
    "text", ["example.com", "example.com:8443", "[2001:db8::1]:443", "192.0.2.1", "a_b.%41"]
)
def test_parse_host(text: str) -> None:
    assert parse_host(text, "X-Forwarded-Host") == text


@pytest.mark.parametrize(
    "text", ["", "exa mple.com", "example.com:port", "[1.2.3.4]", "a/b", "a@b", "%zz", "h:123456"]
)
def test_parse_host_refuses_what_a_host_header_cannot_be(text: str) -> None:
    with pytest.raises(MalformedHeader, match="X-Forwarded-Host"):
        parse_host(text, "X-Forwarded-Host")


# -- whom to trust ---------------------------------------------------------------------------


def test_trusted_proxies_hold_addresses_and_networks() -> None:
    trusted = TrustedProxies(
        ["192.0.2.1", " 10.0.0.0/8", ip_address("::1"), ip_network("fd00::/8")]
    )
    inside: list[object] = ["192.0.2.1", "10.1.2.3", "::1", "fd12::1", ip_address("10.0.0.1")]
    outside: list[object] = ["192.0.2.2", "11.0.0.1", "::2", "unknown", "", None, "/run/a.sock"]
    assert [address in trusted for address in inside] == [True] * len(inside)
    assert [address in trusted for address in outside] == [False] * len(outside)
    assert "::ffff:10.0.0.7" in trusted  # an IPv4 peer as a dual-stack socket shows it
    assert not TrustedProxies([])


@pytest.mark.parametrize(
    ("entries", "error", "message"),
    [
        (["10.0.0.0/8", "10.0.0.1/8"], ValueError, "'10.0.0.1/8' .* has host bits set"),
        (["localhost"], ValueError, "'localhost' is not an IP address or network"),
        (["*"], ValueError, "'\\*' is not an IP address or network"),
        ("127.0.0.1", TypeError, "a list of addresses or networks, not '127.0.0.1'"),
        ([2130706433], TypeError, "2130706433 is not an IP address or network"),
    ],
)
def test_a_bad_trusted_entry_is_refused_at_construction(
    entries: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        actorhttp.proxy_headers_middleware(entries)


def test_the_header_family_is_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="'x-forwarded' or 'forwarded', not 'both'"):
        actorhttp.proxy_headers_middleware([], headers="both")  # type: ignore[arg-type]


def x_forwarded(*fields: tuple[str, str]) -> Forwarding:
    return from_x_forwarded(CIMultiDict(fields), TRUSTED)


def test_x_forwarded_for_is_walked_from_the_right() -> None:
    xff = "X-Forwarded-For"
    assert x_forwarded((xff, "203.0.113.7")) == Forwarding("203.0.113.7")
    # A chain: trusted proxies are skipped, and what the client wrote left of itself is not read.
    chain = (xff, "garbage, 198.51.100.1, 203.0.113.7, 10.0.0.2, 127.0.0.1")
    assert x_forwarded(chain) == Forwarding("203.0.113.7")
    assert x_forwarded((xff, "198.51.100.1"), (xff, "203.0.113.7, 10.0.0.2")).remote == (
        "203.0.113.7"  # a proxy that adds a field line reads as one that appends
    )
    assert x_forwarded((xff, "10.0.0.3, 10.0.0.2")).remote == "10.0.0.3"  # all proxies
    assert x_forwarded((xff, "[2001:db8::1]:4711, 2001:DB8:FFFF::2")).remote == "2001:db8::1"
    assert x_forwarded((xff, "198.51.100.1:5555")).remote == "198.51.100.1"
    assert x_forwarded((xff, "unknown, 10.0.0.2")).remote == "unknown"
    assert x_forwarded((xff, "")) == Forwarding()
    assert x_forwarded() == Forwarding()


def test_x_forwarded_proto_and_host_line_up_with_x_forwarded_for() -> None:
    xff, proto, host = "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"
    both = x_forwarded((xff, "203.0.113.7"), (proto, "HTTPS"), (host, "example.com"))
    assert both == Forwarding("203.0.113.7", "https", "example.com")
    # Two proxies that both append: the client's entries are second from the right.
    appended = x_forwarded(
        (xff, "203.0.113.7, 10.0.0.2"), (proto, "https, http"), (host, "example.com, inner")
    )
    assert appended == Forwarding("203.0.113.7", "https", "example.com")
    # The edge proxy set one value, the next passed it on.
    assert x_forwarded((xff, "203.0.113.7, 10.0.0.2"), (proto, "https")).scheme == "https"
    # The client sent its own value, the proxy appended the true one.
    assert x_forwarded((xff, "203.0.113.7"), (proto, "http, https")).scheme == "https"
    assert x_forwarded((proto, "https")) == Forwarding(scheme="https")


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        ([("X-Forwarded-For", "203.0.113.7, 10.0.0.2, bogus")], "X-Forwarded-For"),
        ([("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "gopher")], "-Proto"),
        ([("X-Forwarded-Host", "a b")], "X-Forwarded-Host"),
    ],
)
def test_a_malformed_x_forwarded_header_is_named(
    fields: list[tuple[str, str]], header: str
) -> None:
    with pytest.raises(MalformedHeader, match=header):
        from_x_forwarded(CIMultiDict(fields), TRUSTED)


def forwarded(*lines: str) -> Forwarding:
    return from_forwarded(CIMultiDict(("Forwarded", line) for line in lines), TRUSTED)


def test_forwarded_is_walked_from_the_right_element_by_element() -> None:
    assert forwarded("for=203.0.113.7;proto=https;host=example.com") == Forwarding(
        "203.0.113.7", "https", "example.com"
    )
    chain = 'for=198.51.100.1;proto=http, for="[2001:db8::1]:4711";proto=https;host=a.example'
    assert forwarded(chain, "for=10.0.0.2;proto=http;host=inner") == Forwarding(
        "2001:db8::1", "https", "a.example"
    )
    assert forwarded("for=_hidden;proto=https") == Forwarding("_hidden", "https")
    assert forwarded("for=unknown, for=10.0.0.2").remote == "unknown"
    assert forwarded("proto=https;host=example.com") == Forwarding(None, "https", "example.com")
    assert forwarded("for=10.0.0.3, for=10.0.0.2") == Forwarding("10.0.0.3")
    assert forwarded() == Forwarding()


def test_forwarded_values_are_checked_only_up_to_the_client() -> None:
    assert forwarded("for=bogus;proto=gopher, for=203.0.113.7").remote == "203.0.113.7"
    with pytest.raises(MalformedHeader, match=r"Forwarded.*'bogus'"):
        forwarded("for=203.0.113.7, for=bogus")
    with pytest.raises(MalformedHeader, match=r"Forwarded.*'gopher'"):
        forwarded("for=203.0.113.7;proto=gopher")


# -- the middleware, with no network -------------------------------------------------------


def request_from(peer: str | None, fields: Sequence[tuple[str, str]]) -> web.Request:
    """A request from ``peer`` whose header fields may repeat (make_mocked_request's may not)."""
    base = make_mocked_request("GET", "/who", peer=(peer, 4711) if peer is not None else None)
    raw = tuple((k.encode("latin-1"), v.encode("utf-8", "surrogateescape")) for k, v in fields)
    return web.Request(
        base.method, base.raw_target_path, base.raw_query_string, raw, base.content, base.reply,
        peer=base.peer,
    )  # fmt: skip


def run_middleware(
    mw: Any, request: web.Request
) -> tuple[web.Request | None, web.HTTPException | None]:
    """What the handler behind ``mw`` received, or the HTTP error ``mw`` raised instead."""
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return web.Response()

    try:
        trio.run(mw, request, handler)
    except web.HTTPException as exc:
        return None, exc
    return seen[0], None


HEADER_NAMES = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "Host"]
_pieces = st.sampled_from(['for="[::1]:1"', "for=10.0.0.1", "proto=https", "unknown", ",", ";"])
_header_values = st.one_of(
    st.text(max_size=40),
    st.lists(_pieces).map("".join),
    st.sampled_from(["203.0.113.7", "https", "example.com", "::1", "_x", "10.0.0.1, 1.2.3.4"]),
)
_fields = st.lists(st.tuples(st.sampled_from(HEADER_NAMES), _header_values), max_size=6)
_untrusted = st.one_of(
    st.ip_addresses().map(str).filter(lambda a: a not in TRUSTED),
    st.sampled_from(["unknown", "/run/app.sock", ""]),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(_untrusted, _fields, st.sampled_from(["x-forwarded", "forwarded"]))
def test_an_untrusted_peer_never_changes_anything(
    peer: str | None, fields: list[tuple[str, str]], family: Any
) -> None:
    request = request_from(peer, fields)
    mw = actorhttp.proxy_headers_middleware(["127.0.0.1", "10.0.0.0/8"], headers=family)
    assert run_middleware(mw, request) == (request, None)  # the very same object, no error


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["127.0.0.1", "10.9.8.7", "::ffff:10.0.0.1"]), _fields)
def test_a_trusted_peer_gets_its_headers_meaning_or_a_400_never_a_500(
    peer: str, fields: list[tuple[str, str]]
) -> None:
    for family in ("x-forwarded", "forwarded"):
        request = request_from(peer, fields)
        mw = actorhttp.proxy_headers_middleware(["127.0.0.1", "10.0.0.0/8"], headers=family)
        seen, error = run_middleware(mw, request)
        if error is not None:
            assert error.status == 400
            assert re.match(r"malformed \S+ header: ", error.text or "")
        else:
            assert seen is not None
            assert seen.scheme in ("http", "https")
            assert (seen.peer, seen.raw_headers) == (request.peer, request.raw_headers)


def test_no_trusted_proxy_means_nothing_changes() -> None:
    request = request_from("127.0.0.1", [("X-Forwarded-For", "203.0.113.7")])
    assert run_middleware(actorhttp.proxy_headers_middleware([]), request) == (request, None)


def test_the_peer_is_the_connections_address_not_an_earlier_clone() -> None:
    # Another middleware's clone(remote=...) must not make an untrusted peer trusted.
    request = request_from("192.0.2.1", [("X-Forwarded-For", "203.0.113.7")])
    request = request.clone(remote="127.0.0.1")
    mw = actorhttp.proxy_headers_middleware(["127.0.0.1"])
    assert run_middleware(mw, request) == (request, None)


def test_an_ipv6_peer_can_be_trusted() -> None:
    fields = [("Host", "example.com"), ("Forwarded", 'for="[2001:db8::7]";proto=https')]
    mw = actorhttp.proxy_headers_middleware(["::1"], headers="forwarded")
    seen, _ = run_middleware(mw, request_from("::1", fields))
    assert seen is not None
    assert (seen.remote, str(seen.url)) == ("2001:db8::7", "https://example.com/who")


# -- over real sockets, both transports -----------------------------------------------------


async def who(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "remote": request.remote,
            "scheme": request.scheme,
            "secure": request.secure,
            "host": request.host,
            "url": str(request.url),
        }
    )


def proxied_app(trusted: list[str], headers: Any = "x-forwarded") -> web.Application:
    middleware = actorhttp.proxy_headers_middleware(trusted, headers=headers)
    app = web.Application(middlewares=[middleware])
    app.router.add_get("/who", who)
    return app


async def ask(
    actorhttp_client: Client, app: web.Application, fields: list[tuple[str, str]]
) -> tuple[int, Any, TestClient]:
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.get("/who", headers=fields)
    body = response.json() if response.status_code == 200 else response.text
    return response.status_code, body, client


SPOOFED = [
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "example.com"),
    ("Forwarded", "for=203.0.113.7;proto=https;host=example.com"),
]


async def test_an_untrusted_peers_headers_are_ignored(actorhttp_client: Client) -> None:
    status, body, client = await ask(actorhttp_client, proxied_app(["10.0.0.0/8"]), SPOOFED)
    here = f"127.0.0.1:{client.server.port}"
    assert (status, body) == (
        200,
        {"remote": "127.0.0.1", "scheme": "http", "secure": False, "host": here,
         "url": f"http://{here}/who"},
    )  # fmt: skip


async def test_a_trusted_peer_is_believed(actorhttp_client: Client) -> None:
    status, body, _ = await ask(actorhttp_client, proxied_app(["127.0.0.1"]), SPOOFED[:3])
    assert (status, body) == (
        200,
        {"remote": "203.0.113.7", "scheme": "https", "secure": True, "host": "example.com",
         "url": "https://example.com/who"},
    )  # fmt: skip


async def test_a_chain_of_proxies_and_spoofed_entries(actorhttp_client: Client) -> None:
    # The client claimed 198.51.100.99 and http; the edge proxy (10.0.0.2) appended the truth
    # on a field line of its own, and 127.0.0.1 (the peer) appended what it saw.
    fields = [
        ("X-Forwarded-For", "198.51.100.99, 203.0.113.7"),
        ("X-Forwarded-For", "10.0.0.2"),
        ("X-Forwarded-Proto", "http, https, http"),
    ]
    app = proxied_app(["127.0.0.1", "10.0.0.0/8"])
    status, body, _ = await ask(actorhttp_client, app, fields)
    assert (status, body["remote"], body["scheme"]) == (200, "203.0.113.7", "https")


async def test_ipv6_clients(actorhttp_client: Client) -> None:
    fields = [("X-Forwarded-For", "[2001:db8::1]:4711, 2001:db8::2")]
    status, body, _ = await ask(actorhttp_client, proxied_app(["127.0.0.1"]), fields)
    assert (status, body["remote"]) == (200, "2001:db8::2")
    fields = [("X-Forwarded-Host", "[2001:db8::1]:8443"), ("X-Forwarded-Proto", "https")]
    status, body, _ = await ask(actorhttp_client, proxied_app(["127.0.0.1"]), fields)
    assert (status, body["url"]) == (200, "https://[2001:db8::1]:8443/who")


async def test_rfc_7239_forwarded(actorhttp_client: Client) -> None:
    fields = [
        ("Forwarded", "for=198.51.100.99;proto=http"),
        ("Forwarded", 'for="[2001:db8::1]:4711";proto=https;host="example.com:8443"'),
    ]
    status, body, _ = await ask(actorhttp_client, proxied_app(["127.0.0.1"], "forwarded"), fields)
    assert (status, body) == (
        200,
        {"remote": "2001:db8::1", "scheme": "https", "secure": True, "host": "example.com:8443",
         "url": "https://example.com:8443/who"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("family", "remote"), [("x-forwarded", "203.0.113.7"), ("forwarded", "198.51.100.1")]
)
async def test_only_the_configured_family_is_read(
    actorhttp_client: Client, family: str, remote: str
) -> None:
    fields = [("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=198.51.100.1")]
    status, body, _ = await ask(actorhttp_client, proxied_app(["127.0.0.1"], family), fields)
    assert (status, body["remote"]) == (200, remote)


@pytest.mark.parametrize(
    ("family", "fields", "named"),
    [
        ("x-forwarded", [("X-Forwarded-For", "203.0.113.7, not-an-ip")], "X-Forwarded-For"),
        ("x-forwarded", [("X-Forwarded-Proto", "gopher")], "X-Forwarded-Proto"),
        ("x-forwarded", [("X-Forwarded-Host", "a b")], "X-Forwarded-Host"),
        ("forwarded", [("Forwarded", "for=192.0.2.1:80")], "Forwarded"),
        ("forwarded", [("Forwarded", 'for="[::1]";proto=ftp')], "Forwarded"),
    ],
)
async def test_a_malformed_header_from_a_trusted_peer_is_a_400(
    actorhttp_client: Client, family: str, fields: list[tuple[str, str]], named: str
) -> None:
    status, body, _ = await ask(actorhttp_client, proxied_app(["127.0.0.1"], family), fields)
    assert status == 400
    assert f"malformed {named} header" in body
    # From an untrusted peer the same header is not read at all.
    status, _, _ = await ask(actorhttp_client, proxied_app(["10.0.0.1"], family), fields)
    assert status == 200


async def test_an_upload_through_the_middleware_leaves_no_file_open(
    actorhttp_client: Client,
) -> None:
    # The handler gets a clone; the files its post() spools must still be closed at the end
    # (filterwarnings=error turns an unclosed file's ResourceWarning into a failure).
    async def upload(request: web.Request) -> web.Response:
        field = (await request.post())["f"]
        assert isinstance(field, web.FileField)
        return web.Response(text=f"{request.remote} {len(field.file.read())}")

    app = web.Application(middlewares=[actorhttp.proxy_headers_middleware(["127.0.0.1"])])
    app.router.add_post("/upload", upload)
    with trio.fail_after(TIMEOUT):
        client = await actorhttp_client(app)
        response = await client.post(
            "/upload",
            files={"f": ("a.bin", b"x" * 200_000)},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
    assert response.text == "203.0.113.7 200000"
    gc.collect()
