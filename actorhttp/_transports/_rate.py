"""Minimum data rates: how long the next wait on a client may last (sans-IO).

Kestrel's rule (``MinDataRate`` in ``messages``): only time spent waiting on
the client counts, and once the grace period of such waiting is over, the
bytes moved must average at least the minimum rate over it. A meter is
told each wait's length and how many bytes it brought; :meth:`RateMeter.budget`
is how long the next wait may last before the rule breaks. Both transports
use it: around reads of a request body, and around sends the client's
receive window holds up.

A send meter starts again whenever a send needs no wait (:meth:`reset`): a
client that keeps up has nothing to prove, and bytes it read long ago buy
no credit for stalling now. What a send moved is what the client
acknowledged, where the kernel tells (``_sockio``).

The meter itself does no I/O; :func:`receive_within` is the one wait on a
request body's next bytes that both transports use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from .._web._exceptions import HTTPRequestTimeout
from ..messages import MinDataRate

__all__ = ["RateMeter", "SlowClientError", "receive_within"]

T = TypeVar("T")


class SlowClientError(trio.BrokenResourceError):
    """The client read a response slower than the minimum rate: its connection is cut.

    A ``BrokenResourceError``, so whatever handles a vanished client (ours
    and hypercorn's) handles this one too.
    """


class RateMeter:
    """The bytes a client moved over the time we waited on it, against a minimum rate."""

    __slots__ = ("_grace", "_moved", "_rate", "_waited", "minimum", "queued")

    def __init__(self, minimum: MinDataRate) -> None:
        self.minimum = minimum
        self._rate = minimum.bytes_per_second
        self._grace = minimum.grace_period
        self._moved = 0
        self._waited = 0.0
        self.queued = 0  # a socket's unacknowledged bytes when last looked at (_sockio)

    def reset(self) -> None:
        """Start measuring again (a new request body, or a send that did not wait)."""
        self._moved = 0
        self._waited = 0.0

    def budget(self) -> float:
        """Seconds the next wait may last; zero or less means the rate is already too low."""
        return max(self._grace, self._moved / self._rate) - self._waited

    def record(self, waited: float, moved: int) -> None:
        """A wait of ``waited`` seconds that brought ``moved`` bytes."""
        self._waited += waited
        self._moved += moved

    def describe(self, what: str) -> str:
        """Why the client is cut off, for the answer or the log."""
        return (
            f"{what} slower than the minimum data rate of {self.minimum.bytes_per_second:g} bytes/s"
        )


async def receive_within(
    meter: RateMeter, receive: Callable[[], Awaitable[T]], size: Callable[[T], int]
) -> T:
    """``await receive()`` for a request body, no longer than ``meter`` allows.

    ``size`` says how many body bytes what came holds. Raises
    ``HTTPRequestTimeout`` (408) once the body comes slower than the minimum.
    """
    start = trio.current_time()
    with trio.move_on_at(start + meter.budget()):
        got = await receive()
        meter.record(trio.current_time() - start, size(got))
        return got
    raise HTTPRequestTimeout(text=meter.describe("request body sent"))
