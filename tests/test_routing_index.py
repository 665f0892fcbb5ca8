"""Percent-decoding at the edges of routing: literal text in routing form, url_for round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actorhttp._routing import Match, Resolution, UrlDispatcher


def _match(resolution: Resolution[str]) -> Match[str]:
    assert isinstance(resolution, Match), resolution
    return resolution


def _target(router: UrlDispatcher[str], method: str, path: str) -> str:
    return _match(router.resolve(method, path)).route.target


def test_dynamic_literal_text_matches_in_routing_form() -> None:
    router: UrlDispatcher[str] = UrlDispatcher()
    router.add_get("/caf%C3%A9/{x}", "cafe")
    assert _match(router.resolve("GET", "/café/1")).match_info == {"x": "1"}
    assert _target(router, "GET", "/caf%c3%a9/1") == "cafe"


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
            match = _match(router.resolve("GET", resource.url_for(name=value)))
            assert (match.route.target, match.match_info) == (target, {"name": value})
    tail_resource = router.resources()[2]
    if "\n" in tail:  # "." does not match a newline
        with pytest.raises(ValueError, match="does not match"):
            tail_resource.url_for(tail=tail)
    else:
        match = _match(router.resolve("GET", tail_resource.url_for(tail=tail)))
        assert (match.route.target, match.match_info) == ("tail", {"tail": tail})
