"""Behind a proxy: ``proxy_headers_middleware`` takes a trusted proxy's word for the client.

A reverse proxy connects to us itself, so the peer of every request is the
proxy; it says who its client was, and how it was reached, in headers. Any
client can send the same headers, so they are read only when the peer is a
configured proxy, and only as far as trusted proxies wrote them:

    client ──▶ proxy A ──▶ proxy B ──▶ us      X-Forwarded-For: <client>, <A>
                                               (B is the peer; A and B trusted)

Walking the hops from the right (the nearest first), each address that is a
trusted proxy is skipped; the first that is not is the client. What lies
left of it was written by the client, so it is never read, however it looks.
The trust decision and the headers' reading are plain functions (no I/O);
the middleware only applies their answer with ``request.clone(...)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Literal, TypeAlias

from multidict import MultiMapping

from ._routing import middleware
from ._routing._middleware import Middleware
from ._web._exceptions import HTTPBadRequest
from ._web._forwarded import (
    MalformedHeader,
    Node,
    parse_forwarded,
    parse_host,
    parse_node,
    parse_proto,
    split_list,
)
from ._web._request import Request
from ._web._response import StreamResponse
from .messages import Handler

__all__ = [
    "Forwarding",
    "ProxyHeaders",
    "TrustedProxies",
    "from_forwarded",
    "from_x_forwarded",
    "proxy_headers_middleware",
]

TrustedEntry: TypeAlias = str | IPv4Address | IPv6Address | IPv4Network | IPv6Network
ProxyHeaders: TypeAlias = Literal["x-forwarded", "forwarded"]


class TrustedProxies:
    """The proxies whose headers are believed: IP addresses and networks.

    ``TypeError`` for a lone string (``"10.0.0.1"``, which would otherwise
    read as a list of characters) or an entry of another type;
    ``ValueError`` naming an entry that is not an address or a network
    (``"10.0.0.1/8"`` has host bits set: write ``"10.0.0.0/8"``).
    """

    __slots__ = ("_networks",)

    def __init__(self, entries: Iterable[TrustedEntry]) -> None:
        if isinstance(entries, str | bytes):
            raise TypeError(f"trusted must be a list of addresses or networks, not {entries!r}")
        networks: list[IPv4Network | IPv6Network] = []
        for entry in entries:
            if isinstance(entry, IPv4Network | IPv6Network):
                networks.append(entry)
            elif isinstance(entry, IPv4Address | IPv6Address):
                networks.append(ip_network(entry))
            elif isinstance(entry, str):
                try:
                    networks.append(ip_network(entry.strip()))
                except ValueError as exc:
                    raise ValueError(
                        f"trusted proxy {entry!r} is not an IP address or network: {exc}"
                    ) from None
            else:
                raise TypeError(f"trusted proxy {entry!r} is not an IP address or network")
        self._networks = tuple(networks)

    def __contains__(self, address: object) -> bool:
        """True for an address (``IPv4Address``, ``IPv6Address`` or its text) in the list."""
        if isinstance(address, str):
            try:
                address = ip_address(address)
            except ValueError:
                return False  # not an address (a Unix socket, a name): never trusted
        if not isinstance(address, IPv4Address | IPv6Address):
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
        # Membership across versions is False, never an error.
        return any(address in network for network in self._networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __repr__(self) -> str:
        return f"TrustedProxies([{', '.join(repr(str(n)) for n in self._networks)}])"


@dataclass(frozen=True, slots=True)
class Forwarding:
    """What the trusted proxies said of a request; ``None`` where they said nothing.

    ``remote`` is the client's address (or ``unknown``, or an obfuscated
    identifier), ``scheme`` ``http`` or ``https``, ``host`` the ``Host`` the
    client sent.
    """

    remote: str | None = None
    scheme: str | None = None
    host: str | None = None


def _walk(nodes: list[str], header: str, trusted: TrustedProxies) -> tuple[int, Node]:
    """The client in ``nodes`` (not empty) and its index: the rightmost entry that is not a
    trusted proxy.

    Only the entries from the right up to the client are parsed (a malformed
    one is a :class:`MalformedHeader`); if every entry is a trusted proxy,
    the leftmost is the client (a request a proxy made itself).
    """
    for index in range(len(nodes) - 1, -1, -1):
        node = parse_node(nodes[index], header, bare_ipv6=True)
        if node.address not in trusted:
            break
    return index, node


def _at(values: list[str], hops: int) -> str | None:
    """The value that ``hops`` proxies from the right wrote, in a list aligned at the right
    with X-Forwarded-For; a shorter list's leftmost, which later proxies passed on as it was."""
    if not values:
        return None
    return values[-1 - hops] if hops < len(values) else values[0]


