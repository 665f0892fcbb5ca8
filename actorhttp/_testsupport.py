"""What the three testing modules share, with no dependency beyond the standard library.

``pytest_plugin`` must import without httpx; ``testing`` and ``test_utils``
need it. Both sides take these from here.
"""

from __future__ import annotations

import socket

__all__ = ["STOP_GRACE", "missing_extra", "unused_port"]

STOP_GRACE = 5.0
"""Seconds a test server gives requests still in flight when the test ends."""


def unused_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before you bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def missing_extra(module: str, error: ImportError) -> ModuleNotFoundError:
    """The error to raise when ``module`` cannot import httpx or anyio: it names the extra.

    Without it a user sees a bare ``No module named 'httpx'`` and has to guess
    that the client libraries are an optional part of actorhttp.
    """
    return ModuleNotFoundError(
        f"{module} needs httpx and anyio, from actorhttp's 'testing' extra: "
        f"pip install 'actorhttp[testing]' ({error})",
        name=error.name,
    )
