"""Another process on the same Redis, for tests/test_broker.py.

    python tests/broker_peer.py URL publish TOPIC COUNT   # says "ready", then publishes
    python tests/broker_peer.py URL track TOPIC KEY       # says "ready" once tracked

``publish`` publishes ``{"from": "peer", "n": n}`` for n below COUNT (the
test subscribes before it starts the peer). Both run until killed.
"""

from __future__ import annotations

import sys

import trio

from actorhttp.broker import open_broker


async def main(url: str, what: str, topic: str, arg: str) -> None:
    async with open_broker(url) as broker:
        if what == "publish":
            print("ready", flush=True)
            for n in range(int(arg)):
                await broker.publish(topic, {"from": "peer", "n": n})
            await trio.sleep_forever()
        async with broker.track(topic, arg):
            print("ready", flush=True)
            await trio.sleep_forever()


if __name__ == "__main__":
    url, what, topic, arg = sys.argv[1:5]
    trio.run(main, url, what, topic, arg)
