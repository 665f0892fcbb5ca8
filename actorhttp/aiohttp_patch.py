"""Run aiohttp's server plugins on actorhttp: ``import actorhttp.aiohttp_patch`` first.

aiohttp's plugins (aiohttp_jinja2, aiohttp_session, aiohttp_security,
aiohttp_cors, aiohttp_debugtoolbar, aiohttp-apispec, aiohttp_remotes...)
import ``aiohttp.web``, build its responses and exceptions, and check
``isinstance`` against its classes. Imported as a program's first line,
before any of them, this module makes aiohttp's server-side modules resolve
to actorhttp's, as ``quart.flask_patch`` does for Flask's extensions on
Quart::

    import actorhttp.aiohttp_patch  # noqa: F401  (first: before any plugin)

    import aiohttp_jinja2
    from aiohttp import web          # actorhttp's web, under aiohttp's name

What it changes, in ``sys.modules`` and on the ``aiohttp`` package:

* ``aiohttp.web`` and every ``aiohttp.web_*`` module behind it hold
  actorhttp's objects under aiohttp's names (``aiohttp.web.Response is
  actorhttp.web.Response``); a name actorhttp does not have (the asyncio
  runner layer: ``AppRunner``, ``TCPSite``...) raises ``AttributeError``
  saying what to use instead;
* ``aiohttp.hdrs`` and ``aiohttp.typedefs`` are :mod:`actorhttp.hdrs` and
  :mod:`actorhttp.typedefs`; ``aiohttp.abc`` holds :mod:`actorhttp.abc`'s
  classes, and aiohttp's own client-side ones beside them;
* ``aiohttp.WSMsgType`` and ``aiohttp.WSCloseCode`` are actorhttp's (int
  enums: their members still equal aiohttp's);
* ``aiohttp_sse`` (asyncio-bound) is :mod:`actorhttp.sse`, its API on trio,
  unless the real one was imported first.

Everything else of aiohttp stays aiohttp's: its client (``ClientSession``,
``ClientWebSocketResponse``, ``aiohttp.WebSocketError``, ``aiohttp.WSMessage``...),
``aiohttp.helpers``, its payloads and multipart writer. So aiohttp must be
installed (the plugins require it anyway), and its client works as before,
on asyncio.

Importing it again does nothing. It raises ``ImportError`` when aiohttp's
server modules were imported before it (then a plugin may already hold
aiohttp's own classes), naming them. Limits: a plugin still runs its own
code, so one that starts asyncio tasks or calls aiohttp's runner (such as
aiohttp_sse, or aiohttp's ``pytest_plugin`` and ``test_utils``) does not
work on trio; see the "aiohttp's plugins" section of the documentation.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import actorhttp as _actorhttp

from . import abc as _abc
from . import hdrs as _hdrs
from . import sse as _sse
from . import typedefs as _typedefs
from . import web as _web

__all__ = ["PATCHED_MODULES"]

# aiohttp 3.x's web_* modules and the names each exports (its __all__) that actorhttp has.
_WEB_MODULES: dict[str, tuple[str, ...]] = {
    "web_app": ("Application", "CleanupError"),
    "web_exceptions": tuple(name for name in _web.__all__ if name.startswith("HTTP")),
    "web_fileresponse": ("FileResponse",),
    "web_log": ("AccessLogger",),
    "web_middlewares": ("middleware", "normalize_path_middleware"),
    "web_protocol": ("RequestPayloadError", "PayloadAccessError"),
    "web_request": ("BaseRequest", "FileField", "Request"),
    "web_response": (
        "ContentCoding",
        "StreamResponse",
        "Response",
        "json_response",
        "json_bytes_response",
    ),
    "web_routedef": (
        "AbstractRouteDef",
        "RouteDef",
        "StaticDef",
        "RouteTableDef",
        "head",
        "options",
        "get",
        "post",
        "patch",
        "put",
        "delete",
        "route",
        "view",
        "static",
    ),
    "web_runner": ("GracefulExit",),
    "web_server": (),
    "web_urldispatcher": (
        "UrlDispatcher",
        "UrlMappingMatchInfo",
        "AbstractResource",
        "Resource",
        "PlainResource",
        "DynamicResource",
        "AbstractRoute",
        "ResourceRoute",
        "StaticResource",
        "PrefixedSubAppResource",
        "View",
    ),
    "web_ws": ("WebSocketResponse", "WebSocketReady", "WSMsgType"),
}

# What aiohttp.web has and actorhttp has not, and what to use instead.
_RUNNER_LAYER = frozenset(
    {
        "AppRunner",
        "BaseRunner",
        "BaseSite",
        "NamedPipeSite",
        "RequestHandler",
        "Server",
        "ServerRunner",
        "SockSite",
        "TCPSite",
        "UnixSite",
    }
)
_INSTEAD = (
    "it is aiohttp's asyncio runner layer, which actorhttp replaces: serve with "
    "web.run_app(app) or, inside a trio program, "
    "`server = await nursery.start(actorhttp.serve, app, host, port)`"
)

_TOP_LEVEL = ("WSMsgType", "WSCloseCode")
_MARK = "__actorhttp_patch__"

PATCHED_MODULES: tuple[str, ...] = (
    "aiohttp.web",
    *(f"aiohttp.{name}" for name in _WEB_MODULES),
    "aiohttp.abc",
    "aiohttp.hdrs",
    "aiohttp.typedefs",
)
"""The names in ``sys.modules`` that resolve to actorhttp's once this module is imported."""


