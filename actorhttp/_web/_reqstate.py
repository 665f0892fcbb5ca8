"""A request as a mapping, as aiohttp's: ``request[key]`` state that lives as long as the request.

Middlewares and handlers share values through it (``request[USER] = user``),
keyed by typed :class:`RequestKey`s (a plain ``str`` key works and warns
once, as aiohttp). The whole of ``MutableMapping``'s API is here, written
out rather than inherited: an ABC base would make every ``isinstance`` check
against ``Request`` on the hot path go through ``ABCMeta``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView
from typing import Any, TypeVar, overload

from ._helpers import RequestKey, warn_str_key

__all__ = ["RequestState"]

T = TypeVar("T")


class RequestState:
    """The mapping half of ``web.Request``; the class using it holds ``_state``, a dict."""

    __slots__ = ()
    _state: dict[Any, Any]

    @overload
    def __getitem__(self, key: RequestKey[T]) -> T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: Any) -> Any:
        return self._state[key]

    @overload
    def __setitem__(self, key: RequestKey[T], value: T) -> None: ...
    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __setitem__(self, key: Any, value: Any) -> None:
        warn_str_key("request", key)
        self._state[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._state[key]

    def __contains__(self, key: object) -> bool:
        return key in self._state

    def __iter__(self) -> Iterator[Any]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    def __bool__(self) -> bool:
        return True  # a request is never falsy, whatever its state holds (as aiohttp)

    def get(self, key: Any, default: Any = None) -> Any:
        """``request[key]`` if set, else ``default`` (as ``dict.get``)."""
        return self._state.get(key, default)

    def keys(self) -> KeysView[Any]:
        """The keys set on this request."""
        return self._state.keys()

    def values(self) -> ValuesView[Any]:
        """The values set on this request."""
        return self._state.values()

    def items(self) -> ItemsView[Any, Any]:
        """The ``(key, value)`` pairs set on this request."""
        return self._state.items()

    def pop(self, key: Any, *default: Any) -> Any:
        """Remove ``key`` and return its value, or ``default``; ``KeyError`` without one."""
        return self._state.pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:
        """Remove and return the last pair set; ``KeyError`` when there is none."""
        return self._state.popitem()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``request[key]``, set to ``default`` first if it was not set."""
        if key not in self._state:
            self[key] = default
        return self._state[key]

    def update(self, other: Iterable[tuple[Any, Any]] | Any = (), /, **more: Any) -> None:
        """Set every pair of ``other`` (a mapping or pairs) and of ``more``."""
        pairs = other.items() if hasattr(other, "items") else other
        for key, value in pairs:
            self[key] = value
        for key, value in more.items():
            self[key] = value

    def clear(self) -> None:
        """Remove everything set on this request."""
        self._state.clear()
