"""Tests of the sans-IO router: patterns, routing paths, the dispatcher and middlewares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actorhttp._routing import (
    METH_ANY,
    Match,
    MethodNotAllowed,
    NotFound,
    Resolution,
    Resource,
    UrlDispatcher,
    compose,
    middleware,
    parse_pattern,
    routing_path,
)
from actorhttp._routing._pattern import Pattern

Next = Callable[[str], Awaitable[str]]


def _pattern(path: str) -> Pattern:
    pattern = parse_pattern(path)
    assert pattern is not None
    return pattern


def _match(resolution: Resolution[str]) -> Match[str]:
    assert isinstance(resolution, Match), resolution
    return resolution


def _not_allowed(resolution: Resolution[str]) -> MethodNotAllowed:
    assert isinstance(resolution, MethodNotAllowed), resolution
    return resolution


# -- parse_pattern -------------------------------------------------------------


def test_parse_pattern_plain_path_returns_none() -> None:
    assert parse_pattern("/hello/world") is None


def test_parse_pattern_root_path_returns_none() -> None:
    assert parse_pattern("/") is None


def test_default_part_matches_one_segment() -> None:
    assert _pattern("/hello/{name}").match("/hello/bob") == {"name": "bob"}


def test_default_part_does_not_match_across_slash() -> None:
    assert _pattern("/hello/{name}").match("/hello/bob/smith") is None


def test_default_part_does_not_match_empty_segment() -> None:
    assert _pattern("/hello/{name}").match("/hello/") is None


def test_default_part_is_the_documented_regex() -> None:
    pattern = _pattern("/hello/{name}")
    assert pattern.regex.pattern == "/hello/(?P<name>[^{}/]+)"
    assert pattern.names == ("name",)


def test_regex_part_matches_with_its_regex() -> None:
    assert _pattern(r"/items/{id:\d+}").match("/items/42") == {"id": "42"}


def test_regex_part_refuses_what_its_regex_refuses() -> None:
    assert _pattern(r"/items/{id:\d+}").match("/items/4a2") is None


def test_regex_part_may_span_slashes() -> None:
    assert _pattern("/files/{path:.+}").match("/files/a/b.txt") == {"path": "a/b.txt"}


def test_regex_with_nested_braces_matches_exact_count() -> None:
    pattern = _pattern(r"/items/{id:\d{3}}")
    assert pattern.names == ("id",)
    assert pattern.match("/items/123") == {"id": "123"}


def test_regex_with_nested_braces_refuses_other_counts() -> None:
    pattern = _pattern(r"/items/{id:\d{3}}")
    assert pattern.match("/items/12") is None
    assert pattern.match("/items/1234") is None


def test_several_parts_are_all_captured() -> None:
    pattern = _pattern(r"/{user}/posts/{post:\d+}.{ext}")
    assert pattern.names == ("user", "post", "ext")
    assert pattern.match("/ann/posts/7.json") == {"user": "ann", "post": "7", "ext": "json"}


def test_unnamed_groups_in_regex_are_allowed() -> None:
    assert _pattern("/{kind:(cat|dog)s}").match("/dogs") == {"kind": "dogs"}


def test_literal_text_is_escaped_in_the_regex() -> None:
    pattern = _pattern("/a.b/{x}")
    assert pattern.match("/a.b/1") == {"x": "1"}
    assert pattern.match("/aXb/1") is None


def test_parse_pattern_refuses_path_without_leading_slash() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        parse_pattern("hello/{name}")


def test_parse_pattern_refuses_plain_path_without_leading_slash() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        parse_pattern("hello")


def test_parse_pattern_refuses_unclosed_brace() -> None:
    with pytest.raises(ValueError, match=r"unbalanced '\{' at 7"):
        parse_pattern("/hello/{name")


def test_parse_pattern_refuses_unclosed_brace_inside_regex() -> None:
    with pytest.raises(ValueError, match=r"unbalanced '\{'"):
        parse_pattern(r"/items/{id:\d{3}")


def test_parse_pattern_refuses_stray_closing_brace() -> None:
    with pytest.raises(ValueError, match=r"unbalanced '\}' at 11"):
        parse_pattern("/hello/name}")


@pytest.mark.parametrize("path", ["/{1abc}", "/{}", "/{a-b}", "/{na me}", "/{:\\d+}"])
def test_parse_pattern_refuses_bad_part_name(path: str) -> None:
    with pytest.raises(ValueError, match="bad part name"):
        parse_pattern(path)


def test_parse_pattern_refuses_duplicate_part_name() -> None:
    with pytest.raises(ValueError, match=r"part \{id\} appears twice"):
        parse_pattern(r"/{id}/sub/{id:\d+}")


def test_parse_pattern_refuses_invalid_regex() -> None:
    with pytest.raises(ValueError, match=r"bad regex '\[a-' for \{x\}"):
        parse_pattern("/items/{x:[a-}")


def test_parse_pattern_refuses_regex_with_named_groups() -> None:
    with pytest.raises(ValueError, match=r"regex for \{x\} .* must not name groups"):
        parse_pattern(r"/items/{x:(?P<inner>\d+)}")


def test_parse_pattern_refuses_empty_regex() -> None:
    with pytest.raises(ValueError, match=r"empty regex for \{x\}"):
        parse_pattern("/items/{x:}")


# -- routing_path ----------------------------------------------------------------


def test_routing_path_without_percent_is_unchanged() -> None:
    assert routing_path("/hello/world") == "/hello/world"


def test_routing_path_decodes_escapes() -> None:
    assert routing_path("/caf%C3%A9/a%20b") == "/café/a b"


def test_routing_path_keeps_encoded_slash() -> None:
    assert routing_path("/a%2Fb") == "/a%2Fb"


def test_routing_path_uppercases_kept_encoded_slash() -> None:
    assert routing_path("/a%2fb") == "/a%2Fb"


def test_routing_path_keeps_encoded_percent() -> None:
    assert routing_path("/100%25") == "/100%25"


def test_routing_path_does_not_decode_through_encoded_percent() -> None:
    # "%2541" is "%" then "41": decoding it must not yield "A".
    assert routing_path("/%2541") == "/%2541"


def test_encoded_slash_stays_inside_one_segment() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/{a}/{b}", "two")
    router.add_get("/{one}", "one")
    match = _match(router.resolve("GET", "/a%2Fb"))
    assert match.route.target == "one"
    assert match.match_info == {"one": "a/b"}


def test_match_info_decodes_encoded_slash() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/hello/{name}", "hello")
    assert _match(router.resolve("GET", "/hello/a%2Fb")).match_info == {"name": "a/b"}


def test_match_info_decodes_utf8_escapes() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/hello/{name}", "hello")
    assert _match(router.resolve("GET", "/hello/w%C3%B6rld")).match_info == {"name": "wörld"}


def test_match_info_decodes_encoded_percent() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/hello/{name}", "hello")
    assert _match(router.resolve("GET", "/hello/100%25")).match_info == {"name": "100%"}


def test_match_info_decodes_percent_escapes_only_once() -> None:
    # "%%34%31" decodes (once) to "%41": a stray "%" then "4" and "1", not "A".
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/hello/{name}", "hello")
    assert _match(router.resolve("GET", "/hello/%%34%31")).match_info == {"name": "%41"}


def test_match_info_does_not_decode_a_decoded_slash_escape_again() -> None:
    # "%%32%46" decodes (once) to the three characters "%2F": a stray "%", then
    # "2" and "F". Its routing form "%2F" must not then be taken for an encoded
    # slash and decoded a second time into "/".
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/hello/{name}", "hello")
    assert _match(router.resolve("GET", "/hello/%%32%46")).match_info == {"name": "%2F"}


def test_plain_resource_matches_its_path_in_routing_form() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/caf%C3%A9", "cafe")
    assert _match(router.resolve("GET", "/café")).route.target == "cafe"
    assert _match(router.resolve("GET", "/caf%c3%a9")).route.target == "cafe"


def test_plain_resource_with_encoded_slash_is_not_two_segments() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a%2Fb", "encoded")
    assert _match(router.resolve("GET", "/a%2fb")).route.target == "encoded"
    assert isinstance(router.resolve("GET", "/a/b"), NotFound)


# -- UrlDispatcher.resolve ---------------------------------------------------------


def test_resolve_unknown_path_is_not_found() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "a")
    assert isinstance(router.resolve("GET", "/b"), NotFound)


def test_resolve_on_empty_router_is_not_found() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    assert isinstance(router.resolve("GET", "/"), NotFound)


def test_resolve_plain_route_returns_route_and_empty_match_info() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    added = router.add_post("/submit", "submit")
    match = _match(router.resolve("POST", "/submit"))
    assert match.route is added
    assert match.route.method == "POST"
    assert match.match_info == {}


def test_resolve_dynamic_route_returns_match_info() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get(r"/users/{user}/posts/{post:\d+}", "post")
    match = _match(router.resolve("GET", "/users/ann/posts/12"))
    assert match.route.target == "post"
    assert match.match_info == {"user": "ann", "post": "12"}


def test_resolve_wrong_method_is_method_not_allowed_with_allowed_set() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "get")
    router.add_post("/a", "post")
    result = _not_allowed(router.resolve("PUT", "/a"))
    assert result.method == "PUT"
    assert result.allowed == frozenset({"GET", "HEAD", "POST"})


def test_method_not_allowed_gathers_methods_of_every_matching_resource() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_post("/items/new", "create")
    router.add_put("/items/{id}", "replace")
    router.add_delete("/other/{id}", "unrelated")
    result = _not_allowed(router.resolve("PATCH", "/items/new"))
    assert result.allowed == frozenset({"POST", "PUT"})


def test_resolve_dynamic_non_matching_value_is_not_found() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get(r"/items/{id:\d+}", "item")
    assert isinstance(router.resolve("GET", "/items/abc"), NotFound)


def test_add_get_also_registers_head() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/page", "page")
    match = _match(router.resolve("HEAD", "/page"))
    assert match.route.method == "HEAD"
    assert match.route.target == "page"


def test_add_get_without_head_refuses_head() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/page", "page", allow_head=False)
    assert _not_allowed(router.resolve("HEAD", "/page")).allowed == frozenset({"GET"})


def test_add_get_returns_the_get_route() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    route = router.add_get("/page", "page")
    assert route.method == "GET"
    assert _match(router.resolve("GET", "/page")).route is route


def test_same_method_twice_on_one_resource_raises_at_add_time() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_post("/a", "first")
    with pytest.raises(RuntimeError, match="method POST is already registered on '/a'"):
        router.add_post("/a", "second")
    assert _match(router.resolve("POST", "/a")).route.target == "first"


def test_add_get_twice_raises_because_of_head() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "first")
    with pytest.raises(RuntimeError, match="already registered"):
        router.add_get("/a", "second")


def test_get_then_post_on_same_path_share_one_resource() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    get = router.add_get("/a", "get")
    post = router.add_post("/a", "post")
    assert len(router.resources()) == 1
    assert get.resource is post.resource
    assert router.resources()[0].allowed_methods == frozenset({"GET", "HEAD", "POST"})


def test_plain_resource_wins_over_earlier_dynamic_with_a_shorter_key() -> None:
    # aiohttp's order: "/about" is filed under "/about", "/{name}" under "/"; the
    # longer key is tried first whatever the order of adding.
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/{name}", "dynamic")
    router.add_get("/about", "plain")
    assert _match(router.resolve("GET", "/about")).route.target == "plain"
    match = _match(router.resolve("GET", "/other"))
    assert match.route.target == "dynamic"
    assert match.match_info == {"name": "other"}


def test_plain_resource_added_first_wins_over_dynamic() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/about", "plain")
    router.add_get("/{name}", "dynamic")
    assert _match(router.resolve("GET", "/about")).route.target == "plain"
    assert _match(router.resolve("GET", "/other")).route.target == "dynamic"


def test_first_added_wins_between_two_dynamic_resources() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/x/{anything}", "anything")
    router.add_get(r"/x/{num:\d+}", "number")
    assert _match(router.resolve("GET", "/x/12")).route.target == "anything"


def test_later_resource_with_the_method_is_used_when_first_lacks_it() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/about", "plain-get")
    router.add_post("/{name}", "dynamic-post")
    assert _match(router.resolve("POST", "/about")).route.target == "dynamic-post"


def test_route_added_later_under_a_longer_key_is_tried_first() -> None:
    # aiohttp reuses only the *last* added resource for a repeated path, so the
    # POST on "/a" added after "/{x}" lives in a second "/a" resource. Both "/a"
    # resources are filed under the key "/a", which is tried before "/{x}"'s "/":
    # the first "/a" lacks POST, the second has it and answers.
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "get-a")
    router.add_post("/{x}", "post-any")
    router.add_post("/a", "post-a")
    assert len(router.resources()) == 3
    assert _match(router.resolve("POST", "/a")).route.target == "post-a"
    assert _match(router.resolve("POST", "/b")).route.target == "post-any"


def test_meth_any_route_matches_any_method() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_route(METH_ANY, "/any", "any")
    for method in ("GET", "POST", "PATCH", "PROPFIND"):
        match = _match(router.resolve(method, "/any"))
        assert match.route.method == "*"
        assert match.route.target == "any"


def test_specific_method_beats_meth_any_on_the_same_resource() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "get")
    router.add_route(METH_ANY, "/a", "any")
    assert _match(router.resolve("GET", "/a")).route.target == "get"
    assert _match(router.resolve("DELETE", "/a")).route.target == "any"


def test_add_route_uppercases_method() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    route = router.add_route("patch", "/a", "patch")
    assert route.method == "PATCH"
    assert _match(router.resolve("PATCH", "/a")).route is route


@pytest.mark.parametrize("method", ["", "GE T", "GET\r\n", "GÉT", "GET/1"])
def test_add_route_refuses_invalid_method(method: str) -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    with pytest.raises(ValueError, match="is not an HTTP method"):
        router.add_route(method, "/a", "x")


def test_add_route_refuses_path_without_leading_slash() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    with pytest.raises(ValueError, match="must start with '/'"):
        router.add_get("a", "x")


def test_routes_lists_every_route_in_order() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "a")
    router.add_post("/b", "b")
    assert [(r.method, r.resource.canonical) for r in router.routes()] == [
        ("HEAD", "/a"),
        ("GET", "/a"),
        ("POST", "/b"),
    ]


# -- named resources and url_for -------------------------------------------------


def _named_router() -> UrlDispatcher[str]:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/", "index", name="index")
    router.add_get("/hello/{name}", "hello", name="hello")
    router.add_get(r"/items/{id:\d+}", "item", name="shop.item")
    router.add_get("/anonymous", "anonymous")
    return router


def test_named_resource_is_found_by_name() -> None:
    router = _named_router()
    assert router["hello"].canonical == "/hello/{name}"
    assert router["hello"].name == "hello"


def test_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        _named_router()["missing"]


def test_name_membership() -> None:
    router = _named_router()
    assert "shop.item" in router
    assert "missing" not in router
    assert "anonymous" not in router


def test_len_counts_named_resources_only() -> None:
    assert len(_named_router()) == 3


def test_iteration_gives_names_in_order() -> None:
    assert list(_named_router()) == ["index", "hello", "shop.item"]


def test_named_resources_mapping() -> None:
    router = _named_router()
    named = router.named_resources()
    assert sorted(named) == ["hello", "index", "shop.item"]
    assert named["index"] is router["index"]


def test_route_name_is_its_resource_name() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    route = router.add_post("/form", "form", name="form")
    assert route.name == "form"


def test_duplicate_name_raises_value_error() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "a", name="page")
    with pytest.raises(ValueError, match="duplicate route name 'page'"):
        router.add_get("/b", "b", name="page")


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a.", ".a", "a/b", "a..b"])
def test_bad_name_raises_value_error(name: str) -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    with pytest.raises(ValueError, match="bad route name"):
        router.add_get("/a", "a", name=name)


@pytest.mark.parametrize("name", ["a", "_a1", "api.v1:item-get"])
def test_good_names_are_accepted(name: str) -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/a", "a", name=name)
    assert router[name].canonical == "/a"


def test_url_for_plain_resource() -> None:
    assert str(_named_router()["index"].url_for()) == "/"


def test_url_for_plain_resource_refuses_parts() -> None:
    with pytest.raises(ValueError, match="takes no parts"):
        _named_router()["index"].url_for(name="x")


def test_url_for_dynamic_resource_fills_in_value() -> None:
    assert str(_named_router()["hello"].url_for(name="bob")) == "/hello/bob"


def test_url_for_quotes_values() -> None:
    url = _named_router()["hello"].url_for(name="wörld & you")
    assert str(url) == "/hello/w%C3%B6rld%20%26%20you"
    assert str(url.with_query(page=2)) == "/hello/w%C3%B6rld%20%26%20you?page=2"  # a yarl.URL


def test_url_for_quotes_slash_in_default_part() -> None:
    assert str(_named_router()["hello"].url_for(name="a/b")) == "/hello/a%2Fb"


def test_url_for_result_resolves_back_to_the_same_value() -> None:
    router = _named_router()
    url = router["hello"].url_for(name="a/b ö%")
    match = _match(router.resolve("GET", str(url)))
    assert match.match_info == {"name": "a/b ö%"}


def test_url_for_through_route() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    route = router.add_get("/users/{user}", "user")
    assert str(route.url_for(user="ann")) == "/users/ann"


def test_url_for_regex_part() -> None:
    assert str(_named_router()["shop.item"].url_for(id="42")) == "/items/42"


def test_url_for_refuses_value_not_matching_regex() -> None:
    with pytest.raises(ValueError, match=r"id='forty' does not match"):
        _named_router()["shop.item"].url_for(id="forty")


def test_url_for_refuses_empty_value_for_default_part() -> None:
    with pytest.raises(ValueError, match="does not match"):
        _named_router()["hello"].url_for(name="")


def test_url_for_refuses_missing_part() -> None:
    with pytest.raises(ValueError, match=r"missing \['name'\]"):
        _named_router()["hello"].url_for()


def test_url_for_refuses_extra_part() -> None:
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        _named_router()["hello"].url_for(name="bob", extra="x")


# -- the route index keeps aiohttp's order -----------------------------------------

SEGMENTS = ["a", "b", "1", "22"]
PART_TEMPLATES = ["{%s}", r"{%s:\d+}"]
REQUEST_SEGMENTS = [*SEGMENTS, "", "c", "7", "%61", "%31", "a%2Fb", "a%2fb", "%25"]
PART_VALUES = ["1", "22", "a", "%31", "c%2Fd", "x%25"]
ROUTE_METHODS = ["GET", "POST", "DELETE", METH_ANY]
REQUEST_METHODS = ["GET", "HEAD", "POST", "DELETE", "PATCH"]

route_element = st.one_of(
    st.sampled_from(SEGMENTS).map(lambda s: ("literal", s)),
    st.sampled_from(PART_TEMPLATES).map(lambda t: ("part", t)),
)


def _route_path(elements: list[tuple[str, str]]) -> str:
    segments = [
        text if kind == "literal" else text % f"p{i}" for i, (kind, text) in enumerate(elements)
    ]
    return "/" + "/".join(segments)


route_paths = st.lists(route_element, max_size=3).map(_route_path)
routes = st.lists(st.tuples(st.sampled_from(ROUTE_METHODS), route_paths), min_size=1, max_size=10)
random_request_paths = st.lists(st.sampled_from(REQUEST_SEGMENTS), max_size=3).map(
    lambda segments: "/" + "/".join(segments)
)


def _requests_for(route_path: str) -> st.SearchStrategy[str]:
    """Raw paths aimed at ``route_path``: parts filled in, literals sometimes escaped."""
    choices: list[st.SearchStrategy[str]] = []
    for segment in route_path[1:].split("/"):
        if segment.startswith("{"):
            choices.append(st.sampled_from(PART_VALUES))
        else:
            escaped = "".join(f"%{ord(char):02X}" for char in segment)
            choices.append(st.sampled_from([segment, escaped]))
    return st.tuples(*choices).map(lambda segments: "/" + "/".join(segments))


def _aiohttp_key(resource: Resource[str]) -> str:
    """aiohttp's ``_get_resource_index_key``, in routing form."""
    text = routing_path(resource.canonical)
    if "{" in text:
        text = text.partition("{")[0].rpartition("/")[0]
    return text.rstrip("/") or "/"


