"""The route index: aiohttp 3.14's resolution order, kept exactly, at any number of routes.

Example tests spell out the order (see ``actorhttp/_routing/_dispatcher.py``);
property tests compare ``UrlDispatcher.resolve`` with aiohttp's own
``UrlDispatcher`` and with a brute-force reference on random route tables.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo
from hypothesis import event, given, settings
from hypothesis import strategies as st
from yarl import URL

from actorhttp._routing import (
    METH_ANY,
    DynamicResource,
    Match,
    MethodNotAllowed,
    NotFound,
    PrefixResource,
    Resolution,
    Resource,
    UrlDispatcher,
    parse_pattern,
    routing_path,
)
from actorhttp._routing._index import key_of
from actorhttp._routing._pattern import Pattern, finish_decoding
from actorhttp._routing._segments import layout, stays_in_segment


def _match(resolution: Resolution[str]) -> Match[str]:
    assert isinstance(resolution, Match), resolution
    return resolution


def _target(router: UrlDispatcher[str], method: str, path: str) -> str:
    return _match(router.resolve(method, path)).route.target


class Static(PrefixResource[str]):
    """A static folder's matching, as aiohttp's ``StaticResource.resolve`` does it."""

    def match(self, path: str) -> Mapping[str, str] | None:
        # aiohttp normalises first, so that "/static/../x" is not under "/static".
        normal = posixpath.normpath(path)
        if normal != self.key and not normal.startswith(self.key + "/"):
            return None
        return {"filename": finish_decoding(path[len(self.key) + 1 :])}


class SubApp(PrefixResource[str]):
    """A sub-application: its own dispatcher holds its routes, prefix included."""

    owns_prefix = True

    def __init__(self, prefix: str, dispatcher: UrlDispatcher[str]) -> None:
        super().__init__(prefix)
        self.dispatcher = dispatcher

    def resolve(self, method: str, path: str, host: str | None = None) -> Resolution[str]:
        return self.dispatcher.resolve_routing_path(method, path, host)


def _static(router: UrlDispatcher[str], prefix: str, target: str) -> Static:
    static = Static(prefix)
    static.add_route("GET", target)
    static.add_route("HEAD", target)
    router.register_resource(static)
    return static


# -- the order, by example --------------------------------------------------------------


def test_longer_literal_start_wins_over_earlier_registration() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/{anything:.*}", "catch-all")
    router.add_get("/users/{id}", "user")
    assert _target(router, "GET", "/users/7") == "user"
    assert _target(router, "GET", "/users/7/posts") == "catch-all"


def test_same_key_first_added_wins() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/x/{anything}", "anything")
    router.add_get(r"/x/{num:\d+}", "number")
    assert _target(router, "GET", "/x/12") == "anything"


def test_key_stops_at_the_last_slash_before_the_first_part() -> None:
    # "/files/v{n}/{name}" is filed under "/files", like "/files/{rest:.*}": same
    # key, so the first added wins even though "v{n}" looks more specific.
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/files/{rest:.*}", "rest")
    router.add_get(r"/files/v{n:\d+}/{name}", "versioned")
    assert key_of(router.resources()[1]) == "/files"
    assert _target(router, "GET", "/files/v2/a.txt") == "rest"


def test_a_later_resource_under_the_same_key_answers_when_the_first_lacks_the_method() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/x/{a}", "get")
    router.add_post("/x/{b}", "post")
    match = _match(router.resolve("POST", "/x/1"))
    assert match.route.target == "post"
    assert match.match_info == {"b": "1"}


def test_a_shorter_key_answers_when_longer_ones_lack_the_method() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a/b", "get-plain")
    router.add_post("/a/{x}", "post-a")
    router.add_delete("/{x:.*}", "delete-any")
    assert _target(router, "POST", "/a/b") == "post-a"
    assert _target(router, "DELETE", "/a/b") == "delete-any"


def test_405_gathers_the_methods_of_every_matching_resource_under_every_key() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a/b", "get")
    router.add_post("/a/{x}", "post")
    router.add_put("/{x:.*}", "put")
    router.add_delete("/c/{x}", "elsewhere")
    result = router.resolve("PATCH", "/a/b")
    assert result == MethodNotAllowed("PATCH", frozenset({"GET", "HEAD", "POST", "PUT"}))


def test_trailing_slash_plain_path_shares_the_key_of_the_path_without_it() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a/", "slash")
    router.add_get("/a", "bare")
    assert key_of(router.resources()[0]) == key_of(router.resources()[1]) == "/a"
    assert _target(router, "GET", "/a/") == "slash"
    assert _target(router, "GET", "/a") == "bare"


def test_add_resource_reuses_the_last_only_with_the_same_name() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "named", name="a")
    router.add_post("/a", "unnamed")  # name None is not name "a": a new resource
    router.add_put("/a", "unnamed-put")  # same path, same (no) name as the last: reused
    assert [r.name for r in router.resources()] == ["a", None]
    assert router.resources()[1].allowed_methods == {"POST", "PUT"}


def test_mixed_segments_are_matched_whole() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/img/r{n}", "r")
    router.add_get("/img/{a}-{b}", "pair")
    router.add_get(r"/img/{name}.{ext:(png|gif)}", "file")
    assert _match(router.resolve("GET", "/img/r7")).match_info == {"n": "7"}
    assert _match(router.resolve("GET", "/img/x-y")).match_info == {"a": "x", "b": "y"}
    match = _match(router.resolve("GET", "/img/cat.gif"))
    assert (match.route.target, match.match_info) == ("file", {"name": "cat", "ext": "gif"})
    assert isinstance(router.resolve("GET", "/img/cat.jpg"), NotFound)


def test_spanning_part_after_literal_text_is_filed_at_the_last_slash() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/core/locations{tail:.*}", "locations")
    assert key_of(router.resources()[0]) == "/core"
    assert _match(router.resolve("GET", "/core/locations/a/b")).match_info == {"tail": "/a/b"}
    assert _match(router.resolve("GET", "/core/locations")).match_info == {"tail": ""}


def test_dynamic_literal_text_matches_in_routing_form() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/caf%C3%A9/{x}", "cafe")
    assert _match(router.resolve("GET", "/café/1")).match_info == {"x": "1"}
    assert _target(router, "GET", "/caf%c3%a9/1") == "cafe"


def test_routes_added_while_resolving_are_served_at_once() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/api/{id}/r0", "r0")
    assert isinstance(router.resolve("GET", "/api/1/r1"), NotFound)
    router.add_get("/api/{id}/r1", "r1")
    router.add_get("/{rest:.*}", "rest")
    assert _target(router, "GET", "/api/1/r1") == "r1"
    assert _target(router, "GET", "/api/1/r0") == "r0"
    assert _target(router, "GET", "/api/1/r2") == "rest"


class CountingResource(DynamicResource[str]):
    """A dynamic resource that counts how often the dispatcher tries it."""

    def __init__(self, path: str, tries: list[str]) -> None:
        pattern = parse_pattern(path)
        assert pattern is not None
        super().__init__(pattern)
        self.tries = tries

    def match(self, path: str) -> Mapping[str, str] | None:
        self.tries.append(self.pattern.path)
        return super().match(path)


def test_the_index_tries_only_the_resources_that_can_match() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    tries: list[str] = []
    for i in range(2_000):
        router.register_resource(CountingResource(f"/api/{{id}}/r{i}", tries)).add_route(
            "GET", f"r{i}"
        )
    router.register_resource(CountingResource("/api/{id}/{rest:.*}", tries)).add_route(
        "GET", "rest"
    )
    assert _target(router, "GET", "/api/7/r1999") == "r1999"
    assert tries == ["/api/{id}/r1999"]
    tries.clear()
    assert _target(router, "GET", "/api/7/other") == "rest"
    assert tries == ["/api/{id}/{rest:.*}"]  # the spanning one, tried with its full regex
    tries.clear()
    assert isinstance(router.resolve("GET", "/elsewhere/7/r5"), NotFound)
    assert tries == []


def test_a_resource_the_index_cannot_file_is_refused_and_not_added() -> None:
    class Odd(Resource[str]):
        canonical = "/odd"

    router: UrlDispatcher[str] = UrlDispatcher()
    with pytest.raises(TypeError, match="cannot index"):
        router.register_resource(Odd())
    assert router.resources() == ()


# -- prefix resources ----------------------------------------------------------------------


def test_prefix_resource_takes_its_prefix_and_everything_under_it() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    _static(router, "/static/", "static")
    for path, tail in [("/static", ""), ("/static/", ""), ("/static/a/b%2Fc", "a/b/c")]:
        match = _match(router.resolve("GET", path))
        assert (match.route.target, match.match_info) == ("static", {"filename": tail})
    assert isinstance(router.resolve("GET", "/staticx"), NotFound)
    assert isinstance(router.resolve("GET", "/static/../etc/passwd"), NotFound)


def test_base_prefix_resource_matches_without_normalising() -> None:
    prefix: PrefixResource[str] = PrefixResource("/p/")
    prefix.add_route("GET", "p")
    router: UrlDispatcher[str] = UrlDispatcher()
    router.register_resource(prefix)
    assert prefix.canonical == "/p"
    assert _match(router.resolve("GET", "/p/a%20b/c")).match_info == {"tail": "a b/c"}
    assert _match(router.resolve("GET", "/p/../q")).match_info == {"tail": "../q"}
    assert isinstance(router.resolve("GET", "/pq"), NotFound)
    assert str(prefix.url_for()) == "/p"
    assert str(prefix.url_for(tail="a b/c")) == "/p/a%20b/c"
    with pytest.raises(ValueError, match="takes only tail"):
        prefix.url_for(name="x")


@pytest.mark.parametrize("prefix", ["static", "/st{x}"])
def test_prefix_resource_refuses_a_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        PrefixResource(prefix)


def test_root_prefix_resource_takes_every_path() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    root = _static(router, "/", "root")
    assert (root.canonical, key_of(root)) == ("", "/")
    assert _match(router.resolve("GET", "/a/b")).match_info == {"filename": "a/b"}


def test_prefix_resource_waits_for_longer_keys_and_for_earlier_resources_of_its_key() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/static", "plain-before")
    _static(router, "/static", "static")
    router.add_get("/static/special", "special")
    assert _target(router, "GET", "/static") == "plain-before"
    assert _target(router, "GET", "/static/special") == "special"
    assert _target(router, "GET", "/static/other") == "static"


def test_static_lacking_the_method_counts_towards_405_and_the_search_goes_on() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    _static(router, "/static", "static")
    router.add_post("/{rest:.*}", "post-anything")
    assert _target(router, "POST", "/static/a") == "post-anything"
    result = router.resolve("PUT", "/static/a")
    assert result == MethodNotAllowed("PUT", frozenset({"GET", "HEAD", "POST"}))


def test_sub_application_answer_is_final_even_404_and_405() -> None:
    inner: UrlDispatcher[str] = UrlDispatcher()
    inner.add_get("/sub/x", "inner-x")
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_post("/sub/x", "outer-post")  # key "/sub/x": tried before "/sub"
    router.register_resource(SubApp("/sub", inner))
    router.add_route(METH_ANY, "/{rest:.*}", "outer-any")
    assert _target(router, "GET", "/sub/x") == "inner-x"
    assert _target(router, "POST", "/sub/x") == "outer-post"
    # The outer "/{rest:.*}" would take these, but the sub-application owns "/sub";
    # its 405 allows its own methods only, not the outer "/sub/x"'s POST.
    assert isinstance(router.resolve("GET", "/sub/missing"), NotFound)
    allowed = frozenset({"GET", "HEAD"})
    assert router.resolve("PUT", "/sub/x") == MethodNotAllowed("PUT", allowed)
    assert _target(router, "GET", "/subway") == "outer-any"


def test_prefix_resource_with_no_routes_is_not_found() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.register_resource(PrefixResource("/empty"))
    assert isinstance(router.resolve("GET", "/empty/a"), NotFound)


def test_prefix_resource_is_never_reused_by_add_resource() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    _static(router, "/s", "static")
    router.add_post("/s", "post")
    assert len(router.resources()) == 2


# -- which parts stay in one segment -------------------------------------------------------


@pytest.mark.parametrize(
    "regex",
    [
        "[^{}/]+",
        r"\d+",
        "[a-z]+",
        r"\d{3}",
        "(cat|dog)s",
        "(?:a|b)+",
        r"[\w-]+",
        r"\w+\.json",
        r"[^/]*",
        r"[^\/]",
        r"[!-.]",
        r"\bx\B",
    ],
)
def test_regex_that_cannot_match_a_slash_stays_in_its_segment(regex: str) -> None:
    assert stays_in_segment(regex)


@pytest.mark.parametrize(
    "regex",
    [
        ".*",
        ".+",
        "a/b",
        r"a\/b",
        "[^a]",
        "[!-0]",
        "[/]",
        r"[\D]",
        r"\D",
        r"\S+",
        r"\W",
        r"\x2f",
        r"[\x2f]",
        r"\057",
        r"(a)\1",
        "(?=x)x",
        "(?<=/)x",
        "(?i:x)",
        "(?s:.)",
        "^x",
        "x$",
        r"\Ax",
        r"x\Z",
        "[a-z",
        "\\",
    ],
)
def test_regex_that_may_match_a_slash_or_look_outside_does_not(regex: str) -> None:
    assert not stays_in_segment(regex)


def test_layout_cuts_after_the_key_and_stops_at_a_spanning_part() -> None:
    pattern = parse_pattern("/a/b/{x}/c/{tail:.*}/d")
    assert pattern is not None
    shape = layout(pattern)
    assert shape.key == "/a/b"
    assert [s if isinstance(s, str) else s.regex.pattern for s in shape.segments] == [
        "(?:[^{}/]+)",
        "c",
    ]
    assert shape.spans


def test_layout_refuses_a_pattern_not_starting_with_a_slash() -> None:
    # parse_pattern never makes one; a Pattern built by hand could be.
    part = re.compile("[^{}/]+")
    pattern = Pattern(path="{x}", regex=part, names=("x",), pieces=(("x", part, True),))
    with pytest.raises(ValueError, match="must start with '/'"):
        layout(pattern)


# -- property: the same answers as aiohttp's UrlDispatcher ------------------------------

FOLDER = Path(__file__).parent  # any existing folder: aiohttp's static resource wants one
LITERALS = ["a", "b", "ab", "1", "22", "..", ""]
PART_TEMPLATES = [
    "{%s}",
    r"{%s:\d+}",
    "{%s:[a-z]+}",
    "{%s:.*}",
    "{%s:.+}",
    "r{%s}",
    "{%s}-{%s_2}",
    r"{%s:\d+}.json",
    "a{%s:.*}",
]
ROUTE_METHODS = ["GET", "POST", "DELETE", METH_ANY]
REQUEST_METHODS = ["GET", "GET", "HEAD", "POST", "POST", "DELETE", "PATCH"]
# Request text, with percent-escapes that decode well (see DECODING_DIVERGES below).
REQUEST_SEGMENTS = [
    *LITERALS,
    "7",
    "123",
    "abc",
    "a-b",
    "r5",
    "7.json",
    ".",
    "%61",
    "%31",
    "a%2Fb",
    "a%2fb",
    "%25",
    "%2541",
    "%C3%A9",
    "%20",
]
PART_VALUES = ["7", "123", "abc", "a-b", "r5", "7.json", "a%2Fb", "%C3%A9", "a/b", "", "x%25"]
# aiohttp (yarl) leaves a stray "%" and a broken UTF-8 escape as they are, and then
# decodes "%%32%46" twice (to "/"); actorhttp decodes each byte once, a broken
# escape to U+FFFD. Only the reference matcher sees these.
DECODING_DIVERGES = ["%", "%%32%46", "%zz", "%C3", "%FF"]

_PART = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    name: str | None = None


@dataclass(frozen=True)
class StaticSpec:
    prefix: str


@dataclass(frozen=True)
class SubAppSpec:
    prefix: str
    routes: tuple[RouteSpec, ...]


Spec = RouteSpec | StaticSpec | SubAppSpec


def _route_path(elements: list[tuple[bool, str]], trailing: bool) -> str:
    segments = [
        text % ((f"p{i}",) * text.count("%s")) if is_part else text
        for i, (is_part, text) in enumerate(elements)
    ]
    return "/" + "/".join(segments) + ("/" if trailing and segments else "")


route_paths = st.builds(
    _route_path,
    st.lists(
        st.one_of(
            st.sampled_from(LITERALS).map(lambda text: (False, text)),
            st.sampled_from(PART_TEMPLATES).map(lambda text: (True, text)),
        ),
        max_size=3,
    ),
    st.booleans(),
)


def _prefixes(min_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(["a", "b", "ab", "1"]), min_size=min_size, max_size=2).map(
        lambda segments: "/" + "/".join(segments)
    )


# Broad routes that overlap with many others, so that the order is what decides.
CATCH_ALLS = ["/{c:.*}", "/a/{c:.+}", "/{c}", "/a/{c}/{d}", r"/{c:\d+}/a", "/{c}/"]


@st.composite
def tables(draw: st.DrawFn) -> list[Spec]:
    """Route tables whose paths overlap often: most come from a small pool of paths."""
    pool = draw(st.lists(route_paths, min_size=1, max_size=4))
    paths = st.one_of(st.sampled_from(pool), st.sampled_from(CATCH_ALLS), route_paths)
    methods = st.sampled_from(ROUTE_METHODS)
    routes = st.builds(RouteSpec, methods, paths, st.sampled_from([None, None, "n1", "n2"]))
    specs: st.SearchStrategy[Spec] = st.one_of(
        routes,
        routes,
        routes,
        st.builds(StaticSpec, _prefixes(0)),
        st.builds(
            SubAppSpec,
            _prefixes(1),  # aiohttp refuses a sub-application at "/"
            st.lists(st.builds(RouteSpec, methods, paths), max_size=4).map(tuple),
        ),
    )
    return draw(st.lists(specs, min_size=1, max_size=10))


def _escaped(text: str) -> str:
    """``text`` with every character but "/" percent-escaped."""
    return "".join(char if char == "/" else f"%{ord(char):02X}" for char in text)


def _aimed_at(path: str) -> st.SearchStrategy[str]:
    """Request paths for a route path: its parts filled in, literals sometimes escaped."""
    pieces = _PART.split(path)
    literal = [st.sampled_from([p, _escaped(p)]) for p in pieces]
    values = [st.sampled_from(PART_VALUES) for _ in pieces[1:]]
    return st.tuples(*literal, *values).map(
        lambda drawn: "".join(
            drawn[i] + (drawn[len(pieces) + i] if i < len(pieces) - 1 else "")
            for i in range(len(pieces))
        )
    )


random_paths = st.builds(
    lambda segments, trailing: "/" + "/".join(segments) + ("/" if trailing else ""),
    st.lists(st.sampled_from(REQUEST_SEGMENTS), max_size=4),
    st.booleans(),
)


class AioRequest:
    """What aiohttp's resolver reads of a request: its method and ``rel_url``."""

    def __init__(self, method: str, raw_path: str) -> None:
        self.method = method
        self.rel_url = URL.build(path=raw_path, encoded=True)


