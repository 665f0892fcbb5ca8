"""Static files: aiohttp's ``StaticResource``, serving a folder and never anything outside it.

``app.router.add_static("/static", folder)`` adds one resource for every
path under the prefix. A file is sent with ``FileResponse`` (streamed,
ETag, 304, ranges); a folder with ``show_index=True`` as an HTML listing,
else 403. No path leads out of the folder: ``..`` (plain or encoded),
encoded slashes and absolute paths, symlinks that point outside (unless
``follow_symlinks``) and symlink loops all end in 403 or 404.
``url_for(filename=..., append_version=True)`` adds ``?v=<hash of the file>``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import posixpath
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import trio
from yarl import URL

from ._routing import PrefixResource
from ._routing._pattern import finish_decoding
from ._web._exceptions import HTTPForbidden, HTTPNotFound
from ._web._fileresponse import DEFAULT_CHUNK_SIZE, FileResponse
from ._web._request import Request
from ._web._response import Response, StreamResponse
from .messages import Target

__all__ = ["StaticResource"]


class StaticResource(PrefixResource[Target]):
    """Files under ``directory`` at ``prefix/...`` (GET and HEAD)."""

    __slots__ = ("_append_version", "_chunk_size", "_directory", "_follow_symlinks", "_show_index")

    VERSION_KEY = "v"

    def __init__(
        self,
        prefix: str,
        directory: str | os.PathLike[str],
        *,
        name: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
        expect_handler: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__(prefix, name=name)
        try:
            folder = Path(directory).expanduser().resolve(strict=True)
        except FileNotFoundError as exc:
            raise ValueError(f"'{directory}' does not exist") from exc
        if not folder.is_dir():
            raise ValueError(f"'{directory}' is not a directory")
        self._directory = folder
        self._chunk_size = chunk_size
        self._show_index = show_index
        self._follow_symlinks = follow_symlinks
        self._append_version = append_version
        self.add_route("GET", self._handle, expect_handler=expect_handler)
        self.add_route("HEAD", self._handle, expect_handler=expect_handler)

    def match(self, path: str) -> Mapping[str, str] | None:
        """``{"filename": ...}`` for a path under the prefix, else None; dots resolved first."""
        # Dot segments are resolved first, as a URL library would: "/static/../x" is not
        # under "/static", and "/static/a/../b" is "/static/b".
        normal = posixpath.normpath(path) if "." in path else path
        if normal != self.key and not normal.startswith(self._under):
            return None
        return {"filename": finish_decoding(normal[len(self.key) + 1 :])}

    def url_for(  # type: ignore[override]
        self, *, filename: str | os.PathLike[str], append_version: bool | None = None
    ) -> URL:
        """``prefix/filename`` quoted; with ``append_version``, ``?v=`` the file's hash."""
        name = str(filename).lstrip("/")
        url = URL.build(path=f"{self.canonical}/{quote(name, safe='/')}", encoded=True)
        if append_version is None:
            append_version = self._append_version
        if append_version:
            try:
                path = self._file_for(name)
            except (HTTPForbidden, HTTPNotFound):
                return url  # no such file: no version to add
            if path.is_file():
                return url.with_query({self.VERSION_KEY: _file_hash(path)})
        return url

    def get_info(self) -> dict[str, Any]:
        """aiohttp's description: ``directory``, ``prefix`` and ``routes``."""
        return {"directory": self._directory, "prefix": self.canonical, "routes": self._routes}

    def set_options_route(self, handler: Target) -> None:
        """Answer OPTIONS under the folder with ``handler`` (aiohttp_cors's preflight);
        ``RuntimeError`` if it already has one."""
        if "OPTIONS" in self._routes:
            raise RuntimeError("OPTIONS route was set already")
        self.add_route("OPTIONS", handler)

    @property
    def directory(self) -> Path:
        """The folder served, resolved."""
        return self._directory

    def _file_for(self, filename: str) -> Path:
        """The path under the folder for ``filename``; 403/404 for any way out of it."""
        if "\x00" in filename or "\\" in filename or os.path.isabs(filename):
            raise HTTPNotFound()
        unresolved = self._directory.joinpath(filename)
        try:
            if self._follow_symlinks:
                normalized = Path(os.path.normpath(unresolved))
                normalized.relative_to(self._directory)  # the URL may not climb out...
                return normalized.resolve()  # ...but a link may lead anywhere
            resolved = unresolved.resolve(strict=False)
            resolved.relative_to(self._directory)
            return resolved
        except (ValueError, RuntimeError, OSError) as exc:  # outside, or a symlink loop
            raise HTTPNotFound() from exc

    def _response_for(self, filename: str) -> StreamResponse:
        path = self._file_for(filename)
        try:
            if path.is_dir():
                if self._show_index:
                    return Response(text=self._index_of(path), content_type="text/html")
                raise HTTPForbidden()
        except PermissionError as exc:
            raise HTTPForbidden() from exc
        return FileResponse(path, chunk_size=self._chunk_size)

    async def _handle(self, request: Request) -> StreamResponse:
        filename = request.match_info["filename"]
        # Filesystem calls block: a thread keeps them off the event loop.
        return await trio.to_thread.run_sync(self._response_for, filename)

    def _index_of(self, folder: Path) -> str:
        relative = folder.relative_to(self._directory).as_posix()
        title = f"Index of /{html.escape(relative)}"  # the root's is "Index of /.", as aiohttp
        items = []
        for entry in sorted(folder.iterdir()):
            url = quote(f"{self.canonical}/{entry.relative_to(self._directory).as_posix()}")
            label = entry.name + ("/" if entry.is_dir() else "")
            items.append(f'<li><a href="{url}">{html.escape(label)}</a></li>')
        listing = "\n".join(items)
        return (
            f"<html>\n<head>\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f"<ul>\n{listing}\n</ul>\n</body>\n</html>"
        )

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<StaticResource{name} {self.canonical} -> {self._directory!r}>"


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 16), b""):
            digest.update(block)
    return base64.urlsafe_b64encode(digest.digest()).decode("ascii")
