"""Serve one plugin program on aiohttp or on actorhttp: ``python serve.py SERVER MODULE``.

``SERVER`` is ``aiohttp`` (the program as written) or ``actorhttp`` (the
same program with ``import actorhttp.aiohttp_patch`` first, as a user would
add it). The program's ``make_app()`` is served with ``web.run_app`` on a
socket bound here to a free port of 127.0.0.1, whose number is printed
first; SIGINT or SIGTERM stops it, as ``run_app`` handles them.
"""

from __future__ import annotations

import importlib
import socket
import sys
from pathlib import Path

server, module_name = sys.argv[1], sys.argv[2]
if server == "actorhttp":
    import actorhttp.aiohttp_patch  # noqa: F401  (first, before the program's imports)

sys.path.insert(0, str(Path(__file__).parent))
program = importlib.import_module(module_name)

from aiohttp import web  # noqa: E402  (after the patch, as the programs import it)

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print(sock.getsockname()[1], flush=True)
web.run_app(program.make_app(), sock=sock, print=None, access_log=None)