def _run(coroutine: Coroutine[Any, Any, UrlMappingMatchInfo]) -> UrlMappingMatchInfo:
    # aiohttp's resolve never really suspends: run it to its end without a loop.
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(UrlMappingMatchInfo, done.value)
    coroutine.close()
    raise AssertionError("aiohttp's resolve suspended")


@dataclass
class Routers:
    """The same route table in actorhttp and in aiohttp, with a label on each route."""

    ours: UrlDispatcher[str]
    aio: web.Application
    labels: dict[Any, str]  # aiohttp handler, or id() of a static resource -> label

    def aio_label(self, match_info: UrlMappingMatchInfo) -> tuple[str, str]:
        route = match_info.route
        label = self.labels.get(route.handler) or self.labels[id(route.resource)]
        return label, route.method


def _handler(labels: dict[Any, str], label: str) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        raise AssertionError("never called")

    labels[handler] = label
    return handler


def _add_both(
    ours: UrlDispatcher[str],
    aio: web.UrlDispatcher,
    spec: RouteSpec,
    label: str,
    labels: dict[Any, str],
    prefix: str = "",
) -> None:
    """Add ``spec`` to both routers, or to neither when aiohttp refuses it."""
    path = prefix + spec.path
    try:
        aio.add_route(spec.method, spec.path, _handler(labels, label), name=spec.name)
    except ValueError:  # a name used by an earlier resource
        with pytest.raises(ValueError, match="duplicate route name"):
            ours.add_route(spec.method, path, label, name=spec.name)
        return
    except RuntimeError:  # refused by the resource it reused, which ours reuses too
        last = ours.resources()[-1]
        assert last.raw_match(path)
        assert last.name == spec.name
        if spec.method in last.allowed_methods:
            with pytest.raises(RuntimeError, match="already registered"):
                ours.add_route(spec.method, path, label, name=spec.name)
        else:
            # aiohttp also refuses any method once "*" is there, where actorhttp
            # adds it (and serves it for that method): keep the tables equal.
            assert METH_ANY in last.allowed_methods
        return
    ours.add_route(spec.method, path, label, name=spec.name)


