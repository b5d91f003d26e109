"""grant_worker.lease against a real redis-server: the renew/release Lua scripts must only
ever touch a lease that the caller still owns."""

from __future__ import annotations

import uuid

from grant_worker.lease import Lease


def _key() -> str:
    return f"test:lease:{uuid.uuid4().hex}"


async def test_only_one_owner_holds_the_lease(redis_client):
    key = _key()
    first = Lease(redis_client, key, "worker-a", ttl=30)
    second = Lease(redis_client, key, "worker-b", ttl=30)

    assert await first.acquire_or_renew() is True
    assert await second.acquire_or_renew() is False
    assert second.held is False
    assert await redis_client.get(key) == "worker-a"


async def test_renew_extends_the_owners_ttl(redis_client):
    key = _key()
    lease = Lease(redis_client, key, "worker-a", ttl=30)
    assert await lease.acquire_or_renew()
    await redis_client.pexpire(key, 1000)

    assert await lease.acquire_or_renew() is True
    assert await redis_client.pttl(key) > 1000


async def test_a_lease_taken_over_by_another_owner_is_not_renewed(redis_client):
    key = _key()
    lease = Lease(redis_client, key, "worker-a", ttl=30)
    assert await lease.acquire_or_renew()
    # The lease expired and another worker took it: renewing must not steal it back.
    await redis_client.set(key, "worker-b", px=30_000)

    assert await lease.acquire_or_renew() is False
    assert await redis_client.get(key) == "worker-b"


async def test_release_frees_the_lease_for_the_next_owner(redis_client):
    key = _key()
    first = Lease(redis_client, key, "worker-a", ttl=30)
    second = Lease(redis_client, key, "worker-b", ttl=30)
    assert await first.acquire_or_renew()

    await first.release()

    assert first.held is False
    assert await second.acquire_or_renew() is True


async def test_release_never_deletes_another_owners_lease(redis_client):
    key = _key()
    lease = Lease(redis_client, key, "worker-a", ttl=30)
    assert await lease.acquire_or_renew()
    await redis_client.set(key, "worker-b", px=30_000)

    await lease.release()

    assert await redis_client.get(key) == "worker-b"
