"""The synchronous close every mailbox end and reply here shares: ``aclose``, ``with``.

Each of them closes without waiting (``close()``: a peer learns of it at
once), so ``aclose`` is that plus a checkpoint, and ``with`` closes on
the way out, whatever happened inside.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import trio

__all__ = ["SyncClose"]


class SyncClose:
    """A mixin for a class whose ``close()`` never waits (put it before trio's ABCs)."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close it (see ``close``); a checkpoint."""
        self.close()
        await trio.lowlevel.checkpoint()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