def _build(table: list[Spec]) -> Routers:
    ours: UrlDispatcher[str] = UrlDispatcher()
    aio = web.Application()
    labels: dict[Any, str] = {}
    for i, spec in enumerate(table):
        if isinstance(spec, RouteSpec):
            _add_both(ours, aio.router, spec, f"route{i}", labels)
        elif isinstance(spec, StaticSpec):
            labels[id(aio.router.add_static(spec.prefix, FOLDER))] = f"static{i}"
            _static(ours, spec.prefix, f"static{i}")
        else:
            sub = web.Application()
            inner: UrlDispatcher[str] = UrlDispatcher()
            for j, route in enumerate(spec.routes):
                _add_both(inner, sub.router, route, f"sub{i}.{j}", labels, spec.prefix)
            aio.add_subapp(spec.prefix, sub)
            ours.register_resource(SubApp(spec.prefix, inner))
    return Routers(ours, aio, labels)


def _reference(router: UrlDispatcher[str], method: str, path: str) -> Resolution[str]:
    """aiohttp's rule by brute force, on a routing-form ``path``: for each key from the
    whole path back to "/", every resource with that key in registration order."""
    keys = [path]
    while keys[-1] != "/":
        keys.append(keys[-1].rpartition("/")[0] or "/")
    allowed: set[str] = set()
    for key in keys:
        for resource in router.resources():
            text = routing_path(resource.canonical)
            if "{" in text:
                text = text.partition("{")[0].rpartition("/")[0]
            if (text.rstrip("/") or "/") != key:
                continue
            if isinstance(resource, SubApp):
                return _reference(resource.dispatcher, method, path)
            if isinstance(resource, PrefixResource):
                outcome = resource.resolve(method, path)
                if isinstance(outcome, Match):
                    return outcome
                if isinstance(outcome, MethodNotAllowed):
                    allowed |= outcome.allowed
                continue
            match_info = resource.match(path)
            if match_info is None:
                continue
            route = resource.route_for(method)
            if route is not None:
                return Match(route, match_info)
            allowed |= resource.allowed_methods
    if allowed:
        return MethodNotAllowed(method, frozenset(allowed))
    return NotFound()


