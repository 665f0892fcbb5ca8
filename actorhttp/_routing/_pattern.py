"""Path patterns: ``/hello/{name}`` and ``/items/{id:\\d+}`` compiled to regexes.

``{name}`` matches one path segment (``[^{}/]+``); ``{name:regex}`` uses the
regex. Paths are matched in their *routing form*: percent-decoded except for
``%2F`` and ``%25``, so an encoded slash never splits a segment; the values
put in ``match_info`` are then decoded fully. A route's literal text is
matched in routing form too, so ``/caf%C3%A9/{x}`` and ``/café/{x}`` are the
same route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = ["Pattern", "parse_pattern", "routing_path", "finish_decoding"]

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
_KEEP_ENCODED = re.compile(r"(%2[fF]|%25)")
DEFAULT_PART = "[^{}/]+"


def routing_path(raw_path: str) -> str:
    """Decode ``raw_path`` for matching, leaving ``%2F`` and ``%25`` encoded."""
    if "%" not in raw_path:
        return raw_path
    pieces = _KEEP_ENCODED.split(raw_path)
    # Odd pieces are the kept escapes; upper-case them so "%2f" and "%2F" match alike.
    # A "%" that decoding produces is escaped again, so finish_decoding can never
    # mistake decoded text ("%%32%46" -> "%2F") for a kept escape.
    return "".join(
        p.upper() if i % 2 else unquote(p).replace("%", "%25") for i, p in enumerate(pieces)
    )


_KEPT = {"%2F": "/", "%25": "%"}
_KEPT_ESCAPE = re.compile("%2F|%25")


def finish_decoding(value: str) -> str:
    """Decode what :func:`routing_path` kept encoded; never decodes anything twice."""
    if "%" not in value:
        return value
    return _KEPT_ESCAPE.sub(lambda m: _KEPT[m.group()], value)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled route path: its regex, its parts' names, and how to fill them back in."""

    path: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    # Literal text as written, or (name, regex, is the default part) for a part.
    pieces: tuple[str | tuple[str, re.Pattern[str], bool], ...]

    @property
    def formatter(self) -> str:
        """The path with each part as ``{name}``, its regex left out (aiohttp's ``formatter``)."""
        return "".join(p if isinstance(p, str) else f"{{{p[0]}}}" for p in self.pieces)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        if "%" not in path:  # nothing left to decode
            return found.groupdict()
        return {key: finish_decoding(value) for key, value in found.groupdict().items()}

    def format(self, parts: dict[str, str]) -> str:
        """The path with ``parts`` filled in and quoted; ``ValueError`` if one is missing or off."""
        missing = set(self.names) - parts.keys()
        extra = parts.keys() - set(self.names)
        if missing or extra:
            raise ValueError(
                f"url_for({self.path!r}) needs exactly {sorted(self.names)}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            name, regex, default = piece
            value = str(parts[name])
            if default and "/" in value:
                quoted = quote(value, safe="")
            else:
                quoted = quote(value, safe="/" if not default else "")
            # The resolver will see the routing form of what is written here, so that
            # is what must match: "a{b}" quotes to "a%7Bb", which is "a{b}" again.
            routed = routing_path(quoted)
            if not regex.fullmatch(routed):
                raise ValueError(
                    f"url_for: {name}={value!r} does not match {regex.pattern!r} "
                    f"(it reads {routed!r} in the URL)"
                )
            out.append(quoted)
        return "".join(out)


def _split(path: str) -> list[str | tuple[str, str]]:
    """Split a path into literal text and ``(name, regex)`` parts, checking the braces."""
    parts: list[str | tuple[str, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "}":
            raise ValueError(f"unbalanced '}}' at {i} in route path {path!r}")
        if char != "{":
            literal.append(char)
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(path) and depth:
            depth += {"{": 1, "}": -1}.get(path[j], 0)
            j += 1
        if depth:
            raise ValueError(f"unbalanced '{{' at {i} in route path {path!r}")
        name, colon, regex = path[i + 1 : j - 1].partition(":")
        if not _NAME.match(name):
            raise ValueError(f"bad part name {name!r} in route path {path!r}")
        if colon and not regex:
            raise ValueError(f"empty regex for {{{name}}} in route path {path!r}")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append((name, regex or DEFAULT_PART))
        i = j
    if literal:
        parts.append("".join(literal))
    return parts


def parse_pattern(path: str) -> Pattern | None:
    """The pattern for a dynamic ``path``, or ``None`` when it has no ``{}`` parts.

    Raises ``ValueError`` naming the problem for a path that does not start
    with ``/``, unbalanced braces, a bad or repeated name, or a bad regex.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"route path must start with '/': {path!r}")
    parts = _split(path)
    if all(isinstance(p, str) for p in parts):
        return None
    names: list[str] = []
    regex_src: list[str] = []
    pieces: list[str | tuple[str, re.Pattern[str], bool]] = []
    for part in parts:
        if isinstance(part, str):
            regex_src.append(re.escape(routing_path(part)))
            pieces.append(part)
            continue
        name, regex = part
        if name in names:
            raise ValueError(f"part {{{name}}} appears twice in route path {path!r}")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"bad regex {regex!r} for {{{name}}} in {path!r}: {exc}") from exc
        if compiled.groupindex:
            raise ValueError(f"regex for {{{name}}} in {path!r} must not name groups")
        names.append(name)
        regex_src.append(f"(?P<{name}>{regex})")
        pieces.append((name, compiled, regex == DEFAULT_PART))
    return Pattern(
        path=path,
        regex=re.compile("".join(regex_src)),
        names=tuple(names),
        pieces=tuple(pieces),
    )
