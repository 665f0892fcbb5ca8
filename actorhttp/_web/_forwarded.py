"""The values of the proxy headers, parsed strictly: RFC 7239 ``Forwarded`` and ``X-Forwarded-*``.

Header values only (the transports have already parsed the HTTP); no trust
decision here: :mod:`actorhttp._proxy` decides whose word to take. Every
function raises :class:`MalformedHeader`, naming the header, for a value
its grammar does not allow, so that a proxy's mistake becomes a 400 that
says what was wrong, never a guess.

* ``Forwarded`` (RFC 7239 section 4): ``1#forwarded-element``, each
  element ``[pair] *(";" [pair])``, each pair ``token "=" (token /
  quoted-string)``. Whitespace is allowed around ``,`` (the list rule) and
  ``;``, not around ``=``; a parameter twice in one element is an error;
  unknown parameters are kept (extensions are allowed).
* Node identifiers (section 6): an IPv4 address, a bracketed IPv6 address,
  ``unknown`` or an obfuscated ``_identifier``, each with an optional port.
  ``X-Forwarded-For`` entries may also be a bare IPv6 address, as proxies
  write them.
* Lists: field lines are joined in order and split on commas, empty
  elements dropped (RFC 9110 section 5.6.1), so a proxy that adds a field
  line reads the same as one that appends to the existing line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

__all__ = [
    "MalformedHeader",
    "Node",
    "parse_forwarded",
    "parse_host",
    "parse_node",
    "parse_proto",
    "split_list",
]

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# qdtext and quoted-pair; obs-text is any non-ASCII character, as headers are decoded as UTF-8.
_QUOTED = r'"(?:[\t !#-\[\]-~\x80-\U0010ffff]|\\[\t !-~\x80-\U0010ffff])*"'
_PAIR = re.compile(rf"({_TOKEN})=({_TOKEN}|{_QUOTED})")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_OBFUSCATED = r"_[A-Za-z0-9._-]+"
_NODE = re.compile(
    rf"(?:\[(?P<ipv6>[^\]]*)\]|(?P<name>[^:\[\]]+))(?::(?:[0-9]{{1,5}}|{_OBFUSCATED}))?\Z"
)
_OBFUSCATED_NODE = re.compile(rf"{_OBFUSCATED}\Z")
# RFC 9110's Host: an IP literal or a reg-name (unreserved, pct-encoded, sub-delims but the
# comma, which separates list elements), then an optional port.
_HOST = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?:[A-Za-z0-9._~!$&'()*+;=-]|%[0-9A-Fa-f]{2})+)"
    r"(?::[0-9]{0,5})?\Z"
)
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class MalformedHeader(ValueError):
    """A proxy header whose value its grammar does not allow; ``str()`` names the header."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"malformed {header} header: {reason}")
        self.header = header
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Node:
    """One hop's identifier: ``address`` for an IP address, else ``None`` (``unknown`` or an
    obfuscated identifier). ``name`` is what ``request.remote`` shows: the address in its
    normal form (``2001:db8::1``), or the identifier, with no port."""

    address: IPv4Address | IPv6Address | None
    name: str


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:60] + "...")


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _skip_ows(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def split_list(field_lines: Iterable[str]) -> list[str]:
    """The elements of a comma-separated header, over all its field lines, in order.

    Whitespace around elements is dropped and so are empty elements
    (``a, , b`` is ``a`` and ``b``), as RFC 9110 asks of a recipient.
    """
    items = (part.strip(" \t") for line in field_lines for part in line.split(","))
    return [item for item in items if item]


def parse_node(text: str, header: str, *, bare_ipv6: bool = False) -> Node:
    """A node identifier (``for=``, an ``X-Forwarded-For`` entry); its port is dropped.

    ``bare_ipv6`` also accepts an unbracketed IPv6 address (``2001:db8::1``),
    which ``X-Forwarded-For`` carries but RFC 7239 does not allow.
    """
    if bare_ipv6 and not text.startswith("[") and text.count(":") > 1:
        address = _address(text)
        if isinstance(address, IPv6Address):
            return Node(address, str(address))
    match = _NODE.match(text)
    if match is not None:
        if match["ipv6"] is not None:
            address = _address(match["ipv6"])
            if isinstance(address, IPv6Address):
                return Node(address, str(address))
        else:
            name = match["name"]
            if name.lower() == "unknown":
                return Node(None, "unknown")
            if _OBFUSCATED_NODE.match(name):
                return Node(None, name)
            address = _address(name)
            if isinstance(address, IPv4Address):
                return Node(address, str(address))
    raise MalformedHeader(
        header, f"{_shown(text)} is not an IP address, 'unknown' or an obfuscated '_identifier'"
    )


def parse_proto(text: str, header: str) -> str:
    """``http`` or ``https`` (``ws`` and ``wss`` count as them), in any case."""
    scheme = _SCHEMES.get(text.lower())
    if scheme is None:
        raise MalformedHeader(header, f"{_shown(text)} is not http or https")
    return scheme


def parse_host(text: str, header: str) -> str:
    """A ``host[:port]`` as a ``Host`` header may carry it (``[2001:db8::1]:8443`` too)."""
    match = _HOST.match(text)
    if match is None or (
        match["ipv6"] is not None and not isinstance(_address(match["ipv6"]), IPv6Address)
    ):
        raise MalformedHeader(header, f"{_shown(text)} is not a host name with an optional port")
    return text


def parse_forwarded(field_lines: Iterable[str]) -> list[dict[str, str]]:
    """The elements of ``Forwarded`` field lines, in order (the nearest proxy's last).

    Each element maps its parameter names, lowercased, to their values, with
    quoted strings unquoted (``for="[2001:db8::1]:4711"`` gives
    ``{"for": "[2001:db8::1]:4711"}``). Empty elements are dropped. Values
    are not checked here: :func:`parse_node`, :func:`parse_proto` and
    :func:`parse_host` check those the caller uses.
    """
    elements: list[dict[str, str]] = []
    for line in field_lines:
        element: dict[str, str] = {}
        pos, end = 0, len(line)
        while True:
            pos = _skip_ows(line, pos)
            pair = _PAIR.match(line, pos)
            if pair is not None:
                name, value = pair[1].lower(), pair[2]
                if name in element:
                    raise MalformedHeader("Forwarded", f"{name}= twice in one element")
                element[name] = _QUOTED_PAIR.sub(r"\1", value[1:-1]) if value[0] == '"' else value
                pos = _skip_ows(line, pair.end())
            if pos == end or line[pos] == ",":
                if element:
                    elements.append(element)
                if pos == end:
                    break
                element = {}
            elif line[pos] != ";":
                wanted = "',' or ';'" if pair is not None else "name=value"
                raise MalformedHeader(
                    "Forwarded", f"{wanted} expected at offset {pos} of {_shown(line)}"
                )
            pos += 1
    return elements