def _same(got: Resolution[str], want: Resolution[str], context: object) -> None:
    if isinstance(want, Match):
        assert isinstance(got, Match), (context, got, want)
        assert got.route is want.route, (context, got, want)
        assert dict(got.match_info) == dict(want.match_info), context
    else:
        assert got == want, (context, got, want)


def _same_as_aiohttp(routers: Routers, got: Resolution[str], method: str, raw: str) -> None:
    found = _run(routers.aio.router.resolve(cast(web.Request, AioRequest(method, raw))))
    context = (method, raw, got, found)
    error = found.http_exception
    if isinstance(got, Match):
        assert error is None, context
        assert (got.route.target, got.route.method) == routers.aio_label(found), context
        assert dict(got.match_info) == dict(found), context
    elif isinstance(got, MethodNotAllowed):
        assert isinstance(error, web.HTTPMethodNotAllowed), context
        assert got.allowed == error.allowed_methods, context
    else:
        assert isinstance(error, web.HTTPNotFound), context


def _paths_in(table: list[Spec]) -> list[str]:
    """The route paths (and prefixes) of ``table``, to aim requests at."""
    paths: list[str] = []
    for spec in table:
        if isinstance(spec, RouteSpec):
            paths.append(spec.path)
        else:
            paths += [spec.prefix, spec.prefix.rstrip("/") + "/a/b"]
        if isinstance(spec, SubAppSpec):
            paths += [spec.prefix + route.path for route in spec.routes]
    return paths


