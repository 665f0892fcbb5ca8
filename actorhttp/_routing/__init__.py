"""Sans-IO routing: patterns, resources and routes, the route index, middlewares.

``UrlDispatcher`` resolves in aiohttp's order (see ``_dispatcher``'s docstring)
through a segment trie (``_index``), so the cost of a request does not grow
with the number of routes.

Imports no trio and no transport: everything here is plain data and
functions, tested without a network.
"""

from ._dispatcher import Match, MethodNotAllowed, NotFound, Resolution, UrlDispatcher
from ._middleware import Middleware, compose, compose_layers, is_new_style, middleware
from ._pattern import Pattern, parse_pattern, routing_path
from ._prefix import PrefixResource
from ._resources import (
    METH_ANY,
    DynamicResource,
    PlainResource,
    Resource,
    ResourceRoute,
    check_method,
    check_timeout,
)
from ._routedef import (
    AbstractRouteDef,
    RouteDef,
    RouteTableDef,
    StaticDef,
)

__all__ = [
    "AbstractRouteDef",
    "RouteDef",
    "RouteTableDef",
    "StaticDef",
    "METH_ANY",
    "DynamicResource",
    "Match",
    "MethodNotAllowed",
    "Middleware",
    "NotFound",
    "Pattern",
    "PlainResource",
    "PrefixResource",
    "Resolution",
    "Resource",
    "ResourceRoute",
    "UrlDispatcher",
    "check_method",
    "check_timeout",
    "compose",
    "compose_layers",
    "is_new_style",
    "middleware",
    "parse_pattern",
    "routing_path",
]
