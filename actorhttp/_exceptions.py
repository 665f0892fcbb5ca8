"""HTTP exceptions: raise one in a handler or middleware to answer with it.

Imports only the standard library, so every layer (messages, router,
transports) may raise them.

    HTTPException
     ├── HTTPSuccessful (2xx) ── HTTPOk, HTTPCreated, HTTPAccepted, HTTPNoContent
     ├── HTTPRedirection (3xx) ── HTTPMovedPermanently, HTTPFound, HTTPSeeOther,
     │                            HTTPNotModified, HTTPTemporaryRedirect, HTTPPermanentRedirect
     ├── HTTPError
     │    ├── HTTPClientError (4xx) ── HTTPBadRequest, HTTPUnauthorized, HTTPForbidden,
     │    │        HTTPNotFound, HTTPMethodNotAllowed, HTTPRequestTimeout, HTTPConflict,
     │    │        HTTPGone, HTTPLengthRequired, HTTPRequestEntityTooLarge,
     │    │        HTTPUnsupportedMediaType, HTTPUnprocessableEntity, HTTPTooManyRequests,
     │    │        HTTPRequestHeaderFieldsTooLarge
     │    └── HTTPServerError (5xx) ── HTTPInternalServerError, HTTPNotImplemented,
     │             HTTPBadGateway, HTTPServiceUnavailable, HTTPGatewayTimeout
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import ClassVar

__all__ = [
    "HTTPAccepted",
    "HTTPBadGateway",
    "HTTPBadRequest",
    "HTTPClientError",
    "HTTPConflict",
    "HTTPCreated",
    "HTTPError",
    "HTTPException",
    "HTTPForbidden",
    "HTTPFound",
    "HTTPGatewayTimeout",
    "HTTPGone",
    "HTTPInternalServerError",
    "HTTPLengthRequired",
    "HTTPMethodNotAllowed",
    "HTTPMovedPermanently",
    "HTTPNoContent",
    "HTTPNotFound",
    "HTTPNotImplemented",
    "HTTPNotModified",
    "HTTPOk",
    "HTTPPermanentRedirect",
    "HTTPRedirection",
    "HTTPRequestEntityTooLarge",
    "HTTPRequestHeaderFieldsTooLarge",
    "HTTPRequestTimeout",
    "HTTPSeeOther",
    "HTTPServerError",
    "HTTPServiceUnavailable",
    "HTTPSuccessful",
    "HTTPTemporaryRedirect",
    "HTTPTooManyRequests",
    "HTTPUnauthorized",
    "HTTPUnprocessableEntity",
    "HTTPUnsupportedMediaType",
]

HeaderItems = Mapping[str, str] | Iterable[tuple[str, str]]


class HTTPException(Exception):
    """An HTTP answer raised as an exception; the server sends its status, headers and text.

    ``text`` defaults to "<status> <reason>"; statuses that carry no body
    (1xx, 204, 304) send none.
    """

    status_code: ClassVar[int] = 0

    def __init__(
        self,
        *,
        headers: HeaderItems | None = None,
        reason: str | None = None,
        text: str | None = None,
        content_type: str = "text/plain",
    ) -> None:
        if type(self).status_code == 0:
            raise TypeError(f"{type(self).__name__} has no status; raise one of its subclasses")
        phrase = HTTPStatus(self.status_code).phrase
        self.reason = phrase if reason is None else reason
        if text is None:
            text = f"{self.status_code}: {self.reason}" if self.allows_body else ""
        self.text = text
        self.content_type = content_type
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
        self.headers: list[tuple[str, str]] = list(items)
        super().__init__(f"{self.status_code}: {self.reason}")

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def allows_body(self) -> bool:
        return self.status_code >= 200 and self.status_code not in (204, 304)


class HTTPSuccessful(HTTPException):
    """2xx."""


class HTTPOk(HTTPSuccessful):
    status_code = 200


class HTTPCreated(HTTPSuccessful):
    status_code = 201


class HTTPAccepted(HTTPSuccessful):
    status_code = 202


class HTTPNoContent(HTTPSuccessful):
    status_code = 204


class HTTPRedirection(HTTPException):
    """3xx that carry a ``Location``."""

    def __init__(self, location: str, **kwargs: object) -> None:
        if not location:
            raise ValueError("a redirect needs a non-empty location")
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.location = location
        self.headers.append(("Location", location))


class HTTPMovedPermanently(HTTPRedirection):
    status_code = 301


class HTTPFound(HTTPRedirection):
    status_code = 302


class HTTPSeeOther(HTTPRedirection):
    status_code = 303


class HTTPNotModified(HTTPException):
    status_code = 304


class HTTPTemporaryRedirect(HTTPRedirection):
    status_code = 307


class HTTPPermanentRedirect(HTTPRedirection):
    status_code = 308


class HTTPError(HTTPException):
    """4xx and 5xx."""


class HTTPClientError(HTTPError):
    """4xx."""


class HTTPBadRequest(HTTPClientError):
    status_code = 400


class HTTPUnauthorized(HTTPClientError):
    status_code = 401


class HTTPForbidden(HTTPClientError):
    status_code = 403


class HTTPNotFound(HTTPClientError):
    status_code = 404


class HTTPMethodNotAllowed(HTTPClientError):
    """405, with the ``Allow`` header built from the methods the resource has."""

    status_code = 405

    def __init__(self, method: str, allowed_methods: Iterable[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.method = method.upper()
        self.allowed_methods = frozenset(allowed_methods)
        self.headers.append(("Allow", ", ".join(sorted(self.allowed_methods))))


class HTTPRequestTimeout(HTTPClientError):
    status_code = 408


class HTTPConflict(HTTPClientError):
    status_code = 409


class HTTPGone(HTTPClientError):
    status_code = 410


class HTTPLengthRequired(HTTPClientError):
    status_code = 411


class HTTPRequestEntityTooLarge(HTTPClientError):
    """413: the body is larger than ``max_size``; ``actual_size`` is what was seen so far."""

    status_code = 413

    def __init__(self, max_size: int, actual_size: int, **kwargs: object) -> None:
        kwargs.setdefault(
            "text",
            f"Maximum request body size {max_size} exceeded, actual body size {actual_size}",
        )
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_size = max_size
        self.actual_size = actual_size


class HTTPUnsupportedMediaType(HTTPClientError):
    status_code = 415


class HTTPUnprocessableEntity(HTTPClientError):
    status_code = 422


class HTTPTooManyRequests(HTTPClientError):
    status_code = 429


class HTTPRequestHeaderFieldsTooLarge(HTTPClientError):
    status_code = 431


class HTTPServerError(HTTPError):
    """5xx."""


class HTTPInternalServerError(HTTPServerError):
    status_code = 500


class HTTPNotImplemented(HTTPServerError):
    status_code = 501


class HTTPBadGateway(HTTPServerError):
    status_code = 502


class HTTPServiceUnavailable(HTTPServerError):
    status_code = 503


class HTTPGatewayTimeout(HTTPServerError):
    status_code = 504
