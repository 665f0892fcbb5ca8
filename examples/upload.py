"""A form and a file upload, as aiohttp programs write them.

    python examples/upload.py [--port 8080] [--folder uploads]

* POST /form (urlencoded or multipart): ``await request.post()`` gives the
  fields; a file field is a ``web.FileField`` whose ``file`` is a temporary
  file. Bounded by ``client_max_size`` (here 10 MiB): past it, 413.
* POST /upload (multipart): ``await request.multipart()`` streams each part
  to disk chunk by chunk, so a file of any size never sits in memory; the
  answer lists what was saved and its SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

import trio

from actorhttp import web

FOLDER = web.AppKey("folder", Path)


async def form(request: web.Request) -> web.Response:
    fields = await request.post()
    out: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            out[name] = {"filename": value.filename, "size": len(data), "type": value.content_type}
        else:
            out[name] = value
    return web.json_response(out)


async def upload(request: web.Request) -> web.Response:
    reader = await request.multipart()
    saved = []
    async for part in reader:
        if not part.filename:
            await part.release()
            continue
        name = Path(part.filename).name  # never a path the client chose
        target = request.app[FOLDER] / name
        digest = hashlib.sha256()
        size = 0
        async with await trio.open_file(target, "wb") as out:
            while chunk := await part.read_chunk(256 * 1024):
                digest.update(chunk)
                size += len(chunk)
                await out.write(chunk)
        saved.append({"filename": name, "size": size, "sha256": digest.hexdigest()})
    return web.json_response({"saved": saved})


def make_app(folder: Path) -> web.Application:
    app = web.Application(client_max_size=10 * 1024 * 1024)
    app[FOLDER] = folder
    app.router.add_post("/form", form)
    app.router.add_post("/upload", upload)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--folder", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"saving uploads to {folder}", flush=True)
        web.run_app(make_app(folder), host=args.host, port=args.port)
