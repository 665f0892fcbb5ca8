"""The Redis broker's core: its state, its one connection, topics, and the heartbeat.

See ``_redis`` for what lives where in Redis. ``_presence`` and ``_calls``
add presence and named actors on top of this class; ``RedisBroker`` is the
three together.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import trio

from .._supervise import _innermost
from ._base import DEFAULT_SUBSCRIBER_SIZE, Broker, BrokerUnavailable, CallHandler, Lease
from ._codec import Codec

__all__ = ["RedisCore"]

logger = logging.getLogger("actorhttp.broker")

_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end"""
MAX_BACKOFF = 5.0
# coredis's own rediss:// URL options (a private CA, a client certificate), passed through.
TLS_OPTIONS = frozenset(
    {"ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname"}
)


class _Unhealthy(Exception):
    """The connection stopped carrying our own pings."""


@dataclass(eq=False)
class _Held:
    lease: Lease
    serve: CallHandler
    valid_until: float = 0.0


@dataclass(eq=False)
class _Pending:
    done: trio.Event = field(default_factory=trio.Event)
    answer: bytes | None = None
    error: str | None = None
    gone: bool = False


def _redacted(parts: SplitResult, url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))


class RedisCore(Broker):
    """State and connection shared by the Redis broker's parts (see ``RedisBroker``)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "actorhttp",
        lease_time: float = 5.0,
        health_interval: float = 1.0,
        codec: Codec | None = None,
        subscriber_size: int = DEFAULT_SUBSCRIBER_SIZE,
    ) -> None:
        super().__init__(codec=codec, subscriber_size=subscriber_size)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(
                f"a Redis broker URL is redis://host:port/db or rediss://..., not {url!r}"
            )
        # Our own settings may ride in the URL's query (--broker has one string):
        # redis://host:6379/0?lease_time=2&health_interval=0.5&prefix=myapp
        query = dict(parse_qsl(parts.query))
        tls = {k: query.pop(k) for k in TLS_OPTIONS & set(query)}
        unknown = sorted(set(query) - {"lease_time", "health_interval", "prefix"})
        if unknown:
            raise ValueError(
                f"unknown broker URL options {unknown}: lease_time, health_interval, prefix"
                f" (and with rediss://: {', '.join(sorted(TLS_OPTIONS))})"
            )
        if tls and parts.scheme != "rediss":
            raise ValueError(f"broker URL options {sorted(tls)} need rediss://, not redis://")
        try:
            lease_time = float(query.get("lease_time", lease_time))
            health_interval = float(query.get("health_interval", health_interval))
        except ValueError as exc:
            raise ValueError(f"broker URL {url!r}: {exc}") from None
        prefix = query.get("prefix", prefix)
        # coredis reads the TLS options from the URL it connects with; ours it would refuse.
        self._connect_url = urlunsplit(parts._replace(query=urlencode(tls)))
        for name, value in (("lease_time", lease_time), ("health_interval", health_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        self.url = _redacted(parts, url)  # what logs and errors show: no password
        self.prefix = prefix
        self._lease_time = float(lease_time)
        self.health_interval = float(health_interval)
        self.node = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._inbox = self._key("inbox", self.node)
        self._client: Any = None
        self._pubsub: Any = None
        self._nursery: trio.Nursery | None = None
        self._down_since: float | None = None
        self._up = trio.Event()
        self._kick = trio.Event()
        self._tracked: dict[tuple[str, str], bytes] = {}
        self._leases: dict[str, _Held] = {}
        self._owners: dict[str, str] = {}
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._pong = trio.Event()

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}:{kind}:{name}" if name else f"{self.prefix}:{kind}"

    @property
    def lease_time(self) -> float:
        """Seconds a lease or a presence entry outlives its process (see the class docstring)."""
        return self._lease_time

    @property
    def _op_timeout(self) -> float:
        return max(1.0, 2 * self.health_interval)

    # -- the connection --------------------------------------------------------

    def _client_for(self, *, retries: bool = True) -> Any:
        try:
            import coredis
            from coredis.retry import NoRetryPolicy
        except ImportError:  # pragma: no cover - the extra is in dev
            raise BrokerUnavailable(
                f"the broker {self.url} needs coredis: pip install 'actorhttp[redis]'"
            ) from None
        coredis_logger = logging.getLogger("coredis")
        if coredis_logger.level == logging.NOTSET:
            # Its INFO lines repeat each retry; the broker logs an outage once itself.
            coredis_logger.setLevel(logging.WARNING)
        if retries:
            return coredis.Redis.from_url(self._connect_url, decode_responses=False)
        return coredis.Redis.from_url(
            self._connect_url, decode_responses=False, retry_policy=NoRetryPolicy()
        )

    async def _lifetime(self) -> AsyncIterator[None]:
        try:
            with trio.fail_after(self._op_timeout + 4):
                async with self._client_for(retries=False) as probe:
                    await probe.ping()
        except (Exception, trio.TooSlowError) as exc:
            cause = _innermost(exc)
            raise BrokerUnavailable(
                f"cannot reach the broker at {self.url}: {type(cause).__name__}: {cause}"
            ) from exc
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._connection)
            nursery.start_soon(self._heartbeat)
            with trio.move_on_after(self._op_timeout + 4):
                await self._up.wait()  # if Redis fell over since the probe, the outage path has it
            try:
                yield
            finally:
                with trio.move_on_after(self._op_timeout) as scope:
                    scope.shield = True
                    await self._goodbye()
                nursery.cancel_scope.cancel()
                self._nursery = None

    async def _connection(self) -> None:
        """Keep one client and one subscription up; rebuild both after any fault."""
        try:
            await self._connect_forever()
        except BaseExceptionGroup as group:
            # Only a cancellation gets here (faults are handled in the loop): coredis may
            # fail to unsubscribe from a connection it is closing meanwhile. Not ours to report.
            cancelled, rest = group.split(trio.Cancelled)
            if rest is not None:
                logger.debug("broker %s: while closing: %r", self.url, rest)
            if cancelled is not None:
                raise cancelled from None

    async def _connect_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self._client_for() as client:
                    with trio.fail_after(self._op_timeout):
                        await client.ping()  # fails fast while Redis is down
                    # No retry policy of its own: a fault ends it, and this loop reconnects.
                    subscriber = client.pubsub(ignore_subscribe_messages=True, retry_policy=None)
                    async with subscriber as pubsub:
                        self._pubsub = pubsub
                        channels = [self._inbox, *map(self._topic, self._subscriptions)]
                        with trio.fail_after(self._op_timeout):
                            await pubsub.subscribe(*channels)
                        self._client = client
                        await self._restore(client)
                        self._recovered(len(channels) - 1)
                        backoff = 0.1
                        async with trio.open_nursery() as nursery:
                            nursery.start_soon(self._read, pubsub)
                            await self._check_health(client)
            except (Exception, trio.TooSlowError) as exc:
                self._fault(exc)
            finally:
                self._client = self._pubsub = None
                self._owners.clear()
                for pending in self._pending.values():
                    pending.gone = True
                    pending.done.set()
            await trio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    @contextmanager
    def _guarded(self, timeout: float | None = None) -> Iterator[None]:
        """Run one Redis exchange within ``timeout`` (the op timeout by default); a fault
        (an error, or no answer in time) is noted as an outage and goes no further."""
        try:
            with trio.fail_after(self._op_timeout if timeout is None else timeout):
                yield
        except (Exception, trio.TooSlowError) as exc:
            self._fault(exc)

    def _fault(self, exc: BaseException) -> None:
        """Note an outage; logged once, when it begins."""
        if self._down_since is None:
            self._down_since = trio.current_time()
            self._up = trio.Event()
            cause = _innermost(exc)
            logger.warning(
                "broker %s unreachable (%s: %s): reconnecting with backoff; messages "
                "published meanwhile are lost",
                self.url,
                type(cause).__name__,
                cause,
            )

    def _recovered(self, topics: int) -> None:
        if self._down_since is not None:
            logger.warning(
                "broker %s reachable again after %.1f s: %d topics subscribed again",
                self.url,
                trio.current_time() - self._down_since,
                topics,
            )
            self._down_since = None
        self._up.set()

    async def _check_health(self, client: Any) -> None:
        """Return (raise) once a ping to our own inbox does not come back in time."""
        while True:
            self._pong = trio.Event()
            with trio.fail_after(self._op_timeout):
                await client.publish(self._inbox, b"p")
            with trio.move_on_after(self._op_timeout) as waited:
                await self._pong.wait()
            if waited.cancelled_caught:
                raise _Unhealthy("the subscription stopped receiving")
            await trio.sleep(self.health_interval)

    async def _read(self, pubsub: Any) -> None:
        topic_prefix = self._key("topic").encode() + b":"
        inbox = self._inbox.encode()
        async for message in pubsub:
            channel: bytes = message["channel"]
            data: bytes = message["data"]
            if channel == inbox:
                self._on_inbox(data)
            elif channel.startswith(topic_prefix):
                self._deliver(channel[len(topic_prefix) :].decode(), data)

    async def _goodbye(self) -> None:
        """Leaving: let go of leases and presence now rather than at their expiry."""
        client = self._client
        if client is None:
            return
        try:
            for name, held in list(self._leases.items()):
                if held.lease.owned:
                    await client.eval(_RELEASE, keys=[self._key("lease", name)], args=[self.node])
            for (topic, ref), encoded in list(self._tracked.items()):
                await self._leave(topic, ref, encoded)
            await client.delete([self._key("alive", self.node)])
            await client.srem(self._key("nodes"), [self.node])
        except Exception as exc:
            logger.debug("broker %s: leaving untidily: %s", self.url, exc)

    # -- topics ----------------------------------------------------------------

    def _topic(self, topic: str) -> str:
        return self._key("topic", topic)

    async def _publish(self, topic: str, frame: bytes) -> bool:
        client = self._client
        if client is not None:
            with self._guarded():
                await client.publish(self._topic(topic), frame)
                return True
        self.dropped += 1
        return False

    async def _watch(self, topic: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None:
            with self._guarded():  # a fault: subscribed again with the rest once it is back
                await pubsub.subscribe(self._topic(topic))
        await trio.lowlevel.checkpoint()

    async def _unwatch(self, topic: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                with trio.move_on_after(self._op_timeout):
                    await pubsub.unsubscribe(self._topic(topic))
            except Exception as exc:
                logger.debug("broker %s: unsubscribing from %r: %s", self.url, topic, exc)
        await trio.lowlevel.checkpoint()

    # -- the heartbeat: liveness, leases, reaping ---------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await self._beat()
            with trio.move_on_after(self._lease_time / 3):
                await self._kick.wait()
            self._kick = trio.Event()

    async def _beat(self) -> None:
        client = self._client
        if client is not None:
            ms = int(self._lease_time * 1000)
            with self._guarded(self._op_timeout * 2):
                if not await client.pexpire(self._key("alive", self.node), ms):
                    await self._restore(client)  # Redis forgot us: a restart, say
                for name, held in list(self._leases.items()):
                    await self._claim(client, name, held, ms)
                await self._reap(client)
        now = trio.current_time()
        for name, held in self._leases.items():
            # Not renewed, a third of the lease before it would expire in Redis: given up
            # now, so what the incarnation here holds can finish (until ``expires_at``)
            # before another process can take the lease.
            if held.lease.owned and now >= held.valid_until - self._lease_time / 3:
                logger.warning("broker: lease of %r not renewed in time: giving it up", name)
                held.lease._set(False)

    # -- what the other parts provide -------------------------------------------

    async def _restore(self, client: Any) -> None:
        raise NotImplementedError

    async def _reap(self, client: Any) -> None:
        raise NotImplementedError

    async def _claim(self, client: Any, name: str, held: _Held, ms: int) -> None:
        raise NotImplementedError

    def _on_inbox(self, data: bytes) -> None:
        raise NotImplementedError
