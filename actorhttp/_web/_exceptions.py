"""The HTTPException family, as aiohttp 3.x has it: each one is also a Response.

Raise one in a handler or middleware and the client gets its status,
headers, cookies and body (``exc = web.HTTPFound(location="/");
exc.set_cookie("AUTH", "secret"); raise exc`` sets the cookie). The body
defaults to ``"<status>: <reason>"``; 204, 205 and 304 carry none.

    HTTPException (a Response and an Exception)
     ├── HTTPSuccessful (2xx): HTTPOk, HTTPCreated, HTTPAccepted, HTTPNoContent, ...
     ├── HTTPRedirection (3xx)
     │    ├── HTTPMove (takes a location): HTTPMultipleChoices, HTTPMovedPermanently,
     │    │        HTTPFound, HTTPSeeOther, HTTPUseProxy, HTTPTemporaryRedirect,
     │    │        HTTPPermanentRedirect
     │    └── HTTPNotModified
     └── HTTPError
          ├── HTTPClientError (4xx): HTTPBadRequest, HTTPNotFound, HTTPMethodNotAllowed,
          │        HTTPRequestEntityTooLarge, HTTPUnavailableForLegalReasons, ...
          └── HTTPServerError (5xx): HTTPInternalServerError, HTTPServiceUnavailable, ...

Also the payload errors a request body can raise: RequestPayloadError (a
400) and PayloadAccessError.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

from yarl import URL

from ._headers import LooseHeaders
from ._response import Response

__all__ = [
    "HTTPAccepted",
    "HTTPBadGateway",
    "HTTPBadRequest",
    "HTTPClientError",
    "HTTPConflict",
    "HTTPCreated",
    "HTTPError",
    "HTTPException",
    "HTTPExpectationFailed",
    "HTTPFailedDependency",
    "HTTPForbidden",
    "HTTPFound",
    "HTTPGatewayTimeout",
    "HTTPGone",
    "HTTPInsufficientStorage",
    "HTTPInternalServerError",
    "HTTPLengthRequired",
    "HTTPMethodNotAllowed",
    "HTTPMisdirectedRequest",
    "HTTPMove",
    "HTTPMovedPermanently",
    "HTTPMultipleChoices",
    "HTTPNetworkAuthenticationRequired",
    "HTTPNoContent",
    "HTTPNonAuthoritativeInformation",
    "HTTPNotAcceptable",
    "HTTPNotExtended",
    "HTTPNotFound",
    "HTTPNotImplemented",
    "HTTPNotModified",
    "HTTPOk",
    "HTTPPartialContent",
    "HTTPPaymentRequired",
    "HTTPPermanentRedirect",
    "HTTPPreconditionFailed",
    "HTTPPreconditionRequired",
    "HTTPProxyAuthenticationRequired",
    "HTTPRedirection",
    "HTTPRequestEntityTooLarge",
    "HTTPRequestHeaderFieldsTooLarge",
    "HTTPRequestRangeNotSatisfiable",
    "HTTPRequestTimeout",
    "HTTPRequestURITooLong",
    "HTTPResetContent",
    "HTTPSeeOther",
    "HTTPServerError",
    "HTTPServiceUnavailable",
    "HTTPSuccessful",
    "HTTPTemporaryRedirect",
    "HTTPTooManyRequests",
    "HTTPUnauthorized",
    "HTTPUnavailableForLegalReasons",
    "HTTPUnprocessableEntity",
    "HTTPUnsupportedMediaType",
    "HTTPUpgradeRequired",
    "HTTPUseProxy",
    "HTTPVariantAlsoNegotiates",
    "HTTPVersionNotSupported",
    "PayloadAccessError",
    "RequestPayloadError",
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


class HTTPBadRequest(HTTPClientError):
    """400 Bad Request. Also what a body that is not JSON gets from ``request.json()``."""

    status_code = 400


class HTTPUnauthorized(HTTPClientError):
    """401 Unauthorized: set ``WWW-Authenticate`` to say how to authenticate."""

    status_code = 401


class HTTPPaymentRequired(HTTPClientError):
    """402 Payment Required."""

    status_code = 402


class HTTPForbidden(HTTPClientError):
    """403 Forbidden."""

    status_code = 403


class HTTPNotFound(HTTPClientError):
    """404 Not Found: what the router answers when no resource matches the path."""

    status_code = 404


class HTTPMethodNotAllowed(HTTPClientError):
    """405, with ``Allow`` listing the methods the resource has."""

    status_code = 405

    def __init__(
        self,
        method: str,
        allowed_methods: Iterable[str],
        *,
        headers: LooseHeaders | None = None,
        reason: str | None = None,
        body: Any = None,
        text: str | None = None,
        content_type: str | None = None,
    ) -> None:
        allowed = set(allowed_methods)
        super().__init__(
            headers=headers, reason=reason, body=body, text=text, content_type=content_type
        )
        self.headers["Allow"] = ",".join(sorted(allowed))
        self.allowed_methods: set[str] = allowed
        self.method = method.upper()


class HTTPNotAcceptable(HTTPClientError):
    """406 Not Acceptable."""

    status_code = 406


class HTTPProxyAuthenticationRequired(HTTPClientError):
    """407 Proxy Authentication Required."""

    status_code = 407


class HTTPRequestTimeout(HTTPClientError):
    """408 Request Timeout. The server sends it itself for a head or body that comes too slowly."""

    status_code = 408


class HTTPConflict(HTTPClientError):
    """409 Conflict."""

    status_code = 409


class HTTPGone(HTTPClientError):
    """410 Gone."""

    status_code = 410


class HTTPLengthRequired(HTTPClientError):
    """411 Length Required."""

    status_code = 411


class HTTPPreconditionFailed(HTTPClientError):
    """412 Precondition Failed (``If-Match``, ``If-Unmodified-Since``)."""

    status_code = 412


class HTTPRequestEntityTooLarge(HTTPClientError):
    """413: the body is larger than ``max_size`` (``actual_size``: what was seen so far)."""

    status_code = 413

    def __init__(self, max_size: float, actual_size: float = 0, **kwargs: Any) -> None:
        kwargs.setdefault("text", f"Maximum request body size {max_size} exceeded.")
        super().__init__(**kwargs)
        self.max_size = max_size
        self.actual_size = actual_size


class HTTPRequestURITooLong(HTTPClientError):
    """414 URI Too Long. The server sends it itself past ``max_request_line``."""

    status_code = 414


class HTTPUnsupportedMediaType(HTTPClientError):
    """415 Unsupported Media Type."""

    status_code = 415


class HTTPRequestRangeNotSatisfiable(HTTPClientError):
    """416 Range Not Satisfiable: the ``Range`` asked for lies outside the resource."""

    status_code = 416


class HTTPExpectationFailed(HTTPClientError):
    """417 Expectation Failed: an ``Expect`` other than ``100-continue``."""

    status_code = 417


class HTTPMisdirectedRequest(HTTPClientError):
    """421 Misdirected Request."""

    status_code = 421


class HTTPUnprocessableEntity(HTTPClientError):
    """422 Unprocessable Content: well-formed, but not what the handler can use."""

    status_code = 422


class HTTPFailedDependency(HTTPClientError):
    """424 Failed Dependency."""

    status_code = 424


class HTTPUpgradeRequired(HTTPClientError):
    """426 Upgrade Required."""

    status_code = 426


class HTTPPreconditionRequired(HTTPClientError):
    """428 Precondition Required."""

    status_code = 428


class HTTPTooManyRequests(HTTPClientError):
    """429 Too Many Requests: set ``Retry-After`` to say when to come back."""

    status_code = 429


class HTTPRequestHeaderFieldsTooLarge(HTTPClientError):
    """431 Request Header Fields Too Large. The server sends it itself past its header limits."""

    status_code = 431


class HTTPUnavailableForLegalReasons(HTTPClientError):
    """451, with a ``Link: <...>; rel="blocked-by"`` when ``link`` is given."""

    status_code = 451

    def __init__(
        self,
        link: StrOrURL | None,
        *,
        headers: LooseHeaders | None = None,
        reason: str | None = None,
        body: Any = None,
        text: str | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(
            headers=headers, reason=reason, body=body, text=text, content_type=content_type
        )
        self._link = URL(link) if link else None
        if self._link is not None:
            self.headers["Link"] = f'<{self._link}>; rel="blocked-by"'

    @property
    def link(self) -> URL | None:
        """The URL given as ``link`` (the blocking authority's), or None."""
        return self._link


class HTTPServerError(HTTPError):
    """5xx."""


class HTTPInternalServerError(HTTPServerError):
    """500 Internal Server Error: what a handler's unexpected exception becomes."""

    status_code = 500


class HTTPNotImplemented(HTTPServerError):
    """501 Not Implemented."""

    status_code = 501


class HTTPBadGateway(HTTPServerError):
    """502 Bad Gateway."""

    status_code = 502


class HTTPServiceUnavailable(HTTPServerError):
    """503 Service Unavailable. The server sends it, with ``Retry-After``, past ``max_queued``."""

    status_code = 503


class HTTPGatewayTimeout(HTTPServerError):
    """504 Gateway Timeout. The router sends it itself past a ``handler_timeout``."""

    status_code = 504


class HTTPVersionNotSupported(HTTPServerError):
    """505 HTTP Version Not Supported."""

    status_code = 505


class HTTPVariantAlsoNegotiates(HTTPServerError):
    """506 Variant Also Negotiates."""

    status_code = 506


class HTTPInsufficientStorage(HTTPServerError):
    """507 Insufficient Storage."""

    status_code = 507


class HTTPNotExtended(HTTPServerError):
    """510 Not Extended."""

    status_code = 510


class HTTPNetworkAuthenticationRequired(HTTPServerError):
    """511 Network Authentication Required."""

    status_code = 511


class RequestPayloadError(HTTPBadRequest):
    """The request body could not be read: cut short, or malformed (unanswered, a 400)."""

    def __init__(self, message: str = "Payload error", **kwargs: Any) -> None:
        kwargs.setdefault("text", message)
        super().__init__(**kwargs)


class PayloadAccessError(Exception):
    """The request body was asked for after the request had been answered."""
