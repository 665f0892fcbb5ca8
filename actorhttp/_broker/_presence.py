"""The Redis broker's presence: who is in a topic, across processes; dead nodes reaped.

Each entry is a field ``{node}|{ref}`` of the topic's hash, and the node
notes the topic in its own set, so that whoever finds the node dead (its
``alive`` key expired) can take its entries out and publish their
``Leave``. Entries are also kept in the process, and written again after
Redis lost them (a restart).
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ._base import JOIN, LEAVE, BrokerUnavailable
from ._rediscore import RedisCore

__all__ = ["RedisPresence"]

logger = logging.getLogger("actorhttp.broker")


class RedisPresence(RedisCore):
    """Presence on Redis (see the module docstring)."""

    async def _join(self, topic: str, ref: str, encoded: bytes) -> None:
        self._tracked[(topic, ref)] = encoded
        client = self._client
        if client is None:
            await trio.lowlevel.checkpoint()
            return
        with self._guarded():
            await self._write_entry(client, topic, ref, encoded)
            await client.publish(self._topic(topic), JOIN + encoded)

    async def _write_entry(self, client: Any, topic: str, ref: str, encoded: bytes) -> None:
        await client.hset(self._key("presence", topic), {f"{self.node}|{ref}": encoded})
        await client.sadd(self._key("presence-of", self.node), [topic])

    async def _leave(self, topic: str, ref: str, encoded: bytes) -> None:
        self._tracked.pop((topic, ref), None)
        client = self._client
        if client is None:
            await trio.lowlevel.checkpoint()
            return
        with self._guarded():
            await client.hdel(self._key("presence", topic), [f"{self.node}|{ref}"])
            await client.publish(self._topic(topic), LEAVE + encoded)

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
