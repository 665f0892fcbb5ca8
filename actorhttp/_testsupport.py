"""What the three testing modules share, with no dependency beyond the standard library.

``pytest_plugin`` must import without httpx; ``testing`` and ``test_utils``
need it. Both sides take these from here.
"""

from __future__ import annotations

import socket

__all__ = ["STOP_GRACE", "unused_port"]

STOP_GRACE = 5.0
"""Seconds a test server gives requests still in flight when the test ends."""


def unused_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before you bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
