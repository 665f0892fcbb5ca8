"""Headers: a case-insensitive, ordered multi-mapping that refuses unsafe values.

Every write checks the name against RFC 9110's token grammar and the value for
CR, LF and NUL, raising ``ValueError`` naming the header; so a header that
could split a response is refused where it is set, never sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import overload

__all__ = ["Headers"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")


def _check(name: str, value: str) -> None:
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError(f"header names and values must be str, not {name!r}: {value!r}")
    if not _TOKEN.match(name):
        raise ValueError(f"invalid header name {name!r}")
    if _UNSAFE_VALUE.search(value):
        raise ValueError(f"header {name!r} has a CR, LF or NUL in its value {value!r}")


class Headers(MutableMapping[str, str]):
    """Ordered ``(name, value)`` pairs; lookups ignore case, ``getall`` sees repeats.

    ``headers[name] = value`` replaces every field of that name; ``add`` appends one.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = []  # (lowered name, name, value)
        if isinstance(items, Headers):
            pairs: Iterable[tuple[str, str]] = items.multi_items()  # keep repeated fields
        else:
            pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self.add(name, value)

    @classmethod
    def _trusted(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Headers from a parser that has already validated them (no re-check)."""
        headers = cls.__new__(cls)
        headers._items = [(name.lower(), name, value) for name, value in pairs]
        return headers

    def add(self, name: str, value: str) -> None:
        _check(name, value)
        self._items.append((name.lower(), name, value))

    def getall(self, name: str, default: list[str] | None = None) -> list[str]:
        key = name.lower()
        values = [value for lowered, _, value in self._items if lowered == key]
        if values or default is None:
            return values
        return default

    @overload
    def getone(self, name: str) -> str: ...
    @overload
    def getone(self, name: str, default: str) -> str: ...
    def getone(self, name: str, default: str | None = None) -> str:
        key = name.lower()
        for lowered, _, value in self._items:
            if lowered == key:
                return value
        if default is None:
            raise KeyError(name)
        return default

    def __getitem__(self, name: str) -> str:
        return self.getone(name)

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        # Mapping.get goes through a KeyError for every miss: too dear per request.
        key = name.lower()
        for lowered, _, value in self._items:
            if lowered == key:
                return value
        return default

    def __setitem__(self, name: str, value: str) -> None:
        _check(name, value)
        key = name.lower()
        self._items = [item for item in self._items if item[0] != key]
        self._items.append((key, name, value))

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        kept = [item for item in self._items if item[0] != key]
        if len(kept) == len(self._items):
            raise KeyError(name)
        self._items = kept

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(item[0] == key for item in self._items)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for lowered, name, _ in self._items:
            if lowered not in seen:
                seen.add(lowered)
                yield name

    def __len__(self) -> int:
        return len({item[0] for item in self._items})

    def multi_items(self) -> list[tuple[str, str]]:
        """Every field in order, repeats included: what goes on the wire."""
        return [(name, value) for _, name, value in self._items]

    def copy(self) -> Headers:
        return Headers._trusted(self.multi_items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            # Names compare without case; the order of fields (repeats included) matters.
            return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.multi_items()!r})"
