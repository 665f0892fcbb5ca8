"""What HTTP/2 costs a server before any I/O or application: h2 alone, and our connection on it.

What it measures
----------------
CPU microseconds per request of the sans-IO HTTP/2 work a server does for
``GET /hello`` answered ``Hello, World!``, with no sockets, no TLS, no
application: the client's bytes are replayed into a server connection, which
answers each request, and the time is the process's CPU time
(``time.process_time``) over a loop of batches, the best of several repeats.

The client's bytes are recorded once from h2's client side, as ``h2load -m10``
sends them: a batch of 10 requests (HEADERS frames with END_STREAM) each time
the previous 10 were answered, on one connection; its fields are h2load's
(``:method``, ``:path``, ``:scheme``, ``:authority``, ``user-agent``). The
server's answer is what actorhttp sends for ``web.Response(text=...)``:
``:status``, ``content-type``, ``content-length``, ``date``, and the body.

Servers:

* ``h2 alone``: h2's ``H2Connection`` with header validation off, making only
  the calls any server on h2 must make: ``receive_data`` per batch,
  ``send_headers`` and ``send_data`` per request, ``data_to_send`` per batch.
  The floor under every h2-based server (hypercorn, actorhttp).
* ``h2 as actorhttp runs it`` (``_h2engine.new_engine``): the same calls, on
  h2 set up as actorhttp's engine (HPACK that remembers unchanged-table blocks,
  the configuration as plain attributes).
* ``actorhttp's connection`` (``_h2conn.H2Connection``): everything our
  sans-IO layer adds (head checks, the dangers' budgets, stream bookkeeping).

Requests:

* ``repeated``: the same request again and again (what h2load sends);
* ``distinct``: a different path each time (``/hello?n=N``), so no header
  block repeats, as a browser's requests for different resources.

How to run (from the repository root)
-------------------------------------
::

    .venv/bin/python benchmarks/h2_engine.py           # about 30 s
    .venv/bin/python benchmarks/h2_engine.py --quick   # smoke run
    .venv/bin/python benchmarks/h2_engine.py --server h2-alone --json  # one figure

``benchmarks/http.py --h2`` runs the ``h2 alone`` figure pinned to the server's
CPU in each round, beside the servers, so that its ratio to aiohttp's
HTTPS/1.1 request is taken in the same run. This checkout's actorhttp is measured.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Run as a script, this file's folder comes first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http``. Put the checkout's root there instead.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)
sys.path.insert(0, dirname(dirname(abspath(__file__))))

import argparse
import gc
import json
import time
from collections.abc import Callable

import h2.config
import h2.connection
import h2.events

from actorhttp._transports._h1 import H1Limits
from actorhttp._transports._h2conn import H2Connection, H2Settings, RequestHead
from actorhttp._transports._h2engine import new_engine

STREAMS = 10  # concurrent requests per batch (h2load -m10)
BODY = b"Hello, World!"
DATE = b"Mon, 07 Dec 2026 15:50:11 GMT"
ANSWER = [
    (b":status", b"200"),
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"%d" % len(BODY)),
    (b"date", DATE),
]
FIELDS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY)))]
SERVERS = ("h2-alone", "h2-engine", "actorhttp")
LABELS = {
    "h2-alone": "h2 alone",
    "h2-engine": "h2 as actorhttp runs it",
    "actorhttp": "actorhttp's connection",
}
KINDS = ("repeated", "distinct")

Server = Callable[[list[bytes]], int]  # replays the reads; the requests answered


def record(batches: int, distinct: bool) -> list[bytes]:
    """The client's reads: its preface and SETTINGS, then ``batches`` batches of requests.

    Played against a plain h2 server as it is recorded, so that the client sees
    answers, closes its streams and acknowledges our SETTINGS as h2load does.
    """
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    server = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding=None)
    )
    client.initiate_connection()
    server.initiate_connection()
    reads = [client.data_to_send()]
    client.receive_data(server.data_to_send())
    server.receive_data(reads[0])
    stream_id = 1
    for batch in range(batches):
        for n in range(STREAMS):
            path = b"/hello?n=%d" % (batch * STREAMS + n) if distinct else b"/hello"
            client.send_headers(
                stream_id,
                [
                    (b":method", b"GET"),
                    (b":path", path),
                    (b":scheme", b"https"),
                    (b":authority", b"127.0.0.1:8443"),
                    (b"user-agent", b"h2load nghttp2/1.52.0"),
                ],
                end_stream=True,
            )
            stream_id += 2
        data = client.data_to_send()
        reads.append(data)
        for event in server.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                server.send_headers(event.stream_id, ANSWER)
                server.send_data(event.stream_id, BODY, end_stream=True)
        client.receive_data(server.data_to_send())
    return reads


def _plain_h2() -> h2.connection.H2Connection:
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
    )
    conn.initiate_connection()
    return conn


def _h2_calls(make: Callable[[], h2.connection.H2Connection]) -> Server:
    def serve(reads: list[bytes]) -> int:
        conn = make()
        conn.data_to_send()
        answered = 0
        for data in reads:
            for event in conn.receive_data(data):
                if type(event) is h2.events.RequestReceived:
                    conn.send_headers(event.stream_id, ANSWER)
                    conn.send_data(event.stream_id, BODY, end_stream=True)
                    answered += 1
            conn.data_to_send()
        return answered

    return serve


def _actorhttp(reads: list[bytes]) -> int:
    conn = H2Connection(H1Limits(), H2Settings(), now=0.0)
    conn.data_to_send()
    answered = 0
    for data in reads:
        for event in conn.receive_data(data, 1.0):
            if type(event) is RequestHead:
                conn.send_head(event.stream_id, 200, FIELDS, DATE, False)
                conn.send_whole(event.stream_id, BODY)
                conn.stream_done(event.stream_id, 1.0)
                answered += 1
        conn.data_to_send()
    return answered


def server(name: str) -> Server:
    """The replaying server ``name`` (one of :data:`SERVERS`)."""
    if name == "h2-alone":
        return _h2_calls(_plain_h2)
    if name == "h2-engine":
        return _h2_calls(lambda: new_engine(100, 65536 + 3200, 1 << 20))
    return _actorhttp


def measure(name: str, kind: str, batches: int, repeats: int) -> float:
    """CPU microseconds per request of server ``name`` on ``kind`` requests: best of repeats."""
    reads = record(batches, distinct=kind == "distinct")
    serve = server(name)
    expected = batches * STREAMS
    if serve(reads) != expected:  # a warm-up, and a check that every request was answered
        raise RuntimeError(f"{name} did not answer all {expected} {kind} requests")
    best = float("inf")
    gc.collect()
    for _ in range(repeats):
        start = time.process_time()
        serve(reads)
        best = min(best, time.process_time() - start)
    return best / expected * 1e6


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer, shorter loops")
    parser.add_argument("--server", choices=SERVERS, help="only this server")
    parser.add_argument("--kind", choices=KINDS, help="only these requests")
    parser.add_argument("--json", action="store_true", help="print {server: {kind: us}} only")
    args = parser.parse_args(argv)
    batches, repeats = (50, 3) if args.quick else (500, 7)
    names = [args.server] if args.server else list(SERVERS)
    kinds = [args.kind] if args.kind else list(KINDS)
    figures: dict[str, dict[str, float]] = {}
    for name in names:
        figures[name] = {kind: measure(name, kind, batches, repeats) for kind in kinds}
    if args.json:
        print(json.dumps(figures))
        return 0
    print("| server | " + " | ".join(f"{kind}: CPU us/request" for kind in kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for name in names:
        cells = " | ".join(f"{figures[name][kind]:.1f}" for kind in kinds)
        print(f"| {LABELS[name]} | {cells} |")
    print(
        f"\n{batches} batches of {STREAMS} requests on one connection, replayed into a fresh "
        f"server connection, best of {repeats}; no I/O, TLS or application."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
