"""Request header fields parsed as aiohttp parses them: ``Cookie``, ``Forwarded``, ``Range``.

Plain functions of header values, with no request and no I/O, so the
request class only caches what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from types import MappingProxyType

__all__ = ["parse_cookies", "parse_forwarded", "parse_range"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_FORWARDED_PAIR = re.compile(
    r"""([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[\t !#-\[\]-~\x80-\xff]|\\[\t !-~\x80-\xff])*"|"""
    r"""[!#$%&'*+.^_`|~0-9A-Za-z-]+)(:\d{1,4})?"""
)
_QUOTED_PAIR = re.compile(r"\\([\t !-~\x80-\xff])")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII | re.IGNORECASE)


def parse_cookies(headers: Iterable[str]) -> Mapping[str, str]:
    """The pairs of every ``Cookie`` field value (names that are not tokens are skipped)."""
    found: dict[str, str] = {}
    decode = SimpleCookie().value_decode
    for header in headers:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            name = name.strip()
            if sep and _TOKEN.match(name):
                found[name] = decode(value.strip())[0]
    return MappingProxyType(found)


def parse_range(value: str | None) -> slice:
    """A ``Range`` value as a slice (``slice(None, None, 1)`` when absent).

    ``ValueError`` when it is malformed, with aiohttp's messages.
    """
    if value is None:
        return slice(None, None, 1)
    match = _RANGE.match(value)
    if match is None:
        raise ValueError("range not in acceptable format")
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(2)) if match.group(2) else None
    if start is None and end is not None:
        start, end = -end, None  # the last `end` bytes
    elif start is not None and end is not None:
        end += 1  # inclusive on the wire, exclusive in a slice
        if start >= end:
            raise ValueError("start cannot be after end")
    elif start is None:
        raise ValueError("No start or end of range specified")
    return slice(start, end, 1)


def parse_forwarded(field_values: Iterable[str]) -> tuple[Mapping[str, str], ...]:
    """RFC 7239 ``Forwarded`` elements, one mapping per proxy hop, as aiohttp parses them."""
    elements: list[Mapping[str, str]] = []
    for field_value in field_values:
        length, pos, need_separator = len(field_value), 0, False
        element: dict[str, str] = {}
        elements.append(MappingProxyType(element))
        while 0 <= pos < length:
            match = _FORWARDED_PAIR.match(field_value, pos)
            if match is not None:
                if need_separator:
                    pos = field_value.find(",", pos)  # bad syntax: skip to the next element
                    continue
                name, value, port = match.groups()
                if value[0] == '"':
                    value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
                element[name.lower()] = value + (port or "")
                pos += len(match.group(0))
                need_separator = True
            elif field_value[pos] == ",":
                need_separator = False
                element = {}
                elements.append(MappingProxyType(element))
                pos += 1
            elif field_value[pos] == ";":
                need_separator = False
                pos += 1
            elif field_value[pos] in " \t":
                pos += 1
            else:
                pos = field_value.find(",", pos)
    return tuple(elements)
