"""The Redis broker's named actors: leases, and calls forwarded to the lease holder.

A lease is ``{prefix}:lease:{name}``, set NX with a PX of ``lease_time``
and renewed by its holder (a compare-and-set script) every third of it. A
call is published on the holder's inbox channel; the answer comes back on
the caller's. A caller that finds nobody listening, or is told the name is
not held there, looks the holder up again; one whose holder changes while
it waits gets ``NoOwnerError`` (the call may or may not have been handled).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import trio

from ._base import BrokerError, CallHandler, Lease, NoOwnerError
from ._rediscore import _RELEASE, RedisCore, _Held, _Pending

__all__ = ["RedisCalls"]

logger = logging.getLogger("actorhttp.broker")

_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"""


class RedisCalls(RedisCore):
    """Leases and calls on Redis (see the module docstring)."""

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
            held.valid_until = held.lease.expires_at = start + self._lease_time
            self._owners[name] = self.node
        held.lease._set(bool(ok) and self._leases.get(name) is held)

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
        with self._guarded():
            await client.publish(self._key("inbox", str(header.get("from"))), frame)
