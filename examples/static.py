"""Static files with a folder listing, versioned URLs and a page that uses them.

    python examples/static.py [--port 8080] [--folder PATH]

``/`` renders a page whose stylesheet URL carries ``?v=<hash>``
(``append_version``), so a browser may cache it forever and still see a new
version; ``/files/`` lists the folder (``show_index``). Files are streamed
with ETag, 304 and ranges; nothing outside the folder is ever served.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from actorhttp import web

PAGE = """<!doctype html>
<link rel="stylesheet" href="{css}">
<h1>static files</h1>
<p><a href="/files/">browse the folder</a></p>
"""


def make_app(folder: Path) -> web.Application:
    app = web.Application()
    static = app.router.add_static(
        "/files", folder, name="files", show_index=True, append_version=True
    )

    async def index(request: web.Request) -> web.Response:
        css = static.url_for(filename="style.css")
        return web.Response(text=PAGE.format(css=css), content_type="text/html")

    app.router.add_get("/", index)
    return app


def sample_folder(root: Path) -> Path:
    (root / "docs").mkdir(exist_ok=True)
    (root / "style.css").write_text("h1 { color: teal; }\n")
    (root / "docs" / "readme.txt").write_text("plain text, served as text/plain\n")
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 sample bytes, sent as stored")
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--folder", type=Path, default=None, help="default: a sample folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or sample_folder(Path(scratch))
        web.run_app(make_app(folder), host=args.host, port=args.port)
