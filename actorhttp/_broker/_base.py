"""The broker's one interface: topics, presence and named-actor leases, whatever carries them.

A :class:`Broker` is chosen once for an application (``Application(broker=...)``,
``serve(..., broker=...)``, the CLI's ``--broker URL``) and is connected
while the app is served (``async with broker:``). Two implementations:
:class:`~actorhttp.broker.MemoryBroker` (one process, the default) and
:class:`~actorhttp.broker.RedisBroker` (every process and machine that
shares one Redis).

What every broker promises, and the tests check for both:

* **Topics.** ``await broker.publish(topic, message)`` reaches every
  subscription to ``topic`` open at that moment, in any process, **at
  most once**, and the messages of one publisher arrive **in the order
  it published them**. A message published while the broker is
  unreachable is dropped (``publish`` returns ``False`` and counts it in
  ``broker.dropped``), as are the messages published elsewhere during the
  outage: nothing is replayed.
* **Bounded subscribers.** Each subscription has its own buffer
  (``size`` messages). A subscriber that falls behind never holds up the
  publisher or the other subscribers: a message that finds its buffer full
  is **dropped for that subscriber and counted** (``subscription.dropped``),
  and the first drop is logged once.
* **Presence.** ``async with broker.track(topic, key, meta):`` lists ``key``
  under ``topic`` across the cluster while the block runs;
  ``await broker.presence(topic)`` answers who is there, and subscribers
  that ask for ``presence=True`` get :class:`Join` and :class:`Leave` events
  in the topic's stream. A process that dies is taken out within the lease
  time.
* **Leases** (named actors): at most one process holds a name's lease at a
  time; the holder answers the ``call`` frames sent to that name.

A broker never raises out of its own background tasks: a fault while
serving is logged once per outage and repaired behind the interface.

Exceptions::

    BrokerError
     ├── BrokerUnavailable   the broker cannot be reached (at start: names the URL)
     └── NoOwnerError        a named actor has no live incarnation now (retry_after)
"""

from __future__ import annotations

import abc
import itertools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import trio

from ._codec import Codec, JsonCodec

__all__ = [
    "DEFAULT_SUBSCRIBER_SIZE",
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "CallHandler",
    "Join",
    "Lease",
    "Leave",
    "NoOwnerError",
    "PresenceEvent",
    "Subscription",
]

logger = logging.getLogger("actorhttp.broker")

DEFAULT_SUBSCRIBER_SIZE = 256
"""Messages a subscription holds that its reader has not taken yet; past them, drops."""

# What a topic frame starts with: a message, or a presence event about the topic.
MESSAGE: Final = b"m"
JOIN: Final = b"j"
LEAVE: Final = b"l"

CallHandler = Callable[[bytes], Awaitable[bytes]]
"""What answers a named actor's call frames where its lease is held (see ``_wire``)."""


class BrokerError(Exception):
    """Something the broker could not do."""


class BrokerUnavailable(BrokerError):
    """The broker cannot be reached; at start the message names its URL."""


class NoOwnerError(BrokerError):
    """A named actor has no live incarnation now; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Join:
    """Presence: ``key`` joined ``topic`` (one more entry, with its ``meta``)."""

    topic: str
    key: str
    meta: Any = None


@dataclass(frozen=True, slots=True)
class Leave:
    """Presence: one of ``key``'s entries left ``topic`` (its block ended, or its process died)."""

    topic: str
    key: str
    meta: Any = None


PresenceEvent = Join | Leave


class Subscription(trio.abc.ReceiveChannel[Any]):
    """The messages of one topic for one subscriber, as ``broker.subscribe`` yields it.

    Iterate it (``async for message in subscription``); it ends when the
    ``subscribe`` block ends. ``dropped`` counts the messages that found
    its buffer full and were dropped for it.
    """

    def __init__(self, topic: str, size: int, presence: bool) -> None:
        self.topic = topic
        self.presence = presence
        self.dropped = 0
        self._send, self._receive = trio.open_memory_channel[Any](size)

    def _offer(self, message: Any) -> None:
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(
                    "a subscriber to %r is %d messages behind: dropping what it cannot take "
                    "(counted in subscription.dropped)",
                    self.topic,
                    self._send.statistics().max_buffer_size,
                )
        except trio.ClosedResourceError:
            pass  # its block is ending

    def receive_nowait(self) -> Any:
        """The next message if one waits, else ``trio.WouldBlock``."""
        return self._receive.receive_nowait()

    async def receive(self) -> Any:
        """The next message; ``trio.EndOfChannel`` once the subscription has ended."""
        return await self._receive.receive()

    async def aclose(self) -> None:
        """Stop reading (the ``subscribe`` block still owns the subscription)."""
        await self._receive.aclose()

    def __repr__(self) -> str:
        return f"<Subscription {self.topic!r} dropped={self.dropped}>"


