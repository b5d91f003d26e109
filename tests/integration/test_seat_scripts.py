"""The seat accounting scripts against a real redis-server: the cap can never be exceeded."""

import asyncio

import pytest

from seatgate.protocol import GRANT_STREAM_MAXLEN, GrantRequest
from seatgate.schema import (
    BEGIN_REVOKE,
    COMMIT_GRANT,
    CONFIRM_REVOKE,
    ENQUEUE,
    RELEASE_SEAT,
    REQUEST_GRANT,
    RESERVE_SEAT,
    ProductKeys,
)

K = ProductKeys("jira")


async def reserve(r, user, now=1000.0):
    script = RESERVE_SEAT.bind(r)
    return await script(
        licensed=K.licensed, granting=K.granting, revoking=K.revoking, cap=K.cap, queue=K.queue, user=user, now=now
    )


async def commit(r, user, now=1000.0):
    script = COMMIT_GRANT.bind(r)
    return await script(
        licensed=K.licensed,
        granting=K.granting,
        activity=K.activity,
        queue=K.queue,
        queue_seen=K.queue_seen,
        user=user,
        now=now,
    )


async def test_cap_holds_under_concurrent_reservations(redis_client):
    await redis_client.set(K.cap, 50)
    results = await asyncio.gather(*(reserve(redis_client, f"user{i:04d}") for i in range(200)))
    assert results.count("reserved") == 50
    assert results.count("full") == 150
    assert await redis_client.hlen(K.granting) == 50


async def test_reserve_is_idempotent_and_commit_moves_to_licensed(redis_client):
    await redis_client.set(K.cap, 1)
    assert await reserve(redis_client, "alice") == "reserved"
    assert await reserve(redis_client, "alice") == "resumed"  # a retry after a crash: the add may have landed
    assert await reserve(redis_client, "bob") == "full"
    await commit(redis_client, "alice", 1234.0)
    assert await redis_client.hkeys(K.licensed) == ["alice"]
    assert await redis_client.zscore(K.activity, "alice") == 1234.0
    assert await reserve(redis_client, "alice") == "licensed"


async def test_queue_is_first_come_first_served(redis_client):
    await redis_client.set(K.cap, 1)
    await reserve(redis_client, "alice")
    await commit(redis_client, "alice")
    enqueue = ENQUEUE.bind(redis_client)
    assert await enqueue(queue=K.queue, queue_seen=K.queue_seen, user="bob", now=1.0) == 1
    assert await enqueue(queue=K.queue, queue_seen=K.queue_seen, user="carol", now=2.0) == 2
    assert await enqueue(queue=K.queue, queue_seen=K.queue_seen, user="bob", now=3.0) == 1  # keeps its place
    await redis_client.hdel(K.licensed, "alice")  # a seat frees
    assert await reserve(redis_client, "carol") == "full"  # may not overtake bob
    assert await reserve(redis_client, "dave") == "full"  # nor may a newcomer
    assert await reserve(redis_client, "bob") == "reserved"
    await commit(redis_client, "bob")
    assert await redis_client.zrange(K.queue, 0, -1) == ["carol"]


async def test_request_grant_allows_one_in_flight(redis_client):
    script = REQUEST_GRANT.bind(redis_client)
    entry = GrantRequest("alice", "r1", 1.0, "127.0.0.1", source="session", confirmed=True)
    fields = [part for pair in entry.to_fields().items() for part in pair]

    def ask(user: str):
        return script(
            fields,
            licensed=K.licensed,
            inflight=K.inflight(user),
            grants=K.grants,
            user=user,
            request_id="r1",
            inflight_ttl_ms=5000,
            maxlen=GRANT_STREAM_MAXLEN,
        )

    results = await asyncio.gather(*(ask("alice") for _ in range(10)))
    assert results.count("queued") == 1 and results.count("pending") == 9
    assert await redis_client.xlen(K.grants) == 1
    ((_, fields),) = await redis_client.xrange(K.grants)
    assert GrantRequest.from_fields(fields) == entry  # the worker reads exactly what the proxy sent
    await redis_client.hset(K.licensed, "bob", 1)
    assert await ask("bob") == "licensed"


async def test_revoke_is_two_phase_and_cancelled_by_activity_or_grant(redis_client):
    begin_script, confirm_script = BEGIN_REVOKE.bind(redis_client), CONFIRM_REVOKE.bind(redis_client)

    def begin(user: str, cutoff: float, now: float):
        return begin_script(
            licensed=K.licensed,
            revoking=K.revoking,
            activity=K.activity,
            inflight=K.inflight(user),
            holds=K.holds,
            user=user,
            idle_cutoff=cutoff,
            now=now,
        )

    def confirm(user: str, cutoff: float, now: float):
        return confirm_script(
            licensed=K.licensed,
            revoking=K.revoking,
            activity=K.activity,
            inflight=K.inflight(user),
            user=user,
            idle_cutoff=cutoff,
            now=now,
        )

    for user in ("alice", "bob", "carol"):
        await redis_client.hset(K.licensed, user, 100)
        await redis_client.zadd(K.activity, {user: 100})
    await redis_client.zadd(K.holds, {"carol": 10_000})
    assert await begin("carol", 500, 1000) == "held"
    assert await begin("alice", 50, 1000) == "active"
    assert await begin("alice", 500, 1000) == "ok"
    assert await begin("bob", 500, 1000) == "ok"
    # alice comes back during the grace period; bob stays away
    await redis_client.zadd(K.activity, {"alice": 999})
    assert await confirm("alice", 500, 1001) == "cancelled"
    assert await confirm("bob", 500, 1001) == "proceed"
    assert set(await redis_client.hkeys(K.licensed)) == {"alice", "carol"}
    # a grant in flight blocks a revoke
    await redis_client.set(K.inflight("carol"), "r")
    await redis_client.zrem(K.holds, "carol")
    assert await begin("carol", 500, 1000) == "busy"


async def test_scripts_are_called_by_name_only(redis_client):
    script = RELEASE_SEAT.bind(redis_client)
    with pytest.raises(TypeError, match=r"release_seat: takes \['granting', 'user'\] by name"):
        await script(granting=K.granting)
    with pytest.raises(TypeError, match="takes no variable arguments"):
        await script(["x"], granting=K.granting, user="alice")
    await redis_client.hset(K.granting, "alice", 1)
    assert await script(granting=K.granting, user="alice") == 1