def from_x_forwarded(headers: MultiMapping[str], trusted: TrustedProxies) -> Forwarding:
    """``X-Forwarded-For``, ``-Proto`` and ``-Host`` read as the trusted proxies wrote them.

    The client is the rightmost ``X-Forwarded-For`` entry that is not a
    trusted proxy. A proxy that appends to ``X-Forwarded-Proto`` (or
    ``-Host``) does so beside its ``X-Forwarded-For`` entry, so the lists
    line up from the right: the client's proto is the one at its position;
    a list with fewer values (one proxy set it, the next passed it on) gives
    its leftmost.
    """
    hops = split_list(headers.getall("X-Forwarded-For", ()))
    remote: str | None = None
    behind = 0  # how many trusted proxies wrote entries right of the client's
    if hops:
        index, client = _walk(hops, "X-Forwarded-For", trusted)
        remote, behind = client.name, len(hops) - 1 - index
    proto = _at(split_list(headers.getall("X-Forwarded-Proto", ())), behind)
    host = _at(split_list(headers.getall("X-Forwarded-Host", ())), behind)
    return Forwarding(
        remote,
        parse_proto(proto, "X-Forwarded-Proto") if proto is not None else None,
        parse_host(host, "X-Forwarded-Host") if host is not None else None,
    )


def from_forwarded(headers: MultiMapping[str], trusted: TrustedProxies) -> Forwarding:
    """RFC 7239 ``Forwarded``, read as the trusted proxies wrote it.

    Each proxy adds one element saying whom it heard from (``for=``), by
    which scheme (``proto=``) and for which ``host=``. Walking from the
    right, an element whose ``for=`` is a trusted proxy is skipped; the
    first other element describes the client and its ``proto``/``host``
    apply. One with no ``for=`` stops the walk too (the hop is not named, so
    cannot be trusted) and leaves ``remote`` as it was. ``unknown`` and
    obfuscated identifiers become ``remote`` as they are.
    """
    client: Node | None = None
    said: dict[str, str] = {}
    for element in reversed(parse_forwarded(headers.getall("Forwarded", ()))):
        said, value = element, element.get("for")
        client = parse_node(value, "Forwarded") if value is not None else None
        if client is None or client.address not in trusted:
            break
    proto, host = said.get("proto"), said.get("host")
    return Forwarding(
        client.name if client is not None else None,
        parse_proto(proto, "Forwarded") if proto is not None else None,
        parse_host(host, "Forwarded") if host is not None else None,
    )


def proxy_headers_middleware(
    trusted: Iterable[TrustedEntry], *, headers: ProxyHeaders = "x-forwarded"
) -> Middleware[Request, StreamResponse]:
    """A middleware that takes ``request.remote``, ``scheme`` and ``host`` from a trusted proxy.

    ``trusted`` lists the proxies' addresses and networks (``"127.0.0.1"``,
    ``"10.0.0.0/8"``, ``"::1"``, or ``ipaddress`` objects), checked here:
    ``ValueError`` names an entry that is neither. Only a request whose
    peer (the connection's own address, ``request.peer``, never a
    header) is in the list is changed; from any other peer, and with an
    empty list, the handler gets the request as it came.

    ``headers`` says which headers the proxy writes, and only those are
    read: ``"x-forwarded"`` (``X-Forwarded-For``, ``-Proto``, ``-Host``) or
    ``"forwarded"`` (RFC 7239). Never both: a proxy that writes one passes
    the other on from the client untouched, so reading it would let any
    client choose its own address.

    The handler (and every middleware listed after this one: list it
    first) gets ``request.clone(remote=..., scheme=..., host=...)`` with
    what the proxies said; a part they did not say stays as it was.
    ``request.url`` and ``request.secure`` follow. A header a trusted peer
    sent that does not parse is a 400 naming it.
    """
    proxies = TrustedProxies(trusted)
    if headers == "x-forwarded":
        read = from_x_forwarded
    elif headers == "forwarded":
        read = from_forwarded
    else:
        raise ValueError(f"headers must be 'x-forwarded' or 'forwarded', not {headers!r}")

    @middleware
    async def proxy_headers(request: Request, handler: Handler) -> StreamResponse:
        peer = request.peer
        if not proxies or peer is None or peer[0] not in proxies:
            return await handler(request)
        try:
            said = read(request.headers, proxies)
        except MalformedHeader as exc:
            raise HTTPBadRequest(text=f"{exc} (from a trusted proxy)") from None
        if said == Forwarding():
            return await handler(request)
        return await handler(request.clone(remote=said.remote, scheme=said.scheme, host=said.host))

    return proxy_headers
