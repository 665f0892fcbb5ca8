"""The broker's promises, for both implementations: topics, bounded subscribers, presence, faults.

``broker_url`` runs a test once with the in-process broker and once against
a real redis-server (started per test on a free port, persistence off), as
Django Channels tests its layers. Tests of what only Redis has (several
processes, a restart) use ``redis_server`` alone.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from actorhttp.broker import (
    Broker,
    BrokerUnavailable,
    Join,
    JsonCodec,
    Leave,
    MemoryBroker,
    NoOwnerError,
    RedisBroker,
    open_broker,
)

from .redisserver import RedisServer, free_port, need_redis_server

TIMEOUT = 20
ROOT = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "broker_peer.py"


async def eventually(check: Any, what: str, *, within: float = 10.0) -> None:
    """Wait until ``check()`` is true (an async callable), polling; fail naming ``what``."""
    with trio.move_on_after(within):
        while not await check():
            await trio.sleep(0.02)
        return
    raise AssertionError(f"not within {within} s: {what}")


async def test_every_subscriber_gets_every_message_in_publish_order(broker_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            open_broker(broker_url) as broker,
            broker.subscribe("numbers") as first,
            broker.subscribe("numbers") as second,
            broker.subscribe("other") as other,
        ):
            for n in range(50):
                assert await broker.publish("numbers", {"n": n, "tuple": (n, "x")})
            got: list[list[Any]] = [[], []]
            for index, subscription in enumerate((first, second)):
                for _ in range(50):
                    got[index].append(await subscription.receive())
            with pytest.raises(trio.WouldBlock):
                other.receive_nowait()
    expected = [{"n": n, "tuple": [n, "x"]} for n in range(50)]  # JSON: tuples come back lists
    assert got == [expected, expected]
    assert first.dropped == second.dropped == 0


async def test_a_slow_subscriber_drops_and_counts_without_holding_anyone_up(
    broker_url: str,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            open_broker(broker_url) as broker,
            broker.subscribe("feed", size=4) as slow,
            broker.subscribe("feed", size=100) as fast,
        ):
            for n in range(20):
                await broker.publish("feed", n)  # never waits for the slow one
            fast_got = [await fast.receive() for _ in range(20)]
            await trio.sleep(0.1)  # anything still on its way to the slow one has arrived
            slow_got = []
            while True:
                try:
                    slow_got.append(slow.receive_nowait())
                except trio.WouldBlock:
                    break
    assert fast_got == list(range(20))
    assert slow_got == [0, 1, 2, 3]  # the first four; what found its buffer full was dropped
    assert slow.dropped == 16
    assert fast.dropped == 0


async def test_messages_must_be_json_able(broker_url: str) -> None:
    async with open_broker(broker_url) as broker:
        with pytest.raises(TypeError, match="JSON-able"):
            await broker.publish("t", {"when": object()})
        with pytest.raises(TypeError, match="topic"):
            await broker.publish("", 1)


async def test_presence_lists_who_is_there_and_tells_joins_and_leaves(broker_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            open_broker(broker_url) as broker,
            broker.subscribe("room", presence=True) as watching,
            broker.subscribe("room") as messages_only,
        ):
            async with broker.track("room", "alice", {"device": "phone"}):
                async with broker.track("room", "bob"), broker.track("room", "alice", "laptop"):
                    present = await broker.presence("room")
                    assert sorted(present) == ["alice", "bob"]
                    assert sorted(map(str, present["alice"])) == ["laptop", "{'device': 'phone'}"]
                    await broker.publish("room", "hello")
                assert sorted(await broker.presence("room")) == ["alice"]
            assert await broker.presence("room") == {}
            events = [await watching.receive() for _ in range(6)]
            assert await messages_only.receive() == "hello"
    assert events == [
        Join("room", "alice", {"device": "phone"}),
        Join("room", "bob", None),
        Join("room", "alice", "laptop"),
        "hello",
        Leave("room", "alice", "laptop"),
        Leave("room", "bob", None),
    ]


def test_broker_urls_are_checked() -> None:
    assert isinstance(open_broker(None), MemoryBroker)
    assert isinstance(open_broker("memory://"), MemoryBroker)
    redis = open_broker("redis://127.0.0.1:6379/0?lease_time=2&prefix=app")
    assert isinstance(redis, RedisBroker)
    assert (redis.lease_time, redis.prefix) == (2.0, "app")
    broker = MemoryBroker()
    assert open_broker(broker) is broker
    secret = open_broker("redis://user:hunter2@127.0.0.1:6379/0")
    assert secret.url == "redis://user:***@127.0.0.1:6379/0"  # logs never show it
    assert "hunter2" not in repr(secret)
    with pytest.raises(ValueError, match="unknown broker URL 'amqp://x'"):
        open_broker("amqp://x")
    with pytest.raises(ValueError, match=r"unknown broker URL options \['lease'\]"):
        open_broker("redis://h:1/0?lease=2")
    with pytest.raises(ValueError, match="lease_time must be a positive number"):
        open_broker("redis://h:1/0?lease_time=0")
    with pytest.raises(TypeError, match="broker must be a Broker or a URL"):
        open_broker(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="codec must have encode"):
        MemoryBroker(codec=json)  # type: ignore[arg-type]
    assert repr(JsonCodec()) == "JsonCodec()"


json = object()  # not a codec: no encode/decode


def test_tls_options_pass_through_to_coredis_with_rediss_only() -> None:
    broker = open_broker("rediss://h:6380/0?ssl_ca_certs=/ca.pem&lease_time=2")
    assert isinstance(broker, RedisBroker)
    assert broker.lease_time == 2.0
    assert broker._connect_url == "rediss://h:6380/0?ssl_ca_certs=%2Fca.pem"
    with pytest.raises(ValueError, match=r"\['ssl_ca_certs'\] need rediss://"):
        open_broker("redis://h:6379/0?ssl_ca_certs=/ca.pem")


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, Path]]:
    """A redis-server that speaks TLS only, with a certificate from a private CA (its file)."""
    need_redis_server()
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths["cert"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    server = RedisServer(free_port(), tls=(str(paths["cert"]), str(paths["key"])))
    server.start()
    try:
        yield server, paths["ca"]
    finally:
        server.stop()


async def test_rediss_with_a_private_ca_carries_topics_and_refuses_an_unknown_server(
    tls_redis: tuple[RedisServer, Path],
) -> None:
    server, ca = tls_redis
    with trio.fail_after(TIMEOUT):
        async with (
            open_broker(f"{server.url}?ssl_ca_certs={ca}") as broker,
            broker.subscribe("t") as messages,
        ):
            assert await broker.publish("t", {"over": "tls"})
            assert await messages.receive() == {"over": "tls"}
        # Without the CA the server's certificate is not trusted: refused, naming the URL.
        with pytest.raises(BrokerUnavailable, match=f"cannot reach the broker at {server.url}"):
            async with open_broker(server.url):
                pass
        # Plain redis:// to a TLS port is refused too, not left hanging.
        plain = server.url.replace("rediss://", "redis://")
        with pytest.raises(BrokerUnavailable, match=f"cannot reach the broker at {plain}"):
            async with open_broker(plain):
                pass


async def test_an_unreachable_redis_at_start_names_its_url() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with trio.fail_after(TIMEOUT), pytest.raises(BrokerUnavailable) as raised:
        async with open_broker(url):
            pass
    assert f"cannot reach the broker at {url}" in str(raised.value)


def start_peer(url: str, *args: str) -> subprocess.Popen[str]:
    """Another process with a RedisBroker of its own (tests/broker_peer.py); it says 'ready'."""
    peer = subprocess.Popen(
        [sys.executable, str(PEER), url, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert peer.stdout is not None
    assert peer.stdout.readline().strip() == "ready"
    return peer


def kill_peer(peer: subprocess.Popen[str]) -> None:
    """SIGKILL: it says goodbye to nobody."""
    with peer:  # closes its pipes
        peer.kill()


async def test_topics_cross_processes(redis_server: RedisServer) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_broker(redis_server.url) as broker, broker.subscribe("t") as messages:
            peer = await trio.to_thread.run_sync(start_peer, redis_server.url, "publish", "t", "30")
            try:
                got = [await messages.receive() for _ in range(30)]
            finally:
                kill_peer(peer)
    assert got == [{"from": "peer", "n": n} for n in range(30)]


async def test_a_dead_process_leaves_presence_within_the_lease_time(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url + "?lease_time=1&health_interval=0.2"
    with trio.fail_after(TIMEOUT):
        async with open_broker(url) as broker, broker.subscribe("room", presence=True) as events:
            peer = await trio.to_thread.run_sync(start_peer, url, "track", "room", "carol")
            assert await events.receive() == Join("room", "carol", None)
            assert await broker.presence("room") == {"carol": [None]}
            kill_peer(peer)
            killed = trio.current_time()
            assert await events.receive() == Leave("room", "carol", None)
            took = trio.current_time() - killed
            assert await broker.presence("room") == {}
    assert took < 1 * 4 / 3 + 2  # the lease time and a beat, with room for a loaded machine


async def test_redis_restarted_while_subscribed(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker stays up, says so once, drops what is published meanwhile, then resumes."""
    caplog.set_level(logging.WARNING, "actorhttp.broker")
    url = redis_server.url + "?lease_time=1&health_interval=0.2"
    with trio.fail_after(TIMEOUT):
        async with (
            open_broker(url) as broker,
            broker.subscribe("t") as messages,
            broker.track("room", "dave"),
        ):
            assert await broker.publish("t", "before")
            assert await messages.receive() == "before"
            redis_server.stop()
            published = [await broker.publish("t", n) for n in range(5)]
            await trio.sleep(0.5)  # several health checks fail meanwhile: one log line
            with pytest.raises(BrokerUnavailable):
                await broker.presence("room")
            redis_server.start()

            async def delivered() -> bool:
                await broker.publish("t", "after")
                with trio.move_on_after(0.2):
                    while (await messages.receive()) != "after":
                        pass
                    return True
                return False

            await eventually(delivered, "a message after the restart")
            # Redis lost everything; the broker wrote its presence entry again.
            await eventually(
                lambda: _present(broker, "room", "dave"), "dave present after the restart"
            )
    assert published == [False] * 5
    assert broker.dropped >= 5
    lines = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in line for line in lines) == 1, lines
    assert sum("reachable again" in line for line in lines) == 1, lines


