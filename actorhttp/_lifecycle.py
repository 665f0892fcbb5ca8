"""An application's lifecycle signals, as aiohttp has them (aiosignal's Signal, CleanupContext).

``on_startup``, ``on_shutdown``, ``on_cleanup`` and ``on_response_prepare``
are :class:`Signal` lists of async callbacks, frozen (no more changes)
once the app is served. ``cleanup_ctx`` holds async generators (or async
context-manager factories): each runs to its ``yield`` at startup and on
from there at cleanup, last started first; when startup fails half-way,
only the contexts that started are cleaned up, in reverse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, MutableSequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar, overload

__all__ = ["CleanupContext", "CleanupError", "GracefulExit", "Signal"]

T = TypeVar("T")


class FrozenList(MutableSequence[T], Generic[T]):
    """A list that refuses changes once :meth:`freeze` has been called (``RuntimeError``)."""

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items = list(items)
        self._frozen = False

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        self._frozen = True

    def _check(self) -> None:
        if self._frozen:
            raise RuntimeError("Cannot modify frozen list.")

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> MutableSequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | MutableSequence[T]:
        return self._items[index]

    @overload
    def __setitem__(self, index: int, value: T) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[T]) -> None: ...
    def __setitem__(self, index: int | slice, value: Any) -> None:
        self._check()
        self._items[index] = value

    def __delitem__(self, index: int | slice) -> None:
        self._check()
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def insert(self, index: int, value: T) -> None:
        self._check()
        self._items.insert(index, value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}(frozen={self._frozen}, {self._items!r})>"


class Signal(FrozenList[Callable[..., Any]]):
    """Async callbacks run in order by :meth:`send` (aiosignal's ``Signal``)."""

    def __init__(self, owner: object) -> None:
        super().__init__()
        self._owner = owner

    async def send(self, *args: Any, **kwargs: Any) -> None:
        """Await every receiver in turn; the first exception stops the rest and propagates."""
        if not self._frozen:
            raise RuntimeError("Cannot send non-frozen signal.")
        for receiver in self:
            await receiver(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Signal owner={self._owner!r}, frozen={self._frozen}, {list(self)!r}>"


class GracefulExit(SystemExit):
    """Raised in a handler: the server stops gracefully, as on SIGTERM (aiohttp's name)."""

    code = 1


class CleanupError(RuntimeError):
    """More than one cleanup context failed; ``exceptions`` holds each error."""

    @property
    def exceptions(self) -> list[BaseException]:
        """The exceptions the cleanup callbacks raised, in the order they were raised."""
        found: list[BaseException] = self.args[1]
        return found


CleanupCallable = Callable[[Any], AbstractAsyncContextManager[None] | AsyncIterator[None]]


class CleanupContext(FrozenList[CleanupCallable]):
    """``app.cleanup_ctx``: contexts entered at startup, exited at cleanup in reverse."""

    def __init__(self) -> None:
        super().__init__()
        self._exits: list[AbstractAsyncContextManager[None]] = []

    async def _on_startup(self, app: Any) -> None:
        for factory in self:
            ctx = factory(app)
            if not isinstance(ctx, AbstractAsyncContextManager):
                ctx = asynccontextmanager(factory)(app)  # type: ignore[arg-type]
            await ctx.__aenter__()
            self._exits.append(ctx)  # only what started is cleaned up

    async def _on_cleanup(self, app: Any) -> None:
        errors: list[BaseException] = []
        while self._exits:
            ctx = self._exits.pop()
            try:
                await ctx.__aexit__(None, None, None)
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise CleanupError("Multiple errors on cleanup stage", errors)
