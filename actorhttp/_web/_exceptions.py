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
400) and PayloadAccessError. The 4xx and 5xx classes are defined here; the
root, the branches and the 2xx and 3xx classes in ``_httpexception``, and
this module re-exports them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yarl import URL

from ._headers import LooseHeaders
from ._httpexception import (
    HTTPAccepted,
    HTTPClientError,
    HTTPCreated,
    HTTPError,
    HTTPException,
    HTTPFound,
    HTTPMove,
    HTTPMovedPermanently,
    HTTPMultipleChoices,
    HTTPNoContent,
    HTTPNonAuthoritativeInformation,
    HTTPNotModified,
    HTTPOk,
    HTTPPartialContent,
    HTTPPermanentRedirect,
    HTTPRedirection,
    HTTPResetContent,
    HTTPSeeOther,
    HTTPServerError,
    HTTPSuccessful,
    HTTPTemporaryRedirect,
    HTTPUseProxy,
    StrOrURL,
)

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