def _aiohttp_order(router: UrlDispatcher[str], method: str, raw_path: str) -> Resolution[str]:
    """What ``resolve`` must give, by brute force: each key from the longest prefix of
    the path to "/", and under each key every resource in registration order."""
    path = routing_path(raw_path)
    keys = [path]
    while keys[-1] != "/":
        keys.append(keys[-1].rpartition("/")[0] or "/")
    allowed: set[str] = set()
    for key in keys:
        for resource in router.resources():
            if _aiohttp_key(resource) != key:
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


@settings(max_examples=200, deadline=None)
@given(routes=routes, data=st.data())
def test_resolve_agrees_with_aiohttps_order_by_brute_force(
    routes: list[tuple[str, str]], data: st.DataObject
) -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    for i, (method, path) in enumerate(routes):
        try:
            router.add_route(method, path, f"route{i}")
        except RuntimeError:
            pass  # that method is already on that resource: nothing added
    aimed = st.sampled_from([path for _, path in routes]).flatmap(_requests_for)
    # Two in three paths are aimed at a registered route, so that routes overlap often.
    paths = st.one_of(aimed, aimed, random_request_paths)
    requests = st.tuples(st.sampled_from(REQUEST_METHODS), paths)
    for method, raw_path in data.draw(st.lists(requests, min_size=1, max_size=20)):
        got = router.resolve(method, raw_path)
        want = _aiohttp_order(router, method, raw_path)
        if isinstance(want, Match):
            assert isinstance(got, Match), (method, raw_path, got, want)
            assert got.route is want.route, (method, raw_path, got, want)
            assert dict(got.match_info) == dict(want.match_info)
        else:
            assert got == want, (method, raw_path, got, want)


