"""identity_store.py: digest → user, cached locally, shared through Redis."""

from __future__ import annotations

import fakeredis

from proxy_addon.identity_store import IdentityStore
from proxy_addon.write_behind import WriteBehind
from seatgate.schema import ProductKeys


async def test_learned_mappings_reach_another_proxy_through_redis(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    writer = WriteBehind(fake_redis, 1.0, 100, 3600)
    here = IdentityStore(fake_redis, writer, 3600)
    there = IdentityStore(fake_redis, WriteBehind(fake_redis, 1.0, 100, 3600), 3600)
    assert here.cached("jira", "session:1") == (False, None)
    here.learn("jira", "session:1", "alice")
    assert here.cached("jira", "session:1") == (True, "alice")
    assert await there.lookup("jira", "session:1") is None  # not flushed yet: a miss, remembered briefly
    assert there.cached("jira", "session:1") == (True, None)
    await writer.flush()
    other = IdentityStore(fake_redis, writer, 3600)
    assert await other.lookup("jira", "session:1") == "alice"


async def test_forget_everywhere_drops_the_mapping_from_redis(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    await fake_redis.set(ProductKeys("jira").identity("bearer:1"), "bob")
    store = IdentityStore(fake_redis, WriteBehind(fake_redis, 1.0, 100, 3600), 3600)
    assert await store.lookup("jira", "bearer:1") == "bob"
    await store.forget_everywhere("jira", "bearer:1")
    assert store.cached("jira", "bearer:1") == (False, None)
    assert await fake_redis.get(ProductKeys("jira").identity("bearer:1")) is None


def test_the_cache_is_bounded() -> None:
    store = IdentityStore(None, WriteBehind(None, 1.0, 100, 3600), 3600, max_entries=2)
    for n in range(3):
        store.learn("jira", f"session:{n}", "alice")
    assert store.cached("jira", "session:0") == (False, None)
    assert store.cached("jira", "session:2") == (True, "alice")
