"""Query: the parsed query string, a read-only multi-mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl

__all__ = ["Query"]


class Query(Mapping[str, str]):
    """``query[key]`` is the first value; ``getall(key)`` every one, in order."""

    __slots__ = ("_items",)

    def __init__(self, query_string: str = "") -> None:
        self._items = parse_qsl(query_string, keep_blank_values=True)

    def getall(self, key: str) -> list[str]:
        return [value for name, value in self._items if name == key]

    def __getitem__(self, key: str) -> str:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __len__(self) -> int:
        return len({name for name, _ in self._items})

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Query({self._items!r})"
