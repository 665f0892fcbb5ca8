"""Throwaway TLS for the tests: a trustme CA, a server context for 127.0.0.1, a client's."""

from __future__ import annotations

import ssl

import trustme


def server_context(ca: trustme.CA, *alpn: str) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 signed by ``ca``, offering ``alpn``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts ``ca`` (and nothing else)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context
