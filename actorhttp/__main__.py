"""``python -m actorhttp module:app``: see :mod:`actorhttp._cli`."""

from ._cli import main

main()
