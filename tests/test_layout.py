"""The public surface and the arrows between layers that must never exist."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import actorhttp
import actorhttp.messages

PACKAGE = Path(actorhttp.__file__).parent


def test_public_names_are_pinned() -> None:
    assert set(actorhttp.__all__) >= {
        "Application",
        "Request",
        "Response",
        "json_response",
        "middleware",
        "serve",
        "run_app",
        "http_driver",
        "HTTPException",
        "HTTPNotFound",
        "HTTPFound",
        "HTTPBadRequest",
        "HTTPMethodNotAllowed",
        "HTTPRequestEntityTooLarge",
    }
    for name in actorhttp.__all__:
        assert getattr(actorhttp, name).__module__.startswith("actorhttp"), name
    assert sorted(actorhttp.__all__) == sorted(set(actorhttp.__all__))
    assert actorhttp.Response is actorhttp.messages.Response  # handlers and actors share it


def test_message_names_are_pinned() -> None:
    assert set(actorhttp.messages.__all__) == {
        "AddRoute",
        "CancelRequests",
        "Command",
        "CommandFailed",
        "Event",
        "Handler",
        "Mailbox",
        "Request",
        "Response",
        "ServerStarted",
        "ServerStopped",
        "StartServer",
        "StopServer",
        "Target",
        "TransportName",
        "open_reply_channel",
    }


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


def test_routing_imports_no_trio_and_no_other_layer() -> None:
    for path in (PACKAGE / "_routing").glob("*.py"):
        names = imports_of(path)
        assert not third_party(names), (path.name, third_party(names))
        ours = {n for n in names if n.startswith("actorhttp")}
        assert all(n.startswith("actorhttp._routing") for n in ours), (path.name, ours)


def test_messages_import_only_stdlib_trio_and_value_types() -> None:
    names = imports_of(PACKAGE / "messages.py")
    assert third_party(names) == {"trio"}
    ours = {n for n in names if n.startswith("actorhttp")}
    assert ours <= {
        "actorhttp._body",
        "actorhttp._exceptions",
        "actorhttp._headers",
        "actorhttp._query",
    }


def test_transports_never_import_router_or_app() -> None:
    for path in (PACKAGE / "_transports").glob("*.py"):
        names = imports_of(path)
        forbidden = {n for n in names if n.split(".")[1:2] in (["_router"], ["_app"], ["_serve"])}
        assert not forbidden, (path.name, forbidden)


def test_py_typed_ships() -> None:
    assert (PACKAGE / "py.typed").exists()
