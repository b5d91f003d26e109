"""The seat accounting scripts against a real redis-server: the cap can never be exceeded."""

import asyncio

from seatgate.protocol import GRANT_STREAM_MAXLEN, GrantRequest
from seatgate.schema import (
    BEGIN_REVOKE,
    COMMIT_GRANT,
    CONFIRM_REVOKE,
    ENQUEUE,
    REQUEST_GRANT,
    RESERVE_SEAT,
    ProductKeys,
)

K = ProductKeys("jira")


async def reserve(r, user, now=1000.0):
    script = r.register_script(RESERVE_SEAT)
    return await script(keys=[K.licensed, K.granting, K.revoking, K.cap, K.queue], args=[user, now])


async def commit(r, user, now=1000.0):
    script = r.register_script(COMMIT_GRANT)
    return await script(keys=[K.licensed, K.granting, K.activity, K.queue, K.queue_seen], args=[user, now])


async def test_cap_holds_under_concurrent_reservations(redis_client):
    await redis_client.set(K.cap, 50)
    results = await asyncio.gather(*(reserve(redis_client, f"user{i:04d}") for i in range(200)))
    assert results.count("reserved") == 50
    assert results.count("full") == 150
    assert await redis_client.hlen(K.granting) == 50


async def test_reserve_is_idempotent_and_commit_moves_to_licensed(redis_client):
    await redis_client.set(K.cap, 1)
    assert await reserve(redis_client, "alice") == "reserved"
    assert await reserve(redis_client, "alice") == "reserved"  # a reclaimed retry
    assert await reserve(redis_client, "bob") == "full"
    await commit(redis_client, "alice", 1234.0)
    assert await redis_client.hkeys(K.licensed) == ["alice"]
    assert await redis_client.zscore(K.activity, "alice") == 1234.0
    assert await reserve(redis_client, "alice") == "licensed"


async def test_queue_is_first_come_first_served(redis_client):
    await redis_client.set(K.cap, 1)
    await reserve(redis_client, "alice")
    await commit(redis_client, "alice")
    enqueue = redis_client.register_script(ENQUEUE)
    assert await enqueue(keys=[K.queue, K.queue_seen], args=["bob", 1.0]) == 1
    assert await enqueue(keys=[K.queue, K.queue_seen], args=["carol", 2.0]) == 2
    assert await enqueue(keys=[K.queue, K.queue_seen], args=["bob", 3.0]) == 1  # keeps its place
    await redis_client.hdel(K.licensed, "alice")  # a seat frees
    assert await reserve(redis_client, "carol") == "full"  # may not overtake bob
    assert await reserve(redis_client, "dave") == "full"  # nor may a newcomer
    assert await reserve(redis_client, "bob") == "reserved"
    await commit(redis_client, "bob")
    assert await redis_client.zrange(K.queue, 0, -1) == ["carol"]


async def test_request_grant_allows_one_in_flight(redis_client):
    script = redis_client.register_script(REQUEST_GRANT)
    entry = GrantRequest("alice", "r1", 1.0, "127.0.0.1", source="session", confirmed=True)
    args = ["alice", "r1", 5000, GRANT_STREAM_MAXLEN, *(part for pair in entry.to_fields().items() for part in pair)]
    keys = [K.licensed, K.inflight("alice"), K.grants]
    results = await asyncio.gather(*(script(keys=keys, args=args) for _ in range(10)))
    assert results.count("queued") == 1 and results.count("pending") == 9
    assert await redis_client.xlen(K.grants) == 1
    ((_, fields),) = await redis_client.xrange(K.grants)
    assert GrantRequest.from_fields(fields) == entry  # the worker reads exactly what the proxy sent
    await redis_client.hset(K.licensed, "bob", 1)
    assert await script(keys=[K.licensed, K.inflight("bob"), K.grants], args=["bob", *args[1:]]) == "licensed"


async def test_revoke_is_two_phase_and_cancelled_by_activity_or_grant(redis_client):
    begin = redis_client.register_script(BEGIN_REVOKE)
    confirm = redis_client.register_script(CONFIRM_REVOKE)
    for user in ("alice", "bob", "carol"):
        await redis_client.hset(K.licensed, user, 100)
        await redis_client.zadd(K.activity, {user: 100})
    begin_keys = lambda u: [K.licensed, K.revoking, K.activity, K.inflight(u), K.holds]  # noqa: E731
    confirm_keys = lambda u: [K.licensed, K.revoking, K.activity, K.inflight(u)]  # noqa: E731
    await redis_client.zadd(K.holds, {"carol": 10_000})
    assert await begin(keys=begin_keys("carol"), args=["carol", 500, 1000]) == "held"
    assert await begin(keys=begin_keys("alice"), args=["alice", 50, 1000]) == "active"
    assert await begin(keys=begin_keys("alice"), args=["alice", 500, 1000]) == "ok"
    assert await begin(keys=begin_keys("bob"), args=["bob", 500, 1000]) == "ok"
    # alice comes back during the grace period; bob stays away
    await redis_client.zadd(K.activity, {"alice": 999})
    assert await confirm(keys=confirm_keys("alice"), args=["alice", 500, 1001]) == "cancelled"
    assert await confirm(keys=confirm_keys("bob"), args=["bob", 500, 1001]) == "proceed"
    assert set(await redis_client.hkeys(K.licensed)) == {"alice", "carol"}
    # a grant in flight blocks a revoke
    await redis_client.set(K.inflight("carol"), "r")
    await redis_client.zrem(K.holds, "carol")
    assert await begin(keys=begin_keys("carol"), args=["carol", 500, 1000]) == "busy"