async def _present(broker: Broker, topic: str, key: str) -> bool:
    try:
        return key in await broker.presence(topic)
    except BrokerUnavailable:
        return False


async def test_a_subscription_gone_silent_is_noticed_and_made_again(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """coredis' PubSub can stop receiving without raising (after a Redis restart, say): the
    broker's own ping through it notices, and it connects and subscribes anew."""
    caplog.set_level(logging.WARNING, "actorhttp.broker")
    url = redis_server.url + "?health_interval=0.2"
    with trio.fail_after(TIMEOUT):
        async with open_broker(url) as broker, broker.subscribe("t") as messages:
            assert isinstance(broker, RedisBroker)
            # Silence, with no error anywhere: the subscriptions are dropped behind its back.
            await broker._pubsub.unsubscribe(broker._inbox, broker._topic("t"))

            async def delivered() -> bool:
                await broker.publish("t", "again")
                with trio.move_on_after(0.2):
                    return bool(await messages.receive() == "again")
                return False

            await eventually(delivered, "a message after the subscription went silent")
    assert "the subscription stopped receiving" in caplog.text


async def test_a_lease_has_one_holder_which_answers_the_calls_and_hands_over(
    broker_url: str,
) -> None:
    """Two competitors for one name (two processes' brokers, or two blocks in one process):
    one holds it and answers every call; when it lets go the other takes over."""

    async def answer_one(frame: bytes) -> bytes:
        return b"one:" + frame

    async def answer_two(frame: bytes) -> bytes:
        return b"two:" + frame

    with trio.fail_after(TIMEOUT):
        async with contextlib.AsyncExitStack() as stack:
            one = await stack.enter_async_context(open_broker(broker_url))
            two = one
            if not isinstance(one, MemoryBroker):
                two = await stack.enter_async_context(open_broker(broker_url))
            holding = one.lease("n", answer_one)
            first = await holding.__aenter__()
            await first.wait_owned()
            async with two.lease("n", answer_two) as second:
                await trio.sleep(0.3)  # time to try for it, and fail
                assert not second.owned
                assert await two.call("n", b"x") == b"one:x"
                await holding.__aexit__(None, None, None)  # the holder lets go
                await second.wait_owned()
                assert not first.owned
                assert await one.call("n", b"z") == b"two:z"
            with pytest.raises(NoOwnerError, match="'n'") as raised:
                await one.call("n", b"w", limit=0.2)
    assert raised.value.retry_after > 0
