"""A dynamic route cut into path segments, for the route index.

aiohttp files each resource under an *index key*: the literal text of its
path up to the last ``/`` before the first ``{``, trailing slashes stripped
(``/`` if nothing is left). :func:`layout` computes that key and cuts the
rest of the pattern into segments the index can look up one by one:

* a **literal** segment (``items``), found by a dict lookup;
* a **parameter** segment: one or more parts with literal text around them
  (``{id}``, ``{id:\\d+}``, ``r{n}``, ``{a}-{b}``), whose parts can never
  match a ``/``; it is filed under its *lead*, the literal text before its
  first part, and matched against a request segment with one regex;
* where a part *may* match ``/`` (``{tail:.*}``), the segments stop: from
  there on the resource is tried with its own full regex (it *spans*).

Everything is in routing form (see :func:`~._pattern.routing_path`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._pattern import Pattern, routing_path

__all__ = ["Layout", "ParamSegment", "Segment", "index_key", "layout", "stays_in_segment"]


@dataclass(frozen=True, slots=True)
class ParamSegment:
    """A segment holding parts: its literal lead, and the regex for the whole segment."""

    lead: str
    regex: re.Pattern[str]


Segment = str | ParamSegment


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a dynamic pattern goes in the index.

    ``key`` is aiohttp's index key; ``segments`` follow it; ``spans`` says that
    after them comes a part that may match ``/``, so the resource is tried
    with its full regex once a request has matched ``segments``.
    """

    key: str
    segments: tuple[Segment, ...]
    spans: bool


def index_key(literal: str) -> str:
    """aiohttp's index key for a resource whose literal path (or prefix) is ``literal``.

    ``/a/b/`` -> ``/a/b``; ``/`` -> ``/``. For a dynamic path, :func:`layout`
    first cuts its text before the first ``{`` back to the last ``/``.
    """
    return literal.rstrip("/") or "/"


def layout(pattern: Pattern) -> Layout:
    """The index key and the segments after it for a dynamic ``pattern``."""
    pieces: list[str | re.Pattern[str]] = [
        routing_path(piece) if isinstance(piece, str) else piece[1] for piece in pattern.pieces
    ]
    # A path starts with "/", so its first piece is its text before the first "{".
    head = pieces[0] if isinstance(pieces[0], str) else ""
    key = index_key(head.rpartition("/")[0])
    # A request's text after the key starts with "/" (or is empty): cut the pattern
    # at the same place. Under the root key, that is the whole path.
    if isinstance(pieces[0], str) and key != "/":
        pieces[0] = head[len(key) :]
    segments: list[list[str | re.Pattern[str]]] = []
    before_first_slash: list[str | re.Pattern[str]] = []
    current = before_first_slash
    for piece in pieces:
        if isinstance(piece, re.Pattern):
            current.append(piece)
            continue
        first, *rest = piece.split("/")
        if first:
            current.append(first)
        for text in rest:
            current = [text] if text else []
            segments.append(current)
    if before_first_slash:
        raise ValueError(f"route path must start with '/': {pattern.path!r}")
    found: list[Segment] = []
    for parts in segments:
        regexes = [part for part in parts if isinstance(part, re.Pattern)]
        if not regexes:
            found.append("".join(part for part in parts if isinstance(part, str)))
        elif all(stays_in_segment(regex.pattern) for regex in regexes):
            found.append(_param_segment(parts))
        else:
            return Layout(key, tuple(found), spans=True)
    return Layout(key, tuple(found), spans=False)


def _param_segment(parts: list[str | re.Pattern[str]]) -> ParamSegment:
    lead = parts[0] if isinstance(parts[0], str) else ""
    source = "".join(
        re.escape(part) if isinstance(part, str) else f"(?:{part.pattern})" for part in parts
    )
    return ParamSegment(lead, re.compile(source))


# -- which parts stay inside one segment ---------------------------------------------

# \d \w \s never match "/"; \b and \B see the same at a segment's edge as next to
# its "/" (a non-word character either way).
_SAFE_ESCAPES = frozenset("dwsbB")


def stays_in_segment(regex: str) -> bool:
    """Whether ``regex`` provably never matches a ``/`` and never looks outside its text.

    Then matching it against one segment gives what matching the whole path
    would. Conservative: ``False`` for anything it cannot prove (``.``, a
    ``/``, anchors, lookarounds, flags, back-references, ``\\D``, ``\\x2f``
    ...), which costs speed (the resource is tried with its full regex), never
    correctness.
    """
    i, end = 0, len(regex)
    while i < end:
        char = regex[i]
        if char == "\\":
            escaped = regex[i + 1 : i + 2]
            if not escaped or escaped == "/":
                return False
            if escaped.isalnum() and escaped not in _SAFE_ESCAPES:
                return False
            i += 2
        elif char == "[":
            close = _class_end(regex, i)
            if close is None or _class_may_match_slash(regex[i + 1 : close]):
                return False
            i = close + 1
        elif regex.startswith("(?:", i):  # a plain group; any other "(?" is a lookaround,
            i += 3  # flags, a conditional or a named reference
        elif char in "./^$" or regex.startswith("(?", i):
            return False
        else:
            i += 1
    return True


def _class_end(regex: str, start: int) -> int | None:
    """The index of the ``]`` closing the class that opens at ``start``."""
    i = start + 1
    if regex.startswith("^", i):
        i += 1
    if regex.startswith("]", i):  # a "]" first is a member, not the end
        i += 1
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
        elif regex[i] == "]":
            return i
        else:
            i += 1
    return None


def _class_may_match_slash(body: str) -> bool:
    if body.startswith("^"):
        # A negated class never matches its members: safe exactly when "/" is one
        # (as itself, escaped, or as a range's end, all of which contain it).
        return "/" not in body[1:]
    members: list[str | None] = []  # a character, "-" for a range dash, None for \d \w \s
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1]
            if escaped in "dws":
                members.append(None)
            elif escaped.isalnum():
                return True  # \D, \x2f, \057, \N{...}: may be "/"
            else:
                members.append("\\" + escaped)  # an escaped character, never a range dash
            i += 2
            continue
        members.append(char)
        i += 1
    chars = [m[-1] if m else None for m in members]
    if "/" in chars:
        return True
    # Any unescaped "-" between two characters is taken as a range: more ranges
    # than Python makes only errs towards "may".
    for j in range(1, len(members) - 1):
        low, high = chars[j - 1], chars[j + 1]
        if members[j] == "-" and low is not None and high is not None and low <= "/" <= high:
            return True
    return False
