"""The broker: topics, presence and named actors across worker processes and machines.

``Application(broker=...)``, ``serve(..., broker=...)``, ``run_app(...,
broker=...)`` and the CLI's ``--broker URL`` choose it once for an app:
:class:`MemoryBroker` (``memory://``, the default: one process) or
:class:`RedisBroker` (``redis://host:port/db``, ``rediss://``: every
process and machine sharing that Redis; ``pip install 'actorhttp[redis]'``).
While the app is served, ``app.broker`` is connected::

    await app.broker.publish("room:lobby", {"from": "alice", "text": "hi"})
    async with app.broker.subscribe("room:lobby") as messages:
        async for message in messages: ...
    async with app.broker.track("room:lobby", "alice"):
        await app.broker.presence("room:lobby")   # {"alice": [None], ...}

Delivery is at most once, in publish order per publisher; each
subscriber's buffer is bounded, and what finds it full is dropped for
that subscriber and counted. See ``docs/actors.md``.
"""

from __future__ import annotations

from ._broker import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    Codec,
    Join,
    JsonCodec,
    Lease,
    Leave,
    MemoryBroker,
    NoOwnerError,
    PresenceEvent,
    RedisBroker,
    Subscription,
    open_broker,
)

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

for _name in __all__:  # reprs and docs show actorhttp.broker.X, the public path
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("actorhttp._broker"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
