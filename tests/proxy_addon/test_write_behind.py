"""write_behind.py: activity and identities are batched, bounded, and kept across a failed flush."""

from __future__ import annotations

import fakeredis
import redis.exceptions

from proxy_addon.write_behind import WriteBehind
from seatgate.schema import ProductKeys

KEYS = ProductKeys("jira")


async def test_a_flush_writes_the_latest_activity_and_the_identities(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    writer = WriteBehind(fake_redis, 1.0, 100, 3600, {"bearer": 7200})
    writer.activity("jira", "alice", 100.0)
    writer.activity("jira", "alice", 90.0)  # older: ignored
    writer.activity("jira", "bob", 95.0)
    writer.identity("jira", "session:abc", "alice")
    writer.identity("jira", "bearer:def", "bob")
    assert writer.pending == 4
    assert await writer.flush()
    assert writer.pending == 0
    assert await fake_redis.zrange(KEYS.activity, 0, -1, withscores=True) == [("bob", 95.0), ("alice", 100.0)]
    assert await fake_redis.get(KEYS.identity("session:abc")) == "alice"
    assert 3500 < await fake_redis.ttl(KEYS.identity("session:abc")) <= 3600
    assert 7100 < await fake_redis.ttl(KEYS.identity("bearer:def")) <= 7200


async def test_activity_never_moves_backwards_in_redis(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    await fake_redis.zadd(KEYS.activity, {"alice": 200.0})
    writer = WriteBehind(fake_redis, 1.0, 100, 3600)
    writer.activity("jira", "alice", 150.0)  # another proxy already wrote a later time
    await writer.flush()
    assert await fake_redis.zscore(KEYS.activity, "alice") == 200.0


async def test_the_buffer_is_bounded_and_the_oldest_entry_goes() -> None:
    writer = WriteBehind(None, 1.0, 2, 3600)
    for n, user in enumerate(("a", "b", "c")):
        writer.activity("jira", user, float(n))
    assert writer.pending == 2


class BrokenPipeline:
    def zadd(self, *args: object, **kwargs: object) -> None: ...

    def set(self, *args: object, **kwargs: object) -> None: ...

    async def execute(self) -> None:
        raise redis.exceptions.ConnectionError("down")


class DownRedis:
    def pipeline(self, transaction: bool = False) -> BrokenPipeline:
        return BrokenPipeline()


async def test_a_failed_flush_keeps_everything_for_the_next_one() -> None:
    writer = WriteBehind(DownRedis(), 1.0, 100, 3600)
    writer.activity("jira", "alice", 100.0)
    writer.identity("jira", "session:abc", "alice")
    assert not await writer.flush()
    assert writer.pending == 2


async def test_flushing_nothing_touches_no_redis() -> None:
    assert await WriteBehind(DownRedis(), 1.0, 100, 3600).flush()