@settings(max_examples=400, deadline=None)
@given(table=tables(), data=st.data())
def test_resolve_agrees_with_aiohttp_and_the_reference(
    table: list[Spec], data: st.DataObject
) -> None:
    routers = _build(table)
    aimed = st.sampled_from(_paths_in(table)).flatmap(_aimed_at)
    paths = st.one_of(aimed, aimed, random_paths)
    requests = st.lists(st.tuples(st.sampled_from(REQUEST_METHODS), paths), max_size=20)
    for method, raw in data.draw(requests):
        got = routers.ours.resolve(method, raw)
        _same(got, _reference(routers.ours, method, routing_path(raw)), (method, raw))
        _same_as_aiohttp(routers, got, method, raw)
        target = got.route.target.rstrip("0123456789.") if isinstance(got, Match) else ""
        event(f"{type(got).__name__} {target}".strip())
    for raw in DECODING_DIVERGES:  # the reference only: aiohttp decodes these otherwise
        for method in ("GET", "POST"):
            path = "/a/" + raw
            got = routers.ours.resolve(method, path)
            _same(got, _reference(routers.ours, method, routing_path(path)), (method, path))


# -- property: url_for and resolve round-trip --------------------------------------------


# Any text, with the pieces that matter here ("/", "%", escapes, braces) often.
values = st.lists(
    st.one_of(st.sampled_from(["/", "%", "%2F", "%25", " ", ".", "é", "{"]), st.text())
).map("".join)


@settings(max_examples=300, deadline=None)
@given(value=values.filter(bool), tail=values.filter(bool))
def test_url_for_then_resolve_gives_back_the_value(value: str, tail: str) -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/v/{name}", "one")
    router.add_get("/v/{name}/x", "two")
    router.add_get("/t/{tail:.+}", "tail")
    if "{" in value or "}" in value:
        # "{name}" is "[^{}/]+" as in aiohttp: a brace cannot come back.
        with pytest.raises(ValueError, match="does not match"):
            router.resources()[0].url_for(name=value)
    else:
        for resource, target in zip(router.resources()[:2], ("one", "two"), strict=True):
            match = _match(router.resolve("GET", str(resource.url_for(name=value))))
            assert (match.route.target, match.match_info) == (target, {"name": value})
    tail_resource = router.resources()[2]
    if "\n" in tail:  # "." does not match a newline
        with pytest.raises(ValueError, match="does not match"):
            tail_resource.url_for(tail=tail)
    else:
        match = _match(router.resolve("GET", str(tail_resource.url_for(tail=tail))))
        assert (match.route.target, match.match_info) == ("tail", {"tail": tail})
