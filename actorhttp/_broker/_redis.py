"""RedisBroker: topics, presence and named actors across processes and machines, on Redis.

Through ``coredis`` (anyio-based, so it runs on trio as it is; the
``actorhttp[redis]`` extra). Redis 6.2+ or Valkey. What lives where::

    {prefix}:topic:{topic}           pub/sub channel: a topic's frames (m, j, l)
    {prefix}:inbox:{node}            pub/sub channel: one process's calls, answers, health pings
    {prefix}:lease:{name}            string, PX lease_time: the node holding a named actor
    {prefix}:alive:{node}            string, PX lease_time: the node is alive
    {prefix}:nodes                   set of the nodes that announced themselves
    {prefix}:presence:{topic}        hash "{node}|{ref}" -> [key, meta]
    {prefix}:presence-of:{node}      set of the topics where the node has entries

One connection task keeps a client and one ``PubSub`` per process. Every
``health_interval`` it publishes a ping to its own inbox and expects it
back through the subscription: after a Redis restart coredis' ``PubSub``
may stay silent without raising, so the ping is what notices. Any fault
tears the connection down; it is made again with backoff (0.1 s doubling
to 5 s), every topic is subscribed anew and every presence entry written
again, and the log says so once per outage. A heartbeat every third of
``lease_time`` renews the node's ``alive`` key and its leases, tries for
the leases it does not hold, and takes the entries of dead nodes out of
presence (publishing their ``Leave``). A lease holder that cannot renew
stops counting itself the holder a third of the lease before it would
expire, so two processes never both believe they hold a name.
"""

from __future__ import annotations

from ._calls import RedisCalls
from ._presence import RedisPresence

__all__ = ["RedisBroker"]


class RedisBroker(RedisPresence, RedisCalls):
    """The broker on Redis: ``redis://host:port/db`` or ``rediss://`` (TLS).

    ``lease_time`` (seconds, 5 by default) bounds how long a dead process
    keeps a named actor and its presence entries: another process takes
    the actor over within ``4/3 * lease_time`` of the holder's death.
    ``health_interval`` is how often the connection is checked end to end
    (1 s). ``prefix`` namespaces every key and channel, so apps can share a
    Redis. ``codec`` and ``subscriber_size`` as :class:`Broker`'s. The URL
    may carry ``lease_time``, ``health_interval`` and ``prefix`` in its query
    (``redis://host:6379/0?lease_time=2``), which is how the CLI's
    ``--broker`` sets them; a ``ValueError`` names a bad one. A ``rediss://``
    URL verifies the server against the system's CAs, or takes coredis's
    TLS options: ``ssl_ca_certs`` (a private CA's file), ``ssl_certfile`` and
    ``ssl_keyfile`` (a client certificate), ``ssl_cert_reqs``,
    ``ssl_check_hostname``.
    """
