"""The public surface, pinned, and the arrows between layers that must never exist."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import aiohttp.test_utils
import aiohttp.web

import actorhttp
import actorhttp.messages
import actorhttp.test_utils
from actorhttp import web

PACKAGE = Path(actorhttp.__file__).parent

# aiohttp.web's names left out on purpose: its asyncio runner and site layer.
RUNNER_LAYER = {
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
# aiohttp.web's names that later work (routing parity, WebSockets) brings.
NOT_YET: set[str] = set()  # none left: routing parity and WebSockets are in
# Ours, beyond aiohttp.web: how a trio program serves (see actorhttp.web's docstring).
WEB_EXTRAS = {"serve"}
TOP_LEVEL_EXTRAS = {
    "AbstractAccessLogger",
    "AccessLogger",
    "AppRouter",
    "MinDataRate",
    "NamedActor",
    "RestartBudget",
    "Room",
    "open_room",
    "SupervisionError",
    "supervise",
    "Headers",
    "Server",
    "http_driver",
    "proxy_headers_middleware",  # aiohttp has none (aiohttp-remotes is a separate package)
    # aiohttp's top-level WebSocket names, not in aiohttp.web either:
    "WSCloseCode",
    "WSMessage",
    "WSMessageTypeError",
    "WebSocketError",
    # aiohttp's top-level payload names: bodies that are files, streams, parts.
    "Payload",
    "get_payload",
    # aiohttp's top-level multipart readers: what request.multipart() gives.
    "MultipartReader",
    "BodyPartReader",
}


def test_web_has_aiohttp_server_names_but_the_runner_layer() -> None:
    expected = (set(aiohttp.web.__all__) - RUNNER_LAYER - NOT_YET) | WEB_EXTRAS
    assert sorted(web.__all__) == sorted(expected)
    assert len(web.__all__) == len(set(web.__all__))


def test_web_names_are_the_top_level_objects() -> None:
    for name in web.__all__:
        assert getattr(web, name) is getattr(actorhttp, name), name


def test_top_level_names_are_pinned() -> None:
    assert sorted(actorhttp.__all__) == sorted(set(web.__all__) | TOP_LEVEL_EXTRAS)


def test_public_objects_show_their_public_module() -> None:
    assert repr(web.Response) == "<class 'actorhttp.web.Response'>"
    for name in actorhttp.__all__:
        module = getattr(getattr(actorhttp, name), "__module__", "actorhttp")
        assert module in ("actorhttp", "actorhttp.web", "actorhttp.messages"), (name, module)


def test_message_names_are_pinned() -> None:
    assert set(actorhttp.messages.__all__) == {
        "AddRoute",
        "CancelRequests",
        "Command",
        "CommandFailed",
        "Event",
        "Handler",
        "Mailbox",
        "MinDataRate",
        "Reply",
        "ReplyError",
        "ReplyReceiver",
        "Request",
        "Response",
        "ServerStarted",
        "ServerStopped",
        "StartServer",
        "StopServer",
        "StreamResponse",
        "Target",
        "TransportName",
        "WSMessage",
        "WebSocketConnection",
        "WebSocketInbox",
        "WebSocketMailbox",
        "WebSocketOutbox",
        "open_reply",
    }
    assert actorhttp.messages.Request is web.Request  # handlers and actors share it
    assert actorhttp.messages.Response is web.Response


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = ".".join(parts[:-1])  # for __init__.py too: its package is its folder
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            name = node.module or ""
            found.add(f"{base}.{name}".rstrip(".") if node.level else name)
    return found


def third_party(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] not in sys.stdlib_module_names | {"actorhttp"}}


def layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") else ""


def test_routing_imports_no_trio_and_no_other_layer() -> None:
    for path in (PACKAGE / "_routing").glob("*.py"):
        names = imports_of(path)
        # Sans-IO: no trio, no transport; yarl only, for url_for's yarl.URL (as aiohttp).
        assert third_party(names) <= {"yarl"}, (path.name, third_party(names))
        ours = {n for n in names if n.startswith("actorhttp")}
        assert all(n.startswith("actorhttp._routing") for n in ours), (path.name, ours)


def test_messages_import_only_stdlib_trio_and_value_types() -> None:
    names = imports_of(PACKAGE / "messages.py")
    assert third_party(names) == {"trio"}
    ours = {n for n in names if n.startswith("actorhttp")}
    assert ours <= {
        "actorhttp._reply",
        "actorhttp._web._request",
        "actorhttp._web._response",
        "actorhttp._web._wschannels",
        "actorhttp._web._wsoutbox",
        "actorhttp._web._wsmodels",
    }


def test_web_layer_never_imports_actors_transports_or_app() -> None:
    for path in (PACKAGE / "_web").glob("*.py"):
        ours = {layer(n) for n in imports_of(path) if n.startswith("actorhttp")}
        # _routing is sans-IO and imports nothing of _web: its values (match_info) may be used;
        # _closing is a leaf (trio only).
        assert ours <= {"_web", "_pipe", "_reply", "_routing", "_closing"}, (path.name, ours)


def test_routing_never_imports_the_web_layer() -> None:
    for path in (PACKAGE / "_routing").glob("*.py"):
        ours = {layer(n) for n in imports_of(path) if n.startswith("actorhttp")}
        assert "_web" not in ours, (path.name, ours)


def test_transports_never_import_router_or_app() -> None:
    for path in (PACKAGE / "_transports").glob("*.py"):
        ours = {layer(n) for n in imports_of(path) if n.startswith("actorhttp")}
        assert not ours & {"_router", "_app", "_serve", "_server", "_driver"}, (path.name, ours)


# aiohttp.test_utils' names left out (see actorhttp.test_utils' docstring): its asyncio loop
# and unittest helpers, the raw low-level server with its base class and socket factories,
# and make_mocked_coro (unittest.mock.AsyncMock does it).
TEST_UTILS_LEFT_OUT = {
    "AioHTTPTestCase",
    "BaseTestServer",
    "RawTestServer",
    "get_port_socket",
    "get_unused_port_socket",
    "loop_context",
    "make_mocked_coro",
    "setup_test_loop",
    "teardown_test_loop",
    "unittest_run_loop",
}


def test_test_utils_has_aiohttps_names_that_make_sense_on_trio() -> None:
    theirs = {
        name
        for name, value in vars(aiohttp.test_utils).items()
        if getattr(value, "__module__", None) == "aiohttp.test_utils" and name[0] != "_"
    }
    # aiohttp's, from its client: what TestClient answers with, and ws_connect's.
    client = {"ClientResponse", "ClientWebSocketResponse", "WSServerHandshakeError"}
    expected = (theirs - TEST_UTILS_LEFT_OUT) | client
    assert sorted(actorhttp.test_utils.__all__) == sorted(expected)


def run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_testing_modules_import_without_pytest() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import actorhttp.testing, actorhttp.test_utils; print('ok')"
    )
    result = run_isolated(code)
    assert result.stdout.strip() == "ok", result.stderr


def test_pytest_plugin_imports_without_httpx_anyio_or_pytest_trio() -> None:
    # pytest imports it (by its entry point) in every run wherever actorhttp is installed.
    code = (
        "import sys\n"
        "for name in ('httpx', 'anyio', 'pytest_trio'): sys.modules[name] = None\n"
        "import actorhttp.pytest_plugin\n"
        "print('actorhttp.testing' in sys.modules)"
    )
    result = run_isolated(code)
    assert result.stdout.strip() == "False", result.stderr


def test_py_typed_ships() -> None:
    assert (PACKAGE / "py.typed").exists()


def test_license_matches_pyproject() -> None:
    root = PACKAGE.parent
    assert 'license = "MIT"' in (root / "pyproject.toml").read_text()
    assert (root / "LICENSE").read_text().startswith("MIT License")


# aiohttp.abc's classes left out (see actorhttp.abc's docstring): the client's, and the
# asyncio payload writer a response writes through.
ABC_LEFT_OUT = {"AbstractCookieJar", "AbstractResolver", "AbstractStreamWriter", "ResolveResult"}


def test_abc_has_aiohttps_server_classes() -> None:
    import aiohttp.abc

    import actorhttp.abc

    theirs = {
        name
        for name, value in vars(aiohttp.abc).items()
        if getattr(value, "__module__", None) == "aiohttp.abc" and name[0] != "_"
    }
    assert sorted(actorhttp.abc.__all__) == sorted(theirs - ABC_LEFT_OUT)
    # Where actorhttp has the class, the name is that class: no second copy.
    assert actorhttp.abc.AbstractAccessLogger is actorhttp.AbstractAccessLogger
    assert issubclass(web.View, actorhttp.abc.AbstractView)
    app = web.Application()
    assert isinstance(app.router, actorhttp.abc.AbstractRouter)


def defined_names(path: Path) -> set[str]:
    """The public names a module's source defines at its top level (not those it imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


def test_typedefs_have_aiohttps_names() -> None:
    import aiohttp.typedefs

    import actorhttp.typedefs

    assert sorted(actorhttp.typedefs.__all__) == sorted(
        defined_names(Path(aiohttp.typedefs.__file__))
    )
    assert actorhttp.typedefs.Handler is actorhttp.messages.Handler


def test_hdrs_has_aiohttps_constants() -> None:
    import aiohttp.hdrs

    import actorhttp.hdrs

    theirs = {name: value for name, value in vars(aiohttp.hdrs).items() if name.isupper()}
    ours = {name: value for name, value in vars(actorhttp.hdrs).items() if name.isupper()}
    assert ours == theirs
