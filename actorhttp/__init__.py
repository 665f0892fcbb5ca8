"""actorhttp: aiohttp's server model for trio, built as actors over memory channels.

``from actorhttp import web`` gives aiohttp.web's server names (see
``actorhttp.web``); the same objects are here at the top level, beside the
actor layer: ``http_driver``, ``serve`` and ``Server``, ``MinDataRate`` for
the slow-client settings, ``supervise`` (with ``RestartBudget`` and
``SupervisionError``) to restart an actor with its mailbox, ``NamedActor``
(what ``app.add_actor(..., cluster_name=...)`` returns), ``open_room`` and
``Room`` for WebSocket rooms across workers, ``actorhttp.broker`` for the
broker that joins processes (topics, presence, named actors),
``proxy_headers_middleware`` to take a trusted proxy's word for the client,
and ``actorhttp.messages`` for the messages themselves. As in aiohttp, the
WebSocket close codes, messages and errors (``WSCloseCode``, ``WSMessage``,
``WebSocketError``, ``WSMessageTypeError``) and the response bodies of the
payload system (``Payload``, ``get_payload``) and the multipart readers
(``MultipartReader``, ``BodyPartReader``) are top-level names only.
``actorhttp.testing`` holds test helpers (``SyncClient`` for plain tests),
``actorhttp.test_utils`` aiohttp's ``TestServer``/``TestClient`` on trio, and
``actorhttp.pytest_plugin`` the pytest fixtures (registered by entry point);
``actorhttp.__version__`` is the installed distribution's version.
"""

# As aiohttp's package: `import actorhttp` then `actorhttp.hdrs.CONTENT_TYPE` works.
from . import hdrs as hdrs
from ._accesslog import AbstractAccessLogger, AccessLogger
from ._actors import NamedActor, Room, open_room
from ._app import (
    Application,
    AppRouter,
)
from ._driver import http_driver
from ._lifecycle import CleanupError, GracefulExit
from ._middlewares import normalize_path_middleware
from ._proxy import proxy_headers_middleware
from ._routing import (
    DynamicResource,
    PlainResource,
    Resource,
    ResourceRoute,
    UrlDispatcher,
    middleware,
)
from ._routing._matchinfo import UrlMappingMatchInfo
from ._routing._resources import AbstractResource, AbstractRoute
from ._routing._routedef import (
    AbstractRouteDef,
    RouteDef,
    RouteTableDef,
    StaticDef,
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
    route,
    static,
    view,
)
from ._routing._subapp import PrefixedSubAppResource
from ._serve import (
    Server,
    run_app,
    serve,
)
from ._static import StaticResource
from ._supervise import RestartBudget, SupervisionError, supervise
from ._web._exceptions import (
    HTTPAccepted,
    HTTPBadGateway,
    HTTPBadRequest,
    HTTPClientError,
    HTTPConflict,
    HTTPCreated,
    HTTPError,
    HTTPException,
    HTTPExpectationFailed,
    HTTPFailedDependency,
    HTTPForbidden,
    HTTPFound,
    HTTPGatewayTimeout,
    HTTPGone,
    HTTPInsufficientStorage,
    HTTPInternalServerError,
    HTTPLengthRequired,
    HTTPMethodNotAllowed,
    HTTPMisdirectedRequest,
    HTTPMove,
    HTTPMovedPermanently,
    HTTPMultipleChoices,
    HTTPNetworkAuthenticationRequired,
    HTTPNoContent,
    HTTPNonAuthoritativeInformation,
    HTTPNotAcceptable,
    HTTPNotExtended,
    HTTPNotFound,
    HTTPNotImplemented,
    HTTPNotModified,
    HTTPOk,
    HTTPPartialContent,
    HTTPPaymentRequired,
    HTTPPermanentRedirect,
    HTTPPreconditionFailed,
    HTTPPreconditionRequired,
    HTTPProxyAuthenticationRequired,
    HTTPRedirection,
    HTTPRequestEntityTooLarge,
    HTTPRequestHeaderFieldsTooLarge,
    HTTPRequestRangeNotSatisfiable,
    HTTPRequestTimeout,
    HTTPRequestURITooLong,
    HTTPResetContent,
    HTTPSeeOther,
    HTTPServerError,
    HTTPServiceUnavailable,
    HTTPSuccessful,
    HTTPTemporaryRedirect,
    HTTPTooManyRequests,
    HTTPUnauthorized,
    HTTPUnavailableForLegalReasons,
    HTTPUnprocessableEntity,
    HTTPUnsupportedMediaType,
    HTTPUpgradeRequired,
    HTTPUseProxy,
    HTTPVariantAlsoNegotiates,
    HTTPVersionNotSupported,
    PayloadAccessError,
    RequestPayloadError,
)
from ._web._fileresponse import FileResponse
from ._web._headers import Headers
from ._web._helpers import (
    AppKey,
    NotAppKeyWarning,
    RequestKey,
    ResponseKey,
)
from ._web._multipart import BodyPartReader, FileField, MultipartReader
from ._web._payload import Payload, get_payload
from ._web._request import (
    BaseRequest,
    Request,
)
from ._web._response import (
    ContentCoding,
    Response,
    StreamResponse,
    json_bytes_response,
    json_response,
)
from ._web._view import View
from ._web._ws import WebSocketResponse
from ._web._wsmodels import (
    WebSocketError,
    WebSocketReady,
    WSCloseCode,
    WSMessage,
    WSMessageTypeError,
    WSMsgType,
)
from .messages import MinDataRate

