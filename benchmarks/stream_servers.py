"""Servers for benchmarks/streams.py: ``python benchmarks/stream_servers.py KIND PORT DIR``.

Every kind serves, on 127.0.0.1:PORT until killed, one application built by
:func:`build_app` from a ``web`` module: ``actorhttp.web`` or ``aiohttp.web``.
The handlers are the same code for both; only the module differs.

* ``GET /hello`` -> ``Hello, World!`` (the readiness check)
* ``GET /stream?size=N`` -> N bytes, a ``StreamResponse`` with a Content-Length:
  ``prepare``, then ``write`` of the 64 KiB chunks of :func:`payload_chunks`, then
  ``write_eof``.
* ``POST /upload`` (``multipart/form-data``) -> JSON: text parts are read with
  ``text()``; each file part is written to a new file in DIR with
  ``read_chunk(64 KiB)``; the answer lists the files saved (path and size). The
  benchmark deletes them.

The payload helpers are shared with the client side of benchmarks/streams.py, so
both ends agree on the bytes.
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Running this as a script puts its folder first on sys.path, where benchmarks/http.py
# would shadow the standard library's ``http`` package. Take that entry out.
if sys.path and abspath(sys.path[0] or ".") == dirname(abspath(__file__)):
    sys.path.pop(0)

import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

HOST = "127.0.0.1"
HELLO = "Hello, World!"
CHUNK = 64 * 1024
KINDS = ("actorhttp-httptools", "actorhttp-hypercorn", "aiohttp")

_BLOCK = bytes(range(256)) * (CHUNK // 256)


def payload_chunks(size: int) -> Iterator[bytes]:
    """``size`` bytes in 64 KiB chunks; each starts with its index, so order is checked too."""
    for index, offset in enumerate(range(0, size, CHUNK)):
        chunk = index.to_bytes(8, "big") + _BLOCK[8:]
        yield chunk[: size - offset]


_CRC_CACHE: dict[int, int] = {}


def payload_crc32(size: int) -> int:
    """The CRC-32 of ``payload_chunks(size)`` joined (computed once per size)."""
    if size not in _CRC_CACHE:
        crc = 0
        for chunk in payload_chunks(size):
            crc = zlib.crc32(chunk, crc)
        _CRC_CACHE[size] = crc
    return _CRC_CACHE[size]


def build_app(web: ModuleType, upload_dir: Path) -> Any:
    """The benchmark application, written once against aiohttp's ``web`` API."""

    async def hello(request: Any) -> Any:
        return web.Response(text=HELLO)

    async def stream(request: Any) -> Any:
        size = int(request.query.get("size", "0"))
        response = web.StreamResponse()
        response.content_type = "application/octet-stream"
        response.content_length = size
        await response.prepare(request)
        for chunk in payload_chunks(size):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def upload(request: Any) -> Any:
        reader = await request.multipart()
        saved: list[dict[str, Any]] = []
        fields: dict[str, str] = {}
        while (part := await reader.next()) is not None:
            if part.filename:
                fd, path = tempfile.mkstemp(dir=upload_dir, suffix=".upload")
                size = 0
                with os.fdopen(fd, "wb") as file:
                    while chunk := await part.read_chunk(CHUNK):
                        file.write(chunk)
                        size += len(chunk)
                saved.append({"name": part.name, "path": path, "size": size})
            else:
                fields[part.name] = await part.text()
        return web.json_response({"files": saved, "fields": fields})

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/stream", stream)
    app.router.add_post("/upload", upload)
    return app


def serve_actorhttp(port: int, upload_dir: Path, transport: str) -> None:
    from actorhttp import web

    web.run_app(build_app(web, upload_dir), host=HOST, port=port, transport=transport, print=None)


def serve_aiohttp(port: int, upload_dir: Path) -> None:
    from aiohttp import web

    web.run_app(build_app(web, upload_dir), host=HOST, port=port, access_log=None, print=None)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in KINDS or not argv[1].isdigit():
        print(
            f"usage: python benchmarks/stream_servers.py {{{','.join(KINDS)}}} PORT DIR",
            file=sys.stderr,
        )
        return 2
    kind, port, upload_dir = argv[0], int(argv[1]), Path(argv[2])
    if not upload_dir.is_dir():
        print(f"not a directory: {upload_dir}", file=sys.stderr)
        return 2
    if kind == "aiohttp":
        serve_aiohttp(port, upload_dir)
    else:
        serve_actorhttp(port, upload_dir, kind.removeprefix("actorhttp-"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
