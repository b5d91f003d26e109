"""Shadow mode, worker side, with real processes: a would-be seat state from recorded activity,
kept with the enforce-mode cap, queue and sweeper, and no write to the directory."""

from __future__ import annotations

import time

import pytest

from tests.faults.support import metric
from tests.helpers import wait_until

pytestmark = pytest.mark.slow

ACTIVITY = "sg:{jira}:activity"
GROUP_WRITES = ("add", "remove")


def product_status(stack) -> dict:
    status, doc = stack.admin("GET", "/api/v1/status")
    assert status == 200, doc
    return doc["products"][0]


def group_writes(stack) -> list[dict]:
    return [c for c in stack.sim_state(requests=False)["directory_calls"] if c["op"] in GROUP_WRITES]


async def test_would_be_state_follows_the_cap_queue_and_inactivity_and_writes_nothing(make_stack, redis_client):
    stack = make_stack(product_overrides={"mode": "shadow", "inactivity": "3s", "seats": 2}).start(proxies=0)
    members_before = stack.sim_state(requests=False)["members"]
    now = time.time()
    # What the proxies record for confirmed identities doing real activity.
    await redis_client.zadd(ACTIVITY, {"alice": now, "bob": now + 0.01, "carol": now + 0.02})

    def holders_and_queue():
        p = product_status(stack)
        return (p["users"] and p["queue"] and p) or None

    p = await wait_until(holders_and_queue, 20)
    assert p["mode"] == "shadow"
    assert {u["user"] for u in p["users"]} == {"alice", "bob"}
    assert [q["user"] for q in p["queue"]] == ["carol"]
    assert p["seats_used"] == 2 and p["peak_seats"] == 2 and p["peak_at"] >= now - 1
    assert all(u["idle_seconds"] >= 0 for u in p["users"])

    # Nothing in the real seat state, and no would-be state where enforce mode looks.
    assert await redis_client.hlen("sg:{jira}:licensed") == 0
    assert await redis_client.hlen("sg:{jira}:shadow:licensed") == 2

    # After the inactivity period the would-be seats are released by the sweeper.
    p = await wait_until(lambda: (q := product_status(stack))["seats_used"] == 0 and q, 30)
    assert p["peak_seats"] == 2 and p["users"] == []

    audit = [fields for _id, fields in await redis_client.xrange("sg:{jira}:audit")]
    actions = sorted({a["action"] for a in audit})
    assert {"would_grant:granted", "would_grant:denied", "would_revoke"} <= set(actions), actions
    assert all(a["mode"] == "shadow" for a in audit), audit
    assert not [a for a in audit if a["action"].startswith(("grant:", "revoke"))]

    assert group_writes(stack) == []
    assert stack.sim_state(requests=False)["members"] == members_before

    url = f"{stack.admin_url}/metrics"
    assert metric(url, "seatgate_product_mode", product="jira", mode="shadow") == 1
    assert metric(url, "seatgate_product_mode", product="jira", mode="enforce") == 0
    assert metric(url, "seatgate_shadow_grants_total", product="jira", outcome="granted") == 2
    assert metric(url, "seatgate_grants_total", product="jira") == 0


async def test_enforce_is_the_default_and_ignores_shadow_state(make_stack, redis_client):
    # A would-be holder left by a shadow run is not a licensed user once the product enforces.
    await redis_client.hset("sg:{jira}:shadow:licensed", "alice", time.time())
    stack = make_stack().start(proxies=0)
    p = product_status(stack)
    assert p["mode"] == "enforce" and p["users"] == [] and p["seats_used"] == 0
