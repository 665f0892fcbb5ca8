"""Static files: a handler that serves a folder and never anything outside it."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from ._web._exceptions import HTTPForbidden, HTTPNotFound
from ._web._fileresponse import FileResponse
from ._web._request import Request
from ._web._response import StreamResponse
from .messages import Handler

__all__ = ["static_handler"]


def _resolve(root: Path, filename: str, follow_symlinks: bool) -> Path:
    """The file for ``filename`` under ``root``; 403 for any way out, 404 for none there."""
    if "\x00" in filename or "\\" in filename or os.path.isabs(filename):
        raise HTTPForbidden()
    if ".." in Path(filename).parts:
        raise HTTPForbidden()
    candidate = root / filename
    resolved = candidate.resolve()
    # resolve() follows symlinks, so a link that leads out of the folder fails here too.
    if not resolved.is_relative_to(root):
        raise HTTPForbidden()
    if not follow_symlinks and resolved != candidate.absolute():
        raise HTTPForbidden()
    if resolved.is_dir():
        raise HTTPForbidden()
    if not resolved.is_file():
        raise HTTPNotFound()
    return resolved


def static_handler(directory: str | os.PathLike[str], *, follow_symlinks: bool = False) -> Handler:
    """A handler for a ``.../{filename:.*}`` route serving files from ``directory``."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise ValueError(f"static folder {str(directory)!r} does not exist or is not a folder")

    async def serve_file(request: Request) -> StreamResponse:
        filename = request.match_info.get("filename", "")
        # Filesystem calls block; a thread keeps them off the event loop.
        path = await trio.to_thread.run_sync(_resolve, root, filename, follow_symlinks)
        return FileResponse(path)

    return serve_file
