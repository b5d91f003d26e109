"""One way to open Redis for every component: standalone, Sentinel or Cluster by URL.

- ``redis://host:port/db`` (or ``rediss://``, ``unix://``): a single server.
- ``redis+sentinel://host1:26379,host2:26379/mymaster/0``: the master named ``mymaster``.
- ``redis+cluster://host1:7000,host2:7001``: a Redis Cluster (seatgate's keys carry hash
  tags, so every script and every transaction touches one slot).

The rest of the code is written against the plain client; the few places where redis-py's
cluster client behaves differently are evened out here (see :class:`_Cluster`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, ClusterPubSub, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisClusterException, RedisError

from seatgate.schema import LuaScript

# Every call has a deadline: a dead Redis must fail fast so the proxy can fail open.
SOCKET_TIMEOUT = 2.0
# What a call to Redis may fail with when Redis is unreachable or unsettled, for callers
# that carry on without it (fail open, retry later): lost connections and deadlines, error
# replies (a cluster answers CLUSTERDOWN or TRYAGAIN while it settles, a demoted master
# READONLY), redis-py's cluster errors, which are not RedisErrors, and RuntimeError, which
# uvloop raises for a write to a connection that was closed meanwhile.
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (
    RedisError,
    RedisClusterException,
    OSError,
    TimeoutError,
    RuntimeError,
)


class _ClusterPipeline(ClusterPipeline):
    """A cluster pipeline that accepts PUBLISH, as a plain pipeline does.

    redis-py refuses PUBLISH in a cluster pipeline because a channel belongs to no slot.
    Redis Cluster delivers a PUBLISH sent to any node to every subscriber, so the messages
    queued here are sent right after the pipeline's other commands succeeded (never when a
    watched transaction was aborted), and ``execute`` returns their results where they were
    queued. Unlike on a single server the message is not part of the transaction: a
    process dying in between loses it, which subscribers already survive (they resync on
    a timer and every wait has a deadline).
    """

    def __init__(self, client: RedisCluster, transaction: bool | None = None):
        super().__init__(client, transaction)
        self._published: list[tuple[int, Any, Any]] = []

    def publish(self, channel: Any, message: Any, **_: Any) -> _ClusterPipeline:
        self._published.append((len(self), channel, message))
        return self

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        published, self._published = self._published, []
        results = await super().execute(raise_on_error, allow_redirections)
        for inserted, (index, channel, message) in enumerate(published):
            results.insert(index + inserted, await self.cluster_client.publish(channel, message))
        return results

    async def reset(self) -> None:
        self._published = []
        await super().reset()


class _ClusterPubSub(ClusterPubSub):
    """Pub/sub that loads the slot map first: a new client has none, and the node for a
    subscription is chosen from it (redis-py would fail with a bare KeyError)."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        await self.cluster.initialize()
        return await super().execute_command(*args, **kwargs)


class _Cluster(RedisCluster):
    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> _ClusterPipeline:
        if shard_hint:
            raise ValueError("shard_hint is not supported in cluster mode")
        return _ClusterPipeline(self, transaction)

    def pubsub(
        self, node: ClusterNode | None = None, host: str | None = None, port: int | None = None, **kwargs: Any
    ) -> _ClusterPubSub:
        return _ClusterPubSub(self, node=node, host=host, port=port, **kwargs)


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    hosts = []
    for part in netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = part.partition(":")
        hosts.append((host or "127.0.0.1", int(port or default_port)))
    return hosts


# What every part of seatgate holds as "the Redis client": a plain or Sentinel-managed
# client, or a Cluster client (see connect()).
RedisClient: TypeAlias = aioredis.Redis | RedisCluster


def connect(url: str, **kwargs: Any) -> RedisClient:
    """A client with decoded responses and short timeouts. Does not connect yet."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "health_check_interval": 15,
        # Bursts of grants (many users arriving at once) need parallel connections;
        # past this many the client fails fast instead of queueing without a deadline.
        "max_connections": 512,
        **kwargs,
    }
    parts = urlsplit(url)
    if parts.scheme == "redis+cluster":
        nodes = [ClusterNode(host, port) for host, port in _hosts(parts.netloc, 6379)]
        options.pop("health_check_interval")
        return _Cluster(startup_nodes=nodes, password=parts.password, **options)
    if parts.scheme == "redis+sentinel":
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError("a redis+sentinel:// URL needs the master name: redis+sentinel://h:26379/mymaster/0")
        sentinel = Sentinel(_hosts(parts.netloc, 26379), sentinel_kwargs={"password": parts.password}, **options)
        db = int(path[1]) if len(path) > 1 else 0
        return sentinel.master_for(path[0], db=db, password=parts.password)
    return aioredis.from_url(url, **options)


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


async def warm_up(client: Any, deadline: float = 3.0) -> bool:
    """Connect now rather than on the first command: a cluster client loads its slot map
    and node connections once, and commands that race that first load fail on
    connections it replaces. False when Redis cannot be reached (yet)."""

    async def connect() -> None:
        if is_cluster(client):
            await client.initialize()
        await client.ping()

    try:
        await asyncio.wait_for(connect(), deadline)
    except REDIS_UNAVAILABLE:
        return False
    return True


async def preload_scripts(client: Any, scripts: Iterable[LuaScript]) -> None:
    """Load the Lua scripts into Redis's script cache up front.

    redis-py loads a script lazily after a NOSCRIPT reply; loading them at start-up saves
    that round trip on the first grant, and some Redis stand-ins (fakeredis's TCP server,
    used by ``seatgate demo`` without redis-server) drop the connection on an error reply.
    """
    for script in scripts:
        await client.script_load(script.source)
