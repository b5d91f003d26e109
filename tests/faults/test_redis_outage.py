"""Redis stopped for 10 s and restarted (AOF on): Jira stays reachable and no activity is lost.

While Redis is down the proxies forward everything: licensed users as usual (the
"licensed?" answer is local), unlicensed users fail open (counted in
``seatgate_grant_failures_total``). Activity is kept in the write-behind buffer, bounded
by ``activity_buffer_max``, and written once Redis is back; the workers reconnect and
grant again.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from seatgate.schema import ProductKeys
from tests.conftest import RedisServer
from tests.e2e.test_core_loop import login, session
from tests.faults.support import (
    PRODUCT,
    eventually,
    members,
    metric,
    proxy_metrics,
    readiness,
    ready,
    rss_kib,
    worker_metrics,
)

pytestmark = pytest.mark.slow

KEYS = ProductKeys(PRODUCT)
OUTAGE = 10.0


async def test_redis_outage_keeps_jira_reachable_and_loses_no_activity(make_stack, tmp_path):
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis", appendonly=True)
    try:
        stack = make_stack(
            redis_url=redis.url, product_overrides={"inactivity": "60s"}, proxy_overrides={"grant_timeout": 3}
        ).start(workers=1, proxies=2)
        bases = [f"http://127.0.0.1:{port}" for port in stack.proxy_ports]
        users = ("alice", "erin")  # one licensed user per proxy
        clients = [session() for _ in users]
        anonymous = session()  # a browser without a session
        try:
            for client, base, user in zip(clients, bases, users, strict=True):
                response = await login(client, base, user)
                assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
            # Both logins and the sessions they created are in Redis before it goes down.
            await eventually(
                lambda: (
                    redis.cli("DBSIZE").strip() != "0" and len(redis.cli("KEYS", f"sg:{{{PRODUCT}}}:id:*").split()) >= 4
                ),
                5,
                "identities written",
            )
            rss_before = [rss_kib(p.pid) for p in stack.proxies]

            redis.stop()
            stopped = time.monotonic()
            last_seen: dict[str, float] = {}
            statuses: list[tuple[str, int]] = []
            while time.monotonic() - stopped < OUTAGE:
                for client, base, user in zip(clients, bases, users, strict=True):
                    before = time.time()
                    async with client.get(f"{base}/browse/DEMO-1") as page:
                        await page.read()
                        statuses.append((page.headers.get("X-AUSERNAME", ""), page.status))
                    last_seen[user] = before
                # An unlicensed user's grant cannot be asked for: the login is forwarded anyway
                # (fail-open), and Jira itself refuses it.
                started = time.monotonic()
                anonymous.cookie_jar.clear()
                refused = await login(anonymous, bases[0], "bob")
                assert refused.headers.get("X-Seraph-LoginReason") == "AUTHORISATION_FAILED", refused.status
                assert time.monotonic() - started < 3 + 2.5, "fail-open must not wait past grant_timeout"
                await asyncio.sleep(0.5)
            assert set(statuses) == {("alice", 200), ("erin", 200)}, statuses
            assert all(not ready(port) for port in stack.metrics_ports), "readiness must report Redis down"
            assert metric(proxy_metrics(stack, 0), "seatgate_grant_failures_total", mode="open") >= 1
            for index in range(2):
                assert metric(proxy_metrics(stack, index), "seatgate_redis_errors_total", op="flush") >= 1
                assert metric(proxy_metrics(stack, index), "seatgate_write_behind_dropped_total") == 0
            # The buffer holds one entry per user, not one per request: memory stays flat.
            rss_after = [rss_kib(p.pid) for p in stack.proxies]
            assert all(after - before < 20_000 for before, after in zip(rss_before, rss_after, strict=True)), (
                rss_before,
                rss_after,
            )

            redis.start()  # same port, same directory: the AOF brings the data back
            for user in users:
                await eventually(
                    lambda user=user: float(redis.cli("ZSCORE", KEYS.activity, user) or 0) >= last_seen[user],
                    10,
                    f"{user}'s activity during the outage written after recovery",
                )
            assert set(redis.cli("HKEYS", KEYS.licensed).split()) == set(users)
            for port in stack.metrics_ports + stack.admin_ports:
                await eventually(lambda port=port: ready(port), 15, f"ready again on {port}: {readiness(port)}")

            # The worker consumes grants again: a new user logs in at the first try.
            async with session() as carol:
                response = await login(carol, bases[1], "carol")
                assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
            assert "carol" in members(stack)
            # Sessions learned before the outage still identify their users.
            for client, base, user in zip(clients, bases, users, strict=True):
                async with client.get(f"{base}/secure/Dashboard.jspa", allow_redirects=False) as page:
                    assert (page.status, page.headers.get("X-AUSERNAME")) == (200, user)
            assert metric(worker_metrics(stack), "seatgate_redis_errors_total") >= 1
        finally:
            for client in [*clients, anonymous]:
                await client.close()
    finally:
        redis.stop()


async def test_write_behind_buffer_is_bounded_while_redis_is_down(tmp_path):
    """More distinct users than the buffer holds: the oldest entries go (counted), the rest land."""
    from proxy_addon import metrics
    from proxy_addon.write_behind import WriteBehind
    from seatgate import redis_conn

    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis", appendonly=True)
    client = redis_conn.connect(redis.url)
    try:
        redis.stop()
        writer = WriteBehind(client, 0.2, 100, 3600)
        dropped = metrics.WRITE_BEHIND_DROPPED._value.get()
        now = time.time()
        for i in range(1000):
            writer.activity(PRODUCT, f"user{i:04d}", now + i)
            if i % 100 == 0:
                assert await writer.flush() is False
        assert writer.pending == 100
        assert metrics.WRITE_BEHIND_DROPPED._value.get() - dropped == 900
        redis.start()
        assert await eventually(writer.flush, 10, "flushed after recovery")
        stored = await client.zrange(KEYS.activity, 0, -1, withscores=True)
        assert stored == [(f"user{i:04d}", now + i) for i in range(900, 1000)]
    finally:
        await client.aclose()
        redis.stop()