__all__ = [
    "AbstractResource",
    "AbstractRoute",
    "AbstractRouteDef",
    "AppKey",
    "AbstractAccessLogger",
    "AccessLogger",
    "AppRouter",
    "MinDataRate",
    "MultipartReader",
    "RestartBudget",
    "SupervisionError",
    "Application",
    "BaseRequest",
    "BodyPartReader",
    "CleanupError",
    "ContentCoding",
    "DynamicResource",
    "FileField",
    "FileResponse",
    "GracefulExit",
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
    "Headers",
    "NotAppKeyWarning",
    "Payload",
    "PayloadAccessError",
    "PlainResource",
    "PrefixedSubAppResource",
    "Request",
    "RequestKey",
    "RequestPayloadError",
    "Resource",
    "ResourceRoute",
    "Response",
    "ResponseKey",
    "RouteDef",
    "RouteTableDef",
    "Server",
    "StaticDef",
    "StaticResource",
    "StreamResponse",
    "UrlDispatcher",
    "UrlMappingMatchInfo",
    "View",
    "WSCloseCode",
    "WSMessage",
    "WSMessageTypeError",
    "WSMsgType",
    "WebSocketError",
    "WebSocketReady",
    "WebSocketResponse",
    "delete",
    "get",
    "get_payload",
    "head",
    "http_driver",
    "json_bytes_response",
    "json_response",
    "middleware",
    "normalize_path_middleware",
    "options",
    "patch",
    "post",
    "proxy_headers_middleware",
    "put",
    "route",
    "run_app",
    "serve",
    "static",
    "supervise",
    "view",
    "NamedActor",
    "Room",
    "open_room",
]


def _fix_module_names() -> None:
    """Show public objects under their public path (``actorhttp.web.Response``), as trio does."""
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("actorhttp._"):
            try:
                obj.__module__ = "actorhttp.web" if name in _WEB_NAMES else "actorhttp"
            except (AttributeError, TypeError):
                pass


_WEB_NAMES = frozenset(
    {
        "AbstractResource",
        "AbstractRoute",
        "AbstractRouteDef",
        "AppKey",
        "Application",
        "BaseRequest",
        "CleanupError",
        "ContentCoding",
        "DynamicResource",
        "FileField",
        "FileResponse",
        "GracefulExit",
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
        "NotAppKeyWarning",
        "PayloadAccessError",
        "PlainResource",
        "PrefixedSubAppResource",
        "Request",
        "RequestKey",
        "RequestPayloadError",
        "Resource",
        "ResourceRoute",
        "Response",
        "ResponseKey",
        "RouteDef",
        "RouteTableDef",
        "StaticDef",
        "StaticResource",
        "StreamResponse",
        "UrlDispatcher",
        "UrlMappingMatchInfo",
        "View",
        "WSMsgType",
        "WebSocketReady",
        "WebSocketResponse",
        "delete",
        "get",
        "head",
        "json_bytes_response",
        "json_response",
        "middleware",
        "normalize_path_middleware",
        "options",
        "patch",
        "post",
        "put",
        "route",
        "run_app",
        "serve",
        "static",
        "view",
    }
)
_fix_module_names()


def _installed_version() -> str:
    """The installed distribution's version, which pip took from pyproject.toml."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("actorhttp")
    except PackageNotFoundError:
        # Imported from a source tree that was never installed (PYTHONPATH=..., a vendored
        # copy): there is no metadata to read, and guessing one from the tree could lie.
        # "0+unknown" is still a valid PEP 440 version, below every release, so code that
        # compares versions keeps working instead of failing at import.
        return "0+unknown"


# Not in __all__, as in trio and aiohttp: a star import brings the API, not the version.
__version__: str = _installed_version()
