"""sweeper.py and reconciler.py: who is idle, and how drift from the real membership is repaired."""

from __future__ import annotations

import time

import pytest

from grant_worker.lease import Lease
from grant_worker.reconciler import STALE, Reconciler
from grant_worker.revoker import Revoker
from grant_worker.sweeper import MIN_LICENSED, Sweeper
from seatgate.schema import GlobalKeys
from tests.grant_worker.conftest import MemoryDirectory, runtime


def sweeper(redis, product) -> Sweeper:
    lease = Lease(redis, GlobalKeys.sweeper_lease, "w1", 10.0)
    return Sweeper(redis, lease, [product], Revoker(redis, grace=0), interval=1.0, queue_timeout=30.0)


async def test_idle_users_follow_the_inactivity_period(fake_redis, directory: MemoryDirectory) -> None:
    product = runtime(directory, inactivity=600)
    now = time.time()
    keys = product.keys
    await fake_redis.hset(
        keys.licensed,
        mapping={"idle": now - 3_600, "active": now - 3_600, "never": now - 3_600, "new": now - MIN_LICENSED / 2},
    )
    await fake_redis.zadd(keys.activity, {"idle": now - 601, "active": now - 599})
    # "never" has no activity: idle since its grant; "new" was granted moments ago.
    assert sorted(await sweeper(fake_redis, product).idle_users(product, now)) == ["idle", "never"]


async def test_a_sweep_revokes_the_idle_and_prunes_the_abandoned_queue(fake_redis, directory: MemoryDirectory) -> None:
    product = runtime(directory, inactivity=600)
    now = time.time()
    keys = product.keys
    directory.group |= {"idle", "active"}
    await fake_redis.hset(keys.licensed, mapping={"idle": now - 3_600, "active": now - 3_600})
    await fake_redis.zadd(keys.activity, {"idle": now - 900, "active": now - 10})
    await fake_redis.zadd(keys.queue, {"gone": 1.0, "waiting": 2.0})
    await fake_redis.zadd(keys.queue_seen, {"gone": now - 300, "waiting": now - 1})
    await sweeper(fake_redis, product).round(product)
    assert directory.group == {"active"} and directory.calls == [("remove", "idle")]
    assert await fake_redis.hkeys(keys.licensed) == ["active"]
    assert await fake_redis.zrange(keys.queue, 0, -1) == ["waiting"]


@pytest.mark.parametrize("policy", ["leave", "adopt"])
async def test_the_reconciler_repairs_drift_both_ways(fake_redis, policy: str) -> None:
    directory = MemoryDirectory({"kept", "by_hand", "half_added"})
    product = runtime(directory, unmanaged_members=policy)
    keys = product.keys
    long_ago = time.time() - STALE - 60
    await fake_redis.hset(keys.licensed, mapping={"kept": long_ago, "removed_by_hand": long_ago})
    await fake_redis.hset(keys.granting, mapping={"half_added": long_ago, "never_added": long_ago})
    await fake_redis.hset(keys.revoking, mapping={"half_removed": long_ago})
    repairs = await Reconciler(fake_redis, interval=60).run(product)
    assert repairs["dropped"] == ["removed_by_hand"]
    assert repairs["finished_grant"] == ["half_added"] and repairs["released"] == ["never_added"]
    assert repairs["finished_revoke"] == ["half_removed"]
    assert repairs["adopted"] == (["by_hand"] if policy == "adopt" else [])
    licensed = set(await fake_redis.hkeys(keys.licensed))
    assert licensed == {"kept", "half_added"} | ({"by_hand"} if policy == "adopt" else set())
    assert await fake_redis.hlen(keys.granting) == 0 and await fake_redis.hlen(keys.revoking) == 0
    assert directory.calls == []  # the reconciler follows the directory; it never writes it


async def test_the_reconciler_changes_nothing_when_the_directory_fails(fake_redis) -> None:
    class Broken(MemoryDirectory):
        async def members(self) -> list[str]:
            from grant_worker.directories import DirectoryError

            raise DirectoryError("down", None)

    product = runtime(Broken())
    await fake_redis.hset(product.keys.licensed, mapping={"alice": 1.0})
    assert await Reconciler(fake_redis, interval=60).run(product) == {}
    assert await fake_redis.hkeys(product.keys.licensed) == ["alice"]
