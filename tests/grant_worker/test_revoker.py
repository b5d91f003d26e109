"""revoker.py: two-phase revokes, cancelled by activity or a grant in flight, aborted when the
directory fails (the user then stays licensed)."""

from __future__ import annotations

import json
import time

from grant_worker.revoker import Revoker
from tests.grant_worker.conftest import MemoryDirectory, runtime

NOW_CUTOFF = 1_000.0  # activity at or before this is idle


async def licensed(redis, product, user: str, last: float) -> None:
    await redis.hset(product.keys.licensed, user, 1.0)
    await redis.zadd(product.keys.activity, {user: last})


async def events(pubsub, deadline: float = 1.0) -> list[dict]:
    """Every event published so far (get_message answers None for the subscribe confirmation)."""
    found, until = [], time.monotonic() + deadline
    while time.monotonic() < until:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if message is not None:
            found.append(json.loads(message["data"]))
    return found


async def test_an_idle_user_is_revoked_in_two_phases(fake_redis, directory: MemoryDirectory) -> None:
    product = runtime(directory)
    directory.group.add("alice")
    await licensed(fake_redis, product, "alice", 900.0)
    pubsub = fake_redis.pubsub()
    await pubsub.subscribe(product.keys.events)
    revoker = Revoker(fake_redis, grace=0)
    assert await revoker.begin(product, "alice", NOW_CUTOFF)
    assert await fake_redis.hexists(product.keys.revoking, "alice")  # still holds its seat
    assert not await fake_redis.hexists(product.keys.licensed, "alice")
    assert await revoker.complete(product, "alice", NOW_CUTOFF, "inactive")
    assert directory.calls == [("remove", "alice")] and "alice" not in directory.group
    assert not await fake_redis.hexists(product.keys.revoking, "alice")
    assert [(e["type"], e["user"]) for e in await events(pubsub)] == [("revoking", "alice"), ("revoked", "alice")]
    await pubsub.aclose()


async def test_activity_during_the_grace_period_cancels_the_revoke(fake_redis, directory: MemoryDirectory) -> None:
    product = runtime(directory)
    await licensed(fake_redis, product, "bob", 900.0)
    revoker = Revoker(fake_redis, grace=0)
    assert await revoker.begin(product, "bob", NOW_CUTOFF)
    await fake_redis.zadd(product.keys.activity, {"bob": 1_001.0})  # bob came back
    assert not await revoker.complete(product, "bob", NOW_CUTOFF, "inactive")
    assert await fake_redis.hexists(product.keys.licensed, "bob")
    assert directory.calls == []


async def test_active_busy_or_unlicensed_users_are_not_begun(fake_redis, directory: MemoryDirectory) -> None:
    product = runtime(directory)
    revoker = Revoker(fake_redis, grace=0)
    await licensed(fake_redis, product, "carol", 1_500.0)  # active after the cutoff
    await licensed(fake_redis, product, "dave", 900.0)
    await fake_redis.set(product.keys.inflight("dave"), "r1")  # a grant in flight
    assert not await revoker.begin(product, "carol", NOW_CUTOFF)
    assert not await revoker.begin(product, "dave", NOW_CUTOFF)
    assert not await revoker.begin(product, "erin", NOW_CUTOFF)  # never licensed
    assert await fake_redis.hlen(product.keys.revoking) == 0


async def test_a_failed_remove_keeps_the_user_licensed(fake_redis, directory: MemoryDirectory) -> None:
    product = runtime(directory)
    directory.group.add("frank")
    directory.fail_writes = True
    await licensed(fake_redis, product, "frank", 900.0)
    revoker = Revoker(fake_redis, grace=0)
    assert not await revoker.revoke_now(product, "frank", NOW_CUTOFF, "inactive")
    assert directory.calls == [("remove", "frank")] and "frank" in directory.group
    assert await fake_redis.hexists(product.keys.licensed, "frank")
    assert not await fake_redis.hexists(product.keys.revoking, "frank")
