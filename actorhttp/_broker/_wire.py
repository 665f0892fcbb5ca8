"""The named-actor wire protocol: a request to a remote actor, and its answer, as bytes.

A call frame is a JSON head, a NUL byte (JSON never contains a raw one)
and the request body as it is::

    {"method", "path", "query", "headers": [[name, value], ...], "match_info",
     "scheme", "remote", "version": [1, 1], "timeout": seconds or null} \\0 body

An answer frame is ``{"status", "reason", "headers"} \\0 body``: the
response as :func:`~actorhttp._transports._framing.frame` puts it on the
wire (so compression, cookies and HEAD's empty body are the owner's, done
once), minus the fields the receiving server owns. Header bytes travel as
latin-1 text, which maps every byte to one character and back.
"""

from __future__ import annotations

import json
from typing import Any

import trio
from multidict import CIMultiDict

from .._reply import Reply
from .._routing._matchinfo import UrlMappingMatchInfo
from .._routing._resolution import Match
from .._transports._framing import frame as wire_frame
from .._web._helpers import HttpVersion
from .._web._newrequest import new_request
from .._web._request import Request
from .._web._response import Response, StreamResponse
from .._web._streams import StreamReader

__all__ = ["decode_answer", "decode_call", "encode_answer", "encode_call", "refusal"]


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    head, sep, body = data.partition(b"\0")
    if not sep:
        raise ValueError("a named-actor frame without its head")
    decoded = json.loads(head)
    if not isinstance(decoded, dict):
        raise ValueError("a named-actor frame's head is not an object")
    return decoded, body


def _join(head: dict[str, Any], body: bytes) -> bytes:
    return json.dumps(head, separators=(",", ":")).encode() + b"\0" + body


async def encode_call(request: Request, limit: float | None) -> bytes:
    """``request`` as a call frame: its body is read (413 past ``client_max_size``).

    ``limit``: the seconds the caller will wait for the answer (``None``: no bound).
    """
    body = await request.read()
    head = {
        "method": request.method,
        "path": request.raw_target_path,
        "query": request.raw_query_string,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
        "match_info": dict(request.match_info),
        "scheme": request.scheme,
        "remote": request.remote,
        "version": [request.version.major, request.version.minor],
        "timeout": limit,
    }
    return _join(head, body)


def decode_call(data: bytes, reply: Reply, app: Any) -> tuple[Request, float | None]:
    """A call frame as a routed Request answering on ``reply``, and the caller's timeout."""
    head, body = _split(data)

    async def receive() -> bytes:
        nonlocal body
        chunk, body = body, b""
        await trio.lowlevel.checkpoint()
        return chunk

    raw_headers = tuple(
        (str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in head["headers"]
    )
    remote = head.get("remote")
    request = new_request(
        str(head["method"]),
        str(head["path"]),
        str(head["query"]),
        raw_headers,
        StreamReader(receive, declared_length=len(body)),
        reply,
        HttpVersion(*head.get("version", (1, 1))),
        str(head.get("scheme", "http")),
        (remote, 0) if isinstance(remote, str) else None,
        client_max_size=None,  # the caller's limit was applied where it was read
    )
    parts = {str(k): str(v) for k, v in head["match_info"].items()}
    request._route(_match_info(request, parts, app), app)
    timeout = head.get("timeout")
    return request, float(timeout) if isinstance(timeout, int | float) else None


def _match_info(request: Request, parts: dict[str, str], app: Any) -> UrlMappingMatchInfo:
    """``match_info`` as the caller's router made it: the caller's parts, and this app's
    route for the request (the same program runs on both sides; None where it does not)."""
    route: Any = None
    apps: tuple[Any, ...] = ()
    router = getattr(app, "router", None)
    if router is not None:
        found = router.resolve(request.method, request.raw_target_path, request.headers.get("Host"))
        if isinstance(found, Match):
            route, apps = found.route, found.apps
    full = apps if app is None else (app, *apps)
    return UrlMappingMatchInfo(parts, route, full, full[-1] if full else None, frozen=True)


def encode_answer(response: StreamResponse, method: str, accept_encoding: str | None) -> bytes:
    """A handed-over whole response as an answer frame (not a stream: see ``_actors``)."""
    wire = wire_frame(response, method, accept_encoding=accept_encoding)
    head = {
        "status": wire.status,
        "reason": wire.reason,
        "headers": [[k, v] for k, v in wire.headers],
    }
    return _join(head, wire.body)


def refusal(status: int, text: str) -> bytes:
    """An answer frame for a plain-text error ``status`` saying ``text``."""
    return encode_answer(Response(status=status, text=text), "GET", None)


def decode_answer(data: bytes) -> Response:
    """An answer frame as a Response for the caller's client."""
    head, body = _split(data)
    headers = CIMultiDict((str(k), str(v)) for k, v in head["headers"])
    return Response(
        body=body, status=int(head["status"]), reason=str(head["reason"]), headers=headers
    )
