"""The HTTPException family, compared class by class with ``aiohttp.web_exceptions``."""

from __future__ import annotations

import inspect
from typing import Any

import aiohttp.web_exceptions
import pytest
from yarl import URL

from actorhttp import web
from actorhttp._transports._framing import frame

from .test_web_response import wire_cookies

# -- the HTTPException family -------------------------------------------------------


def aiohttp_exceptions() -> dict[str, type[Any]]:
    return {
        name: cls
        for name, cls in vars(aiohttp.web_exceptions).items()
        if inspect.isclass(cls) and issubclass(cls, aiohttp.web_exceptions.HTTPException)
    }


def test_exception_classes_and_statuses_are_aiohttps() -> None:
    theirs = aiohttp_exceptions()
    assert len(theirs) > 50
    for name, their_class in theirs.items():
        ours = getattr(web, name)
        assert ours.status_code == their_class.status_code, name
        their_bases = [c.__name__ for c in their_class.__mro__ if c.__name__.startswith("HTTP")]
        our_bases = [c.__name__ for c in ours.__mro__ if c.__name__.startswith("HTTP")]
        assert our_bases == their_bases, name
        assert issubclass(ours, web.Response)
        assert issubclass(ours, Exception)
    for name in aiohttp.web_exceptions.__all__:
        assert hasattr(web, name), name


@pytest.mark.parametrize(
    "name",
    [n for n, c in aiohttp_exceptions().items() if c.status_code > 0 and n != "HTTPMove"],
)
def test_each_exception_text_body_and_str_as_aiohttp(name: str) -> None:
    their_class, ours_class = aiohttp_exceptions()[name], getattr(web, name)
    args: tuple[Any, ...] = ()
    if issubclass(their_class, aiohttp.web_exceptions.HTTPMove):
        args = ("/there",)
    elif their_class is aiohttp.web_exceptions.HTTPMethodNotAllowed:
        args = ("get", ["POST", "PUT"])
    elif their_class is aiohttp.web_exceptions.HTTPUnavailableForLegalReasons:
        args = ("http://example.com/why",)
    elif their_class is aiohttp.web_exceptions.HTTPRequestEntityTooLarge:
        args = (10, 20)
    theirs, ours = their_class(*args), ours_class(*args)
    assert str(ours) == str(theirs)
    assert ours.text == theirs.text
    assert ours.body == theirs.body
    assert dict(ours.headers) == dict(theirs.headers)
    assert (ours.status, ours.reason) == (theirs.status, theirs.reason)


def test_empty_body_exceptions() -> None:
    for cls in (web.HTTPNoContent, web.HTTPResetContent, web.HTTPNotModified):
        exc = cls()
        assert exc.body is None
        assert exc.text is None
        assert "Content-Type" not in exc.headers
        exc._hand_over()
        wire = frame(exc, "GET")
        assert wire.body == b""
        assert not wire.send_body or cls is web.HTTPResetContent


def test_exception_text_reason_headers() -> None:
    exc = web.HTTPNotFound(reason="Nope", headers={"X-A": "1"})
    assert (str(exc), exc.text, exc.args) == ("Nope", "404: Nope", ("Nope",))
    given = web.HTTPBadRequest(text="<b>no</b>", content_type="text/html")
    assert given.text == "<b>no</b>"
    assert given.headers["Content-Type"] == "text/html; charset=utf-8"
    assert str(given) == "Bad Request"
    with pytest.warns(DeprecationWarning, match="body argument is deprecated"):
        assert web.HTTPNotFound(body=b"raw").body == b"raw"


@pytest.mark.parametrize("location", ["/a b", URL("/a%20b"), URL("http://ex.com/a b?x=1")])
def test_redirects_take_a_str_or_url(location: str | URL) -> None:
    exc = web.HTTPFound(location=location)
    assert exc.location == location
    assert exc.headers["Location"] == str(URL(location))
    assert exc.text == "302: Found"
    for empty in ("", None):
        with pytest.raises(ValueError, match="need a location"):
            web.HTTPSeeOther(location=empty)  # type: ignore[arg-type]


def test_405_allow_as_aiohttp_formats_it() -> None:
    exc = web.HTTPMethodNotAllowed("get", ["POST", "put", "GET"])
    theirs = aiohttp.web_exceptions.HTTPMethodNotAllowed("get", ["POST", "put", "GET"])
    assert exc.headers["Allow"] == theirs.headers["Allow"] == "GET,POST,put"
    assert web.HTTPMethodNotAllowed("get", ["GET", "GET"]).headers["Allow"] == "GET"
    assert exc.method == "GET"
    assert exc.allowed_methods == {"POST", "put", "GET"}


def test_451_link() -> None:
    exc = web.HTTPUnavailableForLegalReasons(link="http://example.org/why")
    assert exc.headers["Link"] == '<http://example.org/why>; rel="blocked-by"'
    assert exc.link == URL("http://example.org/why")
    none = web.HTTPUnavailableForLegalReasons(link=None)
    assert "Link" not in none.headers
    assert none.link is None


def test_cookies_on_an_exception() -> None:
    exc = web.HTTPFound(location="/")
    exc.set_cookie("AUTH", "secret")
    exc.del_cookie("OLD")
    assert wire_cookies(exc) == [
        "AUTH=secret; Path=/",
        'OLD=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
    ]


def test_413_sizes() -> None:
    exc = web.HTTPRequestEntityTooLarge(max_size=10, actual_size=20)
    assert exc.text == "Maximum request body size 10 exceeded."
    assert (exc.max_size, exc.actual_size) == (10, 20)