def _server_module(name: str, names: tuple[str, ...] | list[str], doc: str) -> ModuleType:
    module = ModuleType(name, doc)
    for each in names:
        setattr(module, each, getattr(_actorhttp, each))
    module.__all__ = list(names)  # type: ignore[attr-defined]
    setattr(module, _MARK, True)

    def __getattr__(attribute: str) -> Any:
        if attribute in _RUNNER_LAYER:
            raise AttributeError(f"{name}.{attribute} is not there under actorhttp: {_INSTEAD}")
        raise AttributeError(
            f"module {name!r} has no attribute {attribute!r} "
            "(actorhttp.aiohttp_patch: actorhttp has no such server name)"
        )

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def _already_imported() -> list[str]:
    return sorted(
        name
        for name, module in sys.modules.items()
        if (name == "aiohttp.web" or name.startswith("aiohttp.web_"))
        and not getattr(module, _MARK, False)
    )


def _named(modules: list[str]) -> str:
    if len(modules) == 1:
        return f"{modules[0]} is"
    shown = ", ".join(modules[:3])
    more = f" and {len(modules) - 3} more" if len(modules) > 3 else ""
    return f"{shown}{more} are"


def _patch() -> None:
    if getattr(sys.modules.get("aiohttp.web"), _MARK, False):
        return  # already done (this module was reloaded, or imported under another name)
    early = _already_imported()
    if early:
        raise ImportError(
            f"actorhttp.aiohttp_patch must be imported before aiohttp's server modules, "
            f"but {_named(early)} already imported, "
            "so what imported them holds aiohttp's own classes. Make "
            "`import actorhttp.aiohttp_patch` the first import of the program, before "
            "any aiohttp plugin and any `from aiohttp import web`."
        )
    try:
        import aiohttp
        import aiohttp.abc as aiohttp_abc
    except ImportError as exc:
        raise ImportError(
            "actorhttp.aiohttp_patch aliases aiohttp's server modules for aiohttp's plugins, "
            "which import aiohttp: install aiohttp (its client stays aiohttp's)"
        ) from exc
    # actorhttp.web's names but `serve`, which is actorhttp's own (aiohttp has none).
    web_names = [name for name in _web.__all__ if name != "serve"]
    modules: dict[str, ModuleType] = {
        "web": _server_module(
            "aiohttp.web", web_names, "aiohttp.web's names: actorhttp's objects."
        ),
    }
    for short, names in _WEB_MODULES.items():
        modules[short] = _server_module(
            f"aiohttp.{short}", names, f"aiohttp.{short}'s names: actorhttp's objects."
        )
    abc = ModuleType("aiohttp.abc", "aiohttp.abc: actorhttp.abc's classes, and aiohttp's client's.")
    for name, value in vars(aiohttp_abc).items():
        if getattr(value, "__module__", None) == "aiohttp.abc":
            setattr(abc, name, value)  # the client's ABCs, kept
    for name in _abc.__all__:
        setattr(abc, name, getattr(_abc, name))
    setattr(abc, _MARK, True)
    modules["abc"] = abc
    modules["hdrs"] = _hdrs
    modules["typedefs"] = _typedefs
    for short, module in modules.items():
        sys.modules[f"aiohttp.{short}"] = module
        setattr(aiohttp, short, module)
    for name in _TOP_LEVEL:
        setattr(aiohttp, name, getattr(_actorhttp, name))
    # aiohttp_sse is asyncio-bound: its API on trio is actorhttp.sse (unless already imported).
    sys.modules.setdefault("aiohttp_sse", _sse)


_patch()
