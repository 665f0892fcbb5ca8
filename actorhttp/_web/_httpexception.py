"""The root of the HTTPException family, its branches, and the statuses that are not errors.

The 4xx and 5xx classes, and the payload errors, live in ``_exceptions``,
which also re-exports everything here: import from there.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from yarl import URL

from ._headers import LooseHeaders
from ._response import Response

__all__ = [
    "HTTPAccepted",
    "HTTPClientError",
    "HTTPCreated",
    "HTTPError",
    "HTTPException",
    "HTTPFound",
    "HTTPMove",
    "HTTPMovedPermanently",
    "HTTPMultipleChoices",
    "HTTPNoContent",
    "HTTPNonAuthoritativeInformation",
    "HTTPNotModified",
    "HTTPOk",
    "HTTPPartialContent",
    "HTTPPermanentRedirect",
    "HTTPRedirection",
    "HTTPResetContent",
    "HTTPSeeOther",
    "HTTPServerError",
    "HTTPSuccessful",
    "HTTPTemporaryRedirect",
    "HTTPUseProxy",
]

StrOrURL = str | URL


class HTTPException(Response, Exception):
    """A response you raise. ``status_code`` is set by each concrete class."""

    status_code: ClassVar[int] = -1
    empty_body: ClassVar[bool] = False
    __http_exception__ = True

    def __init__(
        self,
        *,
        headers: LooseHeaders | None = None,
        reason: str | None = None,
        body: Any = None,
        text: str | None = None,
        content_type: str | None = None,
    ) -> None:
        if type(self).status_code < 0:
            raise TypeError(f"{type(self).__name__} has no status; raise one of its subclasses")
        if body is not None:
            warnings.warn(
                "body argument is deprecated for http web exceptions",
                DeprecationWarning,
                stacklevel=2,
            )
        Response.__init__(
            self,
            status=self.status_code,
            headers=headers,
            reason=reason,
            body=body,
            text=text,
            content_type=content_type,
        )
        Exception.__init__(self, self.reason)
        if self.body is None and not self.empty_body:
            self.text = f"{self.status}: {self.reason}"

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.status} {self.reason}>"


class HTTPError(HTTPException):
    """4xx and 5xx."""


class HTTPRedirection(HTTPException):
    """3xx."""


class HTTPSuccessful(HTTPException):
    """2xx."""


class HTTPOk(HTTPSuccessful):
    """200 OK."""

    status_code = 200


class HTTPCreated(HTTPSuccessful):
    """201 Created: set ``Location`` to the new resource's URL if it has one."""

    status_code = 201


class HTTPAccepted(HTTPSuccessful):
    """202 Accepted: taken for processing, not yet done."""

    status_code = 202


class HTTPNonAuthoritativeInformation(HTTPSuccessful):
    """203 Non-Authoritative Information."""

    status_code = 203


class HTTPNoContent(HTTPSuccessful):
    """204 No Content: sent with no body, whatever ``text`` says."""

    status_code = 204
    empty_body = True


class HTTPResetContent(HTTPSuccessful):
    """205 Reset Content: sent with no body."""

    status_code = 205
    empty_body = True


class HTTPPartialContent(HTTPSuccessful):
    """206 Partial Content: a range of the resource."""

    status_code = 206


class HTTPMove(HTTPRedirection):
    """A redirect: ``location`` (a str or a yarl.URL) goes in the ``Location`` header."""

    def __init__(
        self,
        location: StrOrURL,
        *,
        headers: LooseHeaders | None = None,
        reason: str | None = None,
        body: Any = None,
        text: str | None = None,
        content_type: str | None = None,
    ) -> None:
        if not location:
            raise ValueError("HTTP redirects need a location to redirect to.")
        super().__init__(
            headers=headers, reason=reason, body=body, text=text, content_type=content_type
        )
        self.headers["Location"] = str(URL(location))
        self.location = location


class HTTPMultipleChoices(HTTPMove):
    """300 Multiple Choices; ``location`` is the preferred choice."""

    status_code = 300


class HTTPMovedPermanently(HTTPMove):
    """301 Moved Permanently to ``location``."""

    status_code = 301


class HTTPFound(HTTPMove):
    """302 Found: a redirect to ``location`` (cookies set on it go out with it)."""

    status_code = 302


class HTTPSeeOther(HTTPMove):
    """303 See Other: after a POST, ``location`` is fetched with GET."""

    status_code = 303


class HTTPNotModified(HTTPRedirection):
    """304 Not Modified: the client's cached copy is current; sent with no body."""

    status_code = 304
    empty_body = True


class HTTPUseProxy(HTTPMove):
    """305 Use Proxy (deprecated by RFC 9110, kept as aiohttp has it)."""

    status_code = 305


class HTTPTemporaryRedirect(HTTPMove):
    """307 Temporary Redirect to ``location``, with the same method and body."""

    status_code = 307


class HTTPPermanentRedirect(HTTPMove):
    """308 Permanent Redirect to ``location``, with the same method and body."""

    status_code = 308


class HTTPClientError(HTTPError):
    """4xx."""


class HTTPServerError(HTTPError):
    """5xx."""
