"""Transports: each turns connections into Request messages behind the same seam."""

from collections.abc import Mapping

from ._base import Deliver, StopSignal, Transport, exchange
from ._hypercorn import AsgiBridge, serve_hypercorn

__all__ = ["TRANSPORTS", "AsgiBridge", "Deliver", "StopSignal", "Transport", "exchange"]

TRANSPORTS: Mapping[str, Transport] = {"hypercorn": serve_hypercorn}