class Lease:
    """Whether this process holds a named actor's lease now; what ``broker.lease`` yields."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.expires_at = math.inf
        """``trio.current_time()`` from which another process may hold it (unrenewed)."""
        self._owned = trio.Event()
        self._lost = trio.Event()
        self._lost.set()

    @property
    def owned(self) -> bool:
        """True while this process holds the lease."""
        return self._owned.is_set()

    def _set(self, owned: bool) -> None:
        if owned and not self.owned:
            self._owned.set()
            self._lost = trio.Event()
        elif not owned and self.owned:
            self._lost.set()
            self._owned = trio.Event()

    async def wait_owned(self) -> None:
        """Return once this process holds the lease."""
        await self._owned.wait()

    async def wait_lost(self) -> None:
        """Return once this process no longer holds the lease."""
        await self._lost.wait()


def _check_topic(topic: object) -> str:
    if not isinstance(topic, str) or not topic:
        raise TypeError(f"a topic is a non-empty str, not {topic!r}")
    return topic


class Broker(abc.ABC):
    """Topics, presence and named-actor placement across processes; see the module docstring.

    Connected while the app is served: ``async with broker:`` connects
    (``BrokerUnavailable`` naming the URL when it cannot) and runs what the
    broker needs in the background until the block ends. ``publish``,
    ``subscribe`` and ``track`` may be used from any task meanwhile.
    """

    url: str = ""
    """Where the broker is (``memory://`` for the in-process one)."""

    def __init__(
        self, *, codec: Codec | None = None, subscriber_size: int = DEFAULT_SUBSCRIBER_SIZE
    ) -> None:
        if codec is not None and not isinstance(codec, Codec):
            raise TypeError(f"codec must have encode() and decode(), not {codec!r}")
        if isinstance(subscriber_size, bool) or not isinstance(subscriber_size, int):
            raise TypeError(f"subscriber_size must be an int, not {subscriber_size!r}")
        if subscriber_size < 1:
            raise ValueError(f"subscriber_size must be at least 1, not {subscriber_size}")
        self.codec: Codec = codec if codec is not None else JsonCodec()
        self.subscriber_size = subscriber_size
        self.dropped = 0
        """Messages ``publish`` dropped because the broker was unreachable."""
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._refs = itertools.count(1)
        self._lifetime_cm: Any = None

    # -- lifetime ------------------------------------------------------------------

    @abc.abstractmethod
    def _lifetime(self) -> AsyncIterator[None]:
        """An async generator: connect, yield while connected, let go (wrapped below)."""

    async def __aenter__(self) -> Broker:
        if self._lifetime_cm is not None:
            raise RuntimeError(f"{self!r} is already connected")
        cm = asynccontextmanager(self._lifetime)()
        await cm.__aenter__()
        self._lifetime_cm = cm
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        cm, self._lifetime_cm = self._lifetime_cm, None
        try:
            result: bool | None = await cm.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The broker's own nursery wrapped what the block raised, and nothing else
            # failed (its tasks never raise): let the block's exception go on as it was.
            if exc is not None and group.exceptions == (exc,):
                return False
            raise
        return result

    @property
    def connected(self) -> bool:
        """True inside ``async with broker:``."""
        return self._lifetime_cm is not None

    # -- topics --------------------------------------------------------------------

    async def publish(self, topic: str, message: Any) -> bool:
        """Send ``message`` to every subscriber of ``topic``; see the module docstring.

        Returns ``False`` (and counts it in ``dropped``) when the broker is
        unreachable, so the message is lost; raises ``TypeError`` when the
        codec cannot encode ``message``.
        """
        frame = MESSAGE + self.codec.encode(message)
        return await self._publish(_check_topic(topic), frame)

    @asynccontextmanager
    async def subscribe(
        self, topic: str, *, size: int | None = None, presence: bool = False
    ) -> AsyncIterator[Subscription]:
        """Receive ``topic``'s messages while the block runs, at most ``size`` waiting.

        ``presence=True`` adds the topic's :class:`Join` and :class:`Leave`
        events to the stream, in their order among its messages.
        """
        _check_topic(topic)
        size = self.subscriber_size if size is None else size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, not {size!r}")
        subscription = Subscription(topic, size, presence)
        local = self._subscriptions.setdefault(topic, [])
        local.append(subscription)
        try:
            if len(local) == 1:
                await self._watch(topic)
            yield subscription
        finally:
            subscription._send.close()
            local.remove(subscription)
            if not local:
                del self._subscriptions[topic]
                with trio.CancelScope(shield=True):
                    await self._unwatch(topic)

    def _deliver(self, topic: str, frame: bytes) -> None:
        """A topic frame arrived: decode it once and offer it to each local subscriber."""
        subscriptions = self._subscriptions.get(topic)
        if not subscriptions:
            return
        kind, data = frame[:1], frame[1:]
        try:
            value = self.codec.decode(data)
            if kind == MESSAGE:
                event: Any = value
            elif kind in (JOIN, LEAVE):
                key, meta = value
                event = (Join if kind == JOIN else Leave)(topic, key, meta)
            else:
                raise ValueError(f"unknown frame kind {kind!r}")
        except Exception:
            logger.exception("a message on topic %r could not be decoded: dropped", topic)
            return
        is_message = kind == MESSAGE
        for subscription in subscriptions:
            if is_message or subscription.presence:
                subscription._offer(event)

    @abc.abstractmethod
    async def _publish(self, topic: str, frame: bytes) -> bool:
        """Carry ``frame`` to every process's subscribers of ``topic``; False if dropped."""

    async def _watch(self, topic: str) -> None:
        """The first local subscriber of ``topic`` arrived."""
        await trio.lowlevel.checkpoint()

    async def _unwatch(self, topic: str) -> None:
        """The last local subscriber of ``topic`` left."""
        await trio.lowlevel.checkpoint()

    # -- presence ------------------------------------------------------------------

    @asynccontextmanager
    async def track(self, topic: str, key: str, meta: Any = None) -> AsyncIterator[None]:
        """List ``key`` (with ``meta``) in ``topic``'s presence while the block runs.

        Subscribers with ``presence=True`` see a :class:`Join` now and a
        :class:`Leave` at the end (or, if this process dies, within the lease
        time). While the broker is unreachable the entry is kept here and
        written again once it is back.
        """
        _check_topic(topic)
        if not isinstance(key, str):
            raise TypeError(f"a presence key is a str, not {key!r}")
        encoded = self.codec.encode([key, meta])
        ref = str(next(self._refs))
        await self._join(topic, ref, encoded)
        try:
            yield
        finally:
            with trio.CancelScope(shield=True):
                await self._leave(topic, ref, encoded)

    async def presence(self, topic: str) -> dict[str, list[Any]]:
        """Who is in ``topic`` across the cluster: each key with the metas of its entries.

        Raises ``BrokerUnavailable`` while the broker cannot be reached.
        """
        present: dict[str, list[Any]] = {}
        for encoded in await self._entries(_check_topic(topic)):
            key, meta = self.codec.decode(encoded)
            present.setdefault(key, []).append(meta)
        return present

    @abc.abstractmethod
    async def _join(self, topic: str, ref: str, encoded: bytes) -> None: ...

    @abc.abstractmethod
    async def _leave(self, topic: str, ref: str, encoded: bytes) -> None: ...

    @abc.abstractmethod
    async def _entries(self, topic: str) -> list[bytes]: ...

    # -- named actors ----------------------------------------------------------------

    @abc.abstractmethod
    def lease(self, name: str, serve: CallHandler) -> AbstractAsyncContextManager[Lease]:
        """Compete for ``name``'s lease while the block runs; ``serve`` answers its calls here.

        The :class:`Lease` says when this process holds it (and when it lost
        it); leaving the block gives it up at once, so another process takes
        over without waiting for it to expire.
        """

    @abc.abstractmethod
    async def call(self, name: str, frame: bytes, *, limit: float | None = None) -> bytes:
        """Send a call frame to whichever process holds ``name``'s lease; its answer frame.

        Waits up to the lease time (or ``limit`` seconds, if sooner) for a holder
        to appear; ``NoOwnerError`` when none does, or when the holder went
        away with the call (which may or may not have been handled).
        """

    @property
    @abc.abstractmethod
    def lease_time(self) -> float:
        """Seconds after its holder's death within which a lease passes to another process."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
