"""The issue's check, end to end with real processes: simulator, worker, proxy, Redis, and the
`jira` client library as the users' side.

mode = "shadow", three users already licensed, real activity of two of them and an unlicensed
user's correct Basic call: the would-be holders are exactly those three; after the inactivity
period no would-be seat is left and the peak was 3; the licence group never changed and no
group write reached the directory.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from tests.helpers import seatgate_cmd, wait_until

pytestmark = pytest.mark.slow

GROUP_WRITES = ("add", "remove", "create_group", "update_role")


def call_as(url: str, user: str, password: str) -> int:
    """One scripted REST call through seatgate, as the `jira` library makes it: the status."""
    try:
        JIRA(url, basic_auth=(user, password), max_retries=0, get_server_info=False, timeout=20).myself()
    except JIRAError as exc:
        return exc.status_code
    return 200


def status_json(stack, config) -> dict:
    done = subprocess.run(
        seatgate_cmd("status", "--config", str(config), "--json"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["products"][0]


async def test_shadow_mode_observes_would_be_holders_and_changes_nothing(make_stack, redis_client):
    stack = make_stack(product_overrides={"mode": "shadow", "inactivity": "6s"}).start()
    config = stack.write_config("status")[0]
    stack.sim_post("/__sim/members", {"add": ["alice", "bob", "carol"]})
    before = stack.sim_state(requests=False)["members"]
    assert before == ["admin", "alice", "bob", "carol"]

    proxy = stack.proxy_url
    started = time.time()
    statuses = {
        user: await asyncio.to_thread(call_as, proxy, user, password)
        for user, password in [("alice", "alice"), ("bob", "bob"), ("dave", "dave"), ("erin", "wrong")]
    }
    # Shadow mode holds and grants nothing: every answer is the product's own.
    assert statuses == {"alice": 200, "bob": 200, "dave": 401, "erin": 401}, statuses

    def holders():
        p = status_json(stack, config)
        return p if {u["user"] for u in p["users"]} == {"alice", "bob", "dave"} else None

    p = await wait_until(holders, 30, interval=0.5)
    assert p is not None, stack.logs()
    assert p["mode"] == "shadow" and p["seats_used"] == 3 and p["queue"] == []
    assert all(u["idle_seconds"] < 60 for u in p["users"])

    def released():
        q = status_json(stack, config)
        return q if q["seats_used"] == 0 else None

    p = await wait_until(released, 45, interval=0.5)
    assert p is not None, stack.logs()
    assert p["users"] == [] and p["peak_seats"] == 3 and p["peak_at"] >= started - 1

    state = stack.sim_state(requests=False)
    assert state["members"] == before
    assert [c for c in state["directory_calls"] if c["op"] in GROUP_WRITES] == []
    # No grant was asked for, on the real stream or the would-be one.
    assert await redis_client.xlen("sg:{jira}:grants") == 0
    assert await redis_client.exists("sg:{jira}:shadow:grants", "sg:{jira}:licensed") == 0
    # dave is still refused by the product itself: shadow mode granted him nothing.
    assert await asyncio.to_thread(call_as, proxy, "dave", "dave") == 401
