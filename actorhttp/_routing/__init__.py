"""Sans-IO routing: patterns, resources and routes, the route index, middlewares.

``UrlDispatcher`` resolves in aiohttp's order (see ``_dispatcher``'s docstring)
through a segment trie (``_index``), so the cost of a request does not grow
with the number of routes.

Imports no trio and no transport: everything here is plain data and
functions, tested without a network.
"""

from ._dispatcher import Match, MethodNotAllowed, NotFound, Resolution, UrlDispatcher
from ._middleware import Middleware, compose, middleware
from ._pattern import Pattern, parse_pattern, routing_path
from ._prefix import PrefixResource
from ._resources import (
    METH_ANY,
    DynamicResource,
    PlainResource,
    Resource,
    ResourceRoute,
    check_method,
)

__all__ = [
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
    "compose",
    "middleware",
    "parse_pattern",
    "routing_path",
]
