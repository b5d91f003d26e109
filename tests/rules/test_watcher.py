"""RulesWatcher against a real redis-server: prompt updates, last good rules kept."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from seatgate.rules import Rule, RuleSet, RulesStore, RulesWatcher
from seatgate.rules.watcher import OnChange
from seatgate.schema import GlobalKeys
from tests.conftest import RedisServer

EXTRA = Rule(id="custom.poll", description="ours", path="/rest/ours/1/poll", verdict="background")


class Seen:
    def __init__(self) -> None:
        self.versions: list[int] = []
        self.changed = asyncio.Event()

    def __call__(self, version: int, ruleset: RuleSet) -> None:
        self.versions.append(version)
        self.changed.set()

    async def wait_for(self, version: int, deadline: float) -> float:
        start = time.monotonic()
        async with asyncio.timeout(deadline):
            while version not in self.versions:
                self.changed.clear()
                await self.changed.wait()
        return time.monotonic() - start


@contextlib.asynccontextmanager
async def watching(client, seen: OnChange, interval: float = 1.0) -> AsyncIterator[RulesWatcher]:
    watcher = RulesWatcher(client, on_change=seen, check_interval=interval)
    task = asyncio.create_task(watcher.run())
    try:
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_new_version_arrives_by_pubsub(redis_client) -> None:
    seen = Seen()
    # a long check interval: only pub/sub can deliver within the deadline
    async with watching(redis_client, seen, interval=30):
        await seen.wait_for(1, 5)
        store = RulesStore(redis_client)
        _, ruleset = await store.load()
        version = await store.save(ruleset.add(EXTRA), who="test")
        await seen.wait_for(version, 2)  # the 2 s reload target, with no periodic check to help


async def test_missed_message_is_caught_by_the_version_check(redis_client) -> None:
    seen = Seen()
    async with watching(redis_client, seen, interval=0.2):
        await seen.wait_for(1, 5)
        _, ruleset = await RulesStore(redis_client).load()
        # written behind pub/sub's back, as after a lost message
        doc = ruleset.add(EXTRA).model_dump_json()
        await redis_client.hset(GlobalKeys.rules, mapping={"version": 5, "doc": doc})
        await seen.wait_for(5, 2)


async def test_invalid_stored_rules_keep_the_last_good(redis_client) -> None:
    seen = Seen()
    async with watching(redis_client, seen, interval=0.2) as watcher:
        await seen.wait_for(1, 5)
        await redis_client.hset(GlobalKeys.rules, mapping={"version": 2, "doc": '{"rules": [{"id": "x"}]}'})
        await redis_client.publish(GlobalKeys.rules_changed, "2")
        await asyncio.sleep(0.6)
        assert watcher.version == 1 and seen.versions == [1]
        good = await RulesStore(redis_client).save(watcher.ruleset.add(EXTRA), who="admin")
        await seen.wait_for(good, 2)


async def test_unreachable_redis_keeps_the_last_good_rules(tmp_path) -> None:
    server = RedisServer(tmp_path)
    client = aioredis.from_url(server.url, decode_responses=True, socket_timeout=1, socket_connect_timeout=1)
    seen = Seen()
    try:
        async with watching(client, seen, interval=0.2) as watcher:
            await seen.wait_for(1, 5)
            server.stop()
            await asyncio.sleep(1.0)  # several failed checks
            assert watcher.version == 1 and watcher.ruleset is not None
            server.start()  # empty again: the watcher re-seeds version 1, nothing to change
            store = RulesStore(client)
            _, ruleset = await store.load()
            await store.save(ruleset.add(EXTRA), who="admin")
            await seen.wait_for(2, 10)
    finally:
        await client.aclose()
        server.stop()


async def test_never_reachable_redis_does_not_raise() -> None:
    client = aioredis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2)
    seen = Seen()
    async with watching(client, seen, interval=0.1) as watcher:
        await asyncio.sleep(0.5)
        assert watcher.version is None and not watcher.ready.is_set()
    await client.aclose()


async def test_callback_failure_keeps_previous(redis_client) -> None:
    seen = Seen()

    def on_change(version: int, ruleset: RuleSet) -> None:
        if version == 2:
            raise ValueError("cannot compile")
        seen(version, ruleset)

    async with watching(redis_client, on_change, interval=0.1) as watcher:
        await seen.wait_for(1, 5)
        store = RulesStore(redis_client)
        _, ruleset = await store.load()
        await store.save(ruleset.add(EXTRA), who="a")
        await asyncio.sleep(0.4)
        assert watcher.version == 1
        await store.save(ruleset, who="a")
        await seen.wait_for(3, 2)
        assert seen.versions == [1, 3]