# -- middlewares -------------------------------------------------------------------


async def test_compose_runs_first_middleware_outermost() -> None:
    calls: list[str] = []

    async def handler(request: str) -> str:
        calls.append(f"handler {request}")
        return "response"

    async def outer(request: str, handler: Next) -> str:
        calls.append("outer in")
        response = await handler(request + "+outer")
        calls.append("outer out")
        return response + "+outer"

    async def inner(request: str, handler: Next) -> str:
        calls.append("inner in")
        response = await handler(request + "+inner")
        calls.append("inner out")
        return response + "+inner"

    chain = compose([outer, inner], handler)
    assert await chain("req") == "response+inner+outer"
    assert calls == ["outer in", "inner in", "handler req+outer+inner", "inner out", "outer out"]


async def test_middleware_can_answer_without_calling_handler() -> None:
    calls: list[str] = []

    async def handler(request: str) -> str:
        calls.append("handler")
        return "from handler"

    async def refuse(request: str, handler: Next) -> str:
        calls.append("refuse")
        return "refused"

    async def never(request: str, handler: Next) -> str:
        calls.append("never")
        return await handler(request)

    chain = compose([refuse, never], handler)
    assert await chain("req") == "refused"
    assert calls == ["refuse"]


async def test_compose_without_middlewares_returns_handler_result() -> None:
    async def handler(request: str) -> str:
        return f"handled {request}"

    chain = compose([], handler)
    assert await chain("req") == "handled req"


async def test_composed_chain_can_be_called_many_times() -> None:
    count: list[int] = []

    async def handler(request: str) -> str:
        return request.upper()

    async def counting(request: str, handler: Next) -> str:
        count.append(1)
        return await handler(request)

    chain = compose([counting], handler)
    assert [await chain("a"), await chain("b")] == ["A", "B"]
    assert len(count) == 2


def test_middleware_decorator_returns_the_same_function() -> None:
    async def mw(request: str, handler: Next) -> str:
        return await handler(request)

    assert middleware(mw) is mw
    assert getattr(mw, "__middleware_version__", None) == 1
