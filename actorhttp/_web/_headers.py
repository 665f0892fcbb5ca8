"""Headers: a response's header fields, as aiohttp's ``CIMultiDict``, refusing unsafe values.

Every write checks the name against RFC 9110's token grammar and the value
for CR, LF and NUL, raising ``ValueError`` naming the header, so a header
that could split a response is refused where it is set, never sent. Once
its response has been handed to the server the headers are frozen: every
change raises aiohttp's ``RuntimeError``, and nothing already sent changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from multidict import CIMultiDict, CIMultiDictProxy, istr

__all__ = ["Headers", "LooseHeaders", "check_field"]

LooseHeaders: TypeAlias = (
    Mapping[str, str] | Mapping[istr, str] | Iterable[tuple[str, str]] | CIMultiDictProxy[str]
)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")
_FROZEN_MESSAGE = "Cannot change the response headers after the headers have been sent"


def check_field(name: object, value: object) -> None:
    """``ValueError`` (or ``TypeError``) unless ``name: value`` is safe to put on the wire."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError(f"header names and values must be str, not {name!r}: {value!r}")
    if not _TOKEN.match(name):
        raise ValueError(f"invalid header name {name!r}")
    if _UNSAFE_VALUE.search(value):
        raise ValueError(f"header {name!r} has a CR, LF or NUL in its value {value!r}")


def _pairs(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    items: list[tuple[Any, Any]] = []
    for arg in args:
        if isinstance(arg, CIMultiDict | CIMultiDictProxy) or hasattr(arg, "items"):
            items.extend(arg.items())
        else:
            items.extend(arg)
    items.extend(kwargs.items())
    return items


class Headers(CIMultiDict[str]):
    """Case-insensitive, ordered multi-mapping of header fields; see the module docstring."""

    __slots__ = ("_frozen",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._frozen = False
        for name, value in _pairs(args, kwargs):
            check_field(name, value)
            super().add(name, value)

    @classmethod
    def _empty(cls) -> Headers:
        """No fields yet: what most responses start from (a quarter of ``Headers()``'s cost)."""
        headers: Headers = CIMultiDict.__new__(cls)
        headers._frozen = False
        return headers

    @classmethod
    def _trusted(cls, pairs: Iterable[tuple[str, str]] = ()) -> Headers:
        """Headers from values already known safe (our own, or checked): no re-check."""
        headers = cls()
        CIMultiDict.extend(headers, pairs)
        return headers

    def _put(self, name: str, value: str) -> None:
        """Set a field of ours, known safe, before the headers could be frozen."""
        CIMultiDict.__setitem__(self, name, value)

    def _check(self) -> None:
        if self._frozen:
            raise RuntimeError(_FROZEN_MESSAGE)

    def _freeze(self) -> None:
        self._frozen = True

    @property
    def frozen(self) -> bool:
        """True once the response these belong to has been handed to the server."""
        return self._frozen

    def __setitem__(self, name: str, value: str) -> None:
        self._check()
        check_field(str(name), value)
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._check()
        super().__delitem__(name)

    def add(self, name: str, value: str) -> None:
        self._check()
        check_field(str(name), value)
        super().add(name, value)

    def extend(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        for name, value in _pairs(args, kwargs):
            self.add(name, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        pairs = _pairs(args, kwargs)
        for name, value in pairs:
            check_field(str(name), value)
        super().update(pairs)

    def merge(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        pairs = _pairs(args, kwargs)
        for name, value in pairs:
            check_field(str(name), value)
        super().merge(pairs)

    def setdefault(self, name: str, default: str = "") -> str:
        if name in self:
            return self[name]
        self.add(name, default)
        return default

    def pop(self, name: str, *default: Any) -> Any:
        self._check()
        return super().pop(name, *default)

    def popone(self, name: str, *default: Any) -> Any:
        self._check()
        return super().popone(name, *default)

    def popall(self, name: str, *default: Any) -> Any:
        self._check()
        return super().popall(name, *default)

    def popitem(self) -> tuple[str, str]:
        self._check()
        return super().popitem()

    def clear(self) -> None:
        self._check()
        super().clear()

    def copy(self) -> Headers:
        """An unfrozen copy."""
        return Headers._trusted(self.items())
