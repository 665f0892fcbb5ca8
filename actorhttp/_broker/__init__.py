"""The broker: topics, presence and named actors across worker processes and machines.

One interface (:class:`Broker`, in ``_base``), two implementations:
``_memory`` (in-process, the default) and ``_redis`` (coredis). ``_codec``
turns messages into bytes; ``_wire`` is the named actors' request and
answer frames. :func:`open_broker` makes one from a URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._base import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    Join,
    Lease,
    Leave,
    NoOwnerError,
    PresenceEvent,
    Subscription,
)
from ._codec import Codec, JsonCodec
from ._memory import MemoryBroker
from ._redis import RedisBroker

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "Codec",
    "Join",
    "JsonCodec",
    "Lease",
    "Leave",
    "MemoryBroker",
    "NoOwnerError",
    "PresenceEvent",
    "RedisBroker",
    "Subscription",
    "open_broker",
]


def open_broker(broker: Broker | str | None) -> Broker:
    """A broker from what an app, ``serve`` or the CLI was given.

    ``None`` or ``"memory://"``: a new :class:`MemoryBroker`;
    ``"redis://host:port/db"`` or ``"rediss://..."``: a :class:`RedisBroker`;
    a :class:`Broker`: itself. Anything else is a ``ValueError`` (an
    unknown scheme) or a ``TypeError``, naming what was given.
    """
    if broker is None:
        return MemoryBroker()
    if isinstance(broker, Broker):
        return broker
    if not isinstance(broker, str):
        raise TypeError(f"broker must be a Broker or a URL, not {broker!r}")
    scheme = urlsplit(broker).scheme
    if scheme == "memory":
        return MemoryBroker()
    if scheme in ("redis", "rediss"):
        return RedisBroker(broker)
    raise ValueError(
        f"unknown broker URL {broker!r}: use memory://, redis://host:port/db or rediss://..."
    )
