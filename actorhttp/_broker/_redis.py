"""RedisBroker: topics, presence and named actors across processes and machines, on Redis.

Through ``coredis`` (anyio-based, so it runs on trio as it is; the
``actorhttp[redis]`` extra). Redis 6.2+ or Valkey. What lives where::

    {prefix}:topic:{topic}           pub/sub channel: a topic's frames (m, j, l)
    {prefix}:inbox:{node}            pub/sub channel: one process's calls, answers, health pings
    {prefix}:lease:{name}            string, PX lease_time: the node holding a named actor
    {prefix}:alive:{node}            string, PX lease_time: the node is alive
    {prefix}:nodes                   set of the nodes that announced themselves
    {prefix}:presence:{topic}        hash "{node}|{ref}" -> [key, meta]
    {prefix}:presence-of:{node}      set of the topics where the node has entries

One connection task keeps a client and one ``PubSub`` per process. Every
``health_interval`` it publishes a ping to its own inbox and expects it
back through the subscription: after a Redis restart coredis' ``PubSub``
may stay silent without raising, so the ping is what notices. Any fault
tears the connection down; it is made again with backoff (0.1 s doubling
to 5 s), every topic is subscribed anew and every presence entry written
again, and the log says so once per outage. A heartbeat every third of
``lease_time`` renews the node's ``alive`` key and its leases, tries for
the leases it does not hold, and takes the entries of dead nodes out of
presence (publishing their ``Leave``). A lease holder that cannot renew
stops counting itself the holder when its lease would have expired, so
two processes never both believe they hold a name.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import trio

from ._base import (
    JOIN,
    LEAVE,
    Broker,
    BrokerError,
    BrokerUnavailable,
    CallHandler,
    Lease,
    NoOwnerError,
)

__all__ = ["RedisBroker"]

logger = logging.getLogger("actorhttp.broker")

_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"""
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end"""
MAX_BACKOFF = 5.0


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


def _innermost(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class RedisBroker(Broker):
    """The broker on Redis: ``redis://host:port/db`` or ``rediss://`` (TLS).

    ``lease_time`` (seconds, 5 by default) bounds how long a dead process
    keeps a named actor and its presence entries: another process takes
    the actor over within ``4/3 * lease_time`` of the holder's death.
    ``health_interval`` is how often the connection is checked end to end
    (1 s). ``prefix`` namespaces every key and channel, so apps can share a
    Redis. ``codec`` and ``subscriber_size`` as :class:`Broker`'s. The URL
    may carry ``lease_time``, ``health_interval`` and ``prefix`` in its query
    (``redis://host:6379/0?lease_time=2``), which is how the CLI's
    ``--broker`` sets them; a ``ValueError`` names a bad one.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "actorhttp",
        lease_time: float = 5.0,
        health_interval: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(
                f"a Redis broker URL is redis://host:port/db or rediss://..., not {url!r}"
            )
        # Our own settings may ride in the URL's query (--broker has one string):
        # redis://host:6379/0?lease_time=2&health_interval=0.5&prefix=myapp
        query = dict(parse_qsl(parts.query))
        unknown = sorted(set(query) - {"lease_time", "health_interval", "prefix"})
        if unknown:
            raise ValueError(
                f"unknown broker URL options {unknown}: lease_time, health_interval, prefix"
            )
        try:
            lease_time = float(query.get("lease_time", lease_time))
            health_interval = float(query.get("health_interval", health_interval))
        except ValueError as exc:
            raise ValueError(f"broker URL {url!r}: {exc}") from None
        prefix = query.get("prefix", prefix)
        self._connect_url = urlunsplit(parts._replace(query=""))
        for name, value in (("lease_time", lease_time), ("health_interval", health_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        self.url = url
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
        self._pongs = 0
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
            try:
                with trio.fail_after(self._op_timeout):
                    await client.publish(self._topic(topic), frame)
                return True
            except (Exception, trio.TooSlowError) as exc:
                self._fault(exc)
        self.dropped += 1
        return False

    async def _watch(self, topic: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                with trio.fail_after(self._op_timeout):
                    await pubsub.subscribe(self._topic(topic))
            except (Exception, trio.TooSlowError) as exc:
                self._fault(exc)  # subscribed again with the rest once the broker is back
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

    # -- presence --------------------------------------------------------------

    async def _join(self, topic: str, ref: str, encoded: bytes) -> None:
        self._tracked[(topic, ref)] = encoded
        client = self._client
        if client is None:
            await trio.lowlevel.checkpoint()
            return
        try:
            with trio.fail_after(self._op_timeout):
                await self._write_entry(client, topic, ref, encoded)
                await client.publish(self._topic(topic), JOIN + encoded)
        except (Exception, trio.TooSlowError) as exc:
            self._fault(exc)

    async def _write_entry(self, client: Any, topic: str, ref: str, encoded: bytes) -> None:
        await client.hset(self._key("presence", topic), {f"{self.node}|{ref}": encoded})
        await client.sadd(self._key("presence-of", self.node), [topic])

    async def _leave(self, topic: str, ref: str, encoded: bytes) -> None:
        self._tracked.pop((topic, ref), None)
        client = self._client
        if client is None:
            await trio.lowlevel.checkpoint()
            return
        try:
            with trio.fail_after(self._op_timeout):
                await client.hdel(self._key("presence", topic), [f"{self.node}|{ref}"])
                await client.publish(self._topic(topic), LEAVE + encoded)
        except (Exception, trio.TooSlowError) as exc:
            self._fault(exc)

    async def _entries(self, topic: str) -> list[bytes]:
        client = self._client
        if client is None:
            raise BrokerUnavailable(f"the broker at {self.url} is unreachable")
        try:
            with trio.fail_after(self._op_timeout):
                values = await client.hvals(self._key("presence", topic))
        except (Exception, trio.TooSlowError) as exc:
            self._fault(exc)
            raise BrokerUnavailable(f"the broker at {self.url} is unreachable: {exc}") from exc
        return list(values)

    async def _restore(self, client: Any) -> None:
        """(Re)announce this node and write its presence entries (Redis may have lost them)."""
        ms = int(self._lease_time * 1000)
        with trio.fail_after(self._op_timeout * 2):
            await client.set(self._key("alive", self.node), b"1", px=ms)
            await client.sadd(self._key("nodes"), [self.node])
            for (topic, ref), encoded in list(self._tracked.items()):
                await self._write_entry(client, topic, ref, encoded)

    async def _reap(self, client: Any) -> None:
        """Take the presence entries of dead nodes out, each dead node by one process only."""
        for raw in await client.smembers(self._key("nodes")):
            node = raw.decode()
            if node == self.node or await client.exists([self._key("alive", node)]):
                continue
            if not await client.srem(self._key("nodes"), [raw]):
                continue  # another process is reaping it
            mine = self._key("presence-of", node)
            for topic_raw in await client.smembers(mine):
                topic = topic_raw.decode()
                key = self._key("presence", topic)
                fields = [f for f in await client.hkeys(key) if f.startswith(raw + b"|")]
                if not fields:
                    continue
                values = await client.hmget(key, fields)
                await client.hdel(key, fields)
                for value in values:
                    if value is not None:
                        await client.publish(self._topic(topic), LEAVE + value)
            await client.delete([mine])
            logger.info("broker: node %s is gone; its presence entries were taken out", node)

    # -- the heartbeat: liveness, leases, reaping ---------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await self._beat()
            with trio.move_on_after(self._lease_time / 3):
                await self._kick.wait()
            self._kick = trio.Event()

    async def _beat(self) -> None:
        now = trio.current_time()
        for name, held in self._leases.items():
            if held.lease.owned and now >= held.valid_until:
                logger.warning("broker: lease of %r not renewed in time: giving it up", name)
                held.lease._set(False)
        client = self._client
        if client is None:
            return
        ms = int(self._lease_time * 1000)
        try:
            with trio.fail_after(self._op_timeout * 2):
                if not await client.pexpire(self._key("alive", self.node), ms):
                    await self._restore(client)  # Redis forgot us: a restart, say
                for name, held in list(self._leases.items()):
                    await self._claim(client, name, held, ms)
                await self._reap(client)
        except (Exception, trio.TooSlowError) as exc:
            self._fault(exc)

    async def _claim(self, client: Any, name: str, held: _Held, ms: int) -> None:
        start = trio.current_time()
        key = self._key("lease", name)
        if held.lease.owned:
            ok = await client.eval(_RENEW, keys=[key], args=[self.node, ms])
            if not ok:
                logger.warning("broker: lease of %r was lost: giving it up", name)
        else:
            import coredis

            ok = await client.set(key, self.node.encode(), condition=coredis.PureToken.NX, px=ms)
            if ok:
                logger.info("broker: this process now holds %r", name)
        if ok and self._leases.get(name) is held:
            held.valid_until = start + self._lease_time
            self._owners[name] = self.node
        held.lease._set(bool(ok) and self._leases.get(name) is held)

    # -- named actors ------------------------------------------------------------

    def lease(self, name: str, serve: CallHandler) -> AbstractAsyncContextManager[Lease]:
        """See :meth:`Broker.lease`: held by at most one process sharing this Redis."""
        return self._lease(name, serve)

    @asynccontextmanager
    async def _lease(self, name: str, serve: CallHandler) -> AsyncIterator[Lease]:
        if name in self._leases:
            raise RuntimeError(f"this process already competes for {name!r}")
        held = _Held(Lease(name), serve)
        self._leases[name] = held
        self._kick.set()  # try for it now, not at the next beat
        try:
            yield held.lease
        finally:
            del self._leases[name]
            if held.lease.owned:
                held.lease._set(False)
                client = self._client
                if client is not None:
                    with trio.move_on_after(self._op_timeout) as scope:
                        scope.shield = True
                        try:
                            await client.eval(
                                _RELEASE, keys=[self._key("lease", name)], args=[self.node]
                            )
                        except Exception as exc:
                            logger.debug("broker: releasing %r: %s", name, exc)

    async def call(self, name: str, frame: bytes, *, limit: float | None = None) -> bytes:
        """See :meth:`Broker.call`: forwarded through the holder's inbox channel."""
        takeover = self._lease_time * 4 / 3
        wait = takeover if limit is None else min(limit, takeover)
        give_up = trio.current_time() + wait
        while True:
            client = self._client
            if client is None:
                raise NoOwnerError(f"the broker at {self.url} is unreachable", retry_after=1.0)
            try:
                owner = await self._owner(client, name)
                if owner is not None:
                    answer = await self._call_once(client, name, owner, frame)
                    if answer is not None:
                        return answer
            except (Exception, trio.TooSlowError) as exc:
                if isinstance(exc, BrokerError):
                    raise
                self._fault(exc)
                raise NoOwnerError(
                    f"the broker at {self.url} is unreachable", retry_after=1.0
                ) from exc
            if trio.current_time() >= give_up:
                raise NoOwnerError(
                    f"no process holds the actor {name!r} now", retry_after=self._lease_time
                )
            await trio.sleep(min(0.1, self._lease_time / 10))

    async def _owner(self, client: Any, name: str) -> str | None:
        owner = self._owners.get(name)
        if owner is None:
            with trio.fail_after(self._op_timeout):
                raw = await client.get(self._key("lease", name))
            if raw is None:
                return None
            owner = self._owners[name] = raw.decode()
        return owner

    async def _call_once(self, client: Any, name: str, owner: str, frame: bytes) -> bytes | None:
        """The answer, or None when ``owner`` did not take the call (try again)."""
        held = self._leases.get(name)
        if owner == self.node:
            if held is not None and held.lease.owned:
                return await held.serve(frame)
            self._owners.pop(name, None)
            return None
        call_id = f"{self.node}/{next(self._ids)}"
        pending = self._pending[call_id] = _Pending()
        try:
            header = json.dumps({"id": call_id, "from": self.node, "name": name}).encode()
            with trio.fail_after(self._op_timeout):
                received = await client.publish(
                    self._key("inbox", owner), b"c" + header + b"\0" + frame
                )
            if not received:  # nobody listens there: the owner is gone, nothing was done
                self._owners.pop(name, None)
                return None
            while not pending.done.is_set():
                with trio.move_on_after(self._lease_time / 2):
                    await pending.done.wait()
                if not pending.done.is_set():
                    self._owners.pop(name, None)
                    if await self._owner(client, name) != owner:
                        raise NoOwnerError(
                            f"the process holding {name!r} went away with the request",
                            retry_after=1.0,
                        )
            if pending.error is not None:
                raise BrokerError(f"the actor {name!r} failed: {pending.error}")
            if pending.gone and pending.answer is None:
                self._owners.pop(name, None)
                if self._client is None:
                    raise NoOwnerError(f"the broker at {self.url} is unreachable", retry_after=1.0)
                return None
            return pending.answer
        finally:
            del self._pending[call_id]

    def _on_inbox(self, data: bytes) -> None:
        kind = data[:1]
        if kind == b"p":
            self._pong.set()
            return
        header_raw, _, payload = data[1:].partition(b"\0")
        try:
            header = json.loads(header_raw)
        except ValueError:
            logger.error("broker: a malformed frame on this process's inbox was dropped")
            return
        if kind == b"c":
            assert self._nursery is not None
            self._nursery.start_soon(self._answer, header, payload)
            return
        pending = self._pending.get(header.get("id"))
        if pending is None:
            return  # its caller gave up (a handler_timeout, say)
        if kind == b"a":
            pending.answer = payload
        elif kind == b"e":
            pending.error = str(header.get("error"))
        else:  # b"g": not held there any more
            pending.gone = True
        pending.done.set()

    async def _answer(self, header: dict[str, Any], payload: bytes) -> None:
        """Answer a call on this process's inbox, on the caller's inbox."""
        held = self._leases.get(header.get("name", ""))
        reply_header = {"id": header.get("id")}
        if held is None or not held.lease.owned:
            kind, body = b"g", b""
        else:
            try:
                kind, body = b"a", await held.serve(payload)
            except NoOwnerError:
                kind, body = b"g", b""  # not running here after all: the caller looks again
            except Exception as exc:
                logger.exception("broker: answering a call to %r failed", header.get("name"))
                kind, body = b"e", b""
                reply_header["error"] = f"{type(exc).__name__}: {exc}"
        client = self._client
        if client is None:
            return  # the caller notices the outage itself
        frame = kind + json.dumps(reply_header).encode() + b"\0" + body
        try:
            with trio.fail_after(self._op_timeout):
                await client.publish(self._key("inbox", str(header.get("from"))), frame)
        except (Exception, trio.TooSlowError) as exc:
            self._fault(exc)
