"""Transports: each turns connections into Request messages behind the same seam."""

from collections.abc import Mapping

from ._asgi import AsgiBridge
from ._base import Deliver, StopSignal, Transport, exchange
from ._httptools import serve_httptools
from ._hypercorn import serve_hypercorn

__all__ = ["TRANSPORTS", "AsgiBridge", "Deliver", "StopSignal", "Transport", "exchange"]

TRANSPORTS: Mapping[str, Transport] = {
    "httptools": serve_httptools,
    "hypercorn": serve_hypercorn,
}
