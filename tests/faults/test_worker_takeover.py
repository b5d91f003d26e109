"""A worker dies (SIGKILL) at each step of a grant; the other worker finishes it at once.

Two real workers run with the default ``takeover_after``. Both carry the test-only crash
point (grant_worker/crashpoints.py) with one marker file, so whichever worker handles the
login's grant kills itself at the named step and the other one carries on. The login is
held by the proxy, which waits ``grant_timeout``: it reaches the product licensed only if
the takeover, plus whatever directory call is left, fits inside that deadline.

"Licensed exactly once": the simulator records every directory add; exactly one of them
changed the membership (201). Only an add the dead worker still had on the wire
(``during_add``) can be followed by a second add, which finds the user a member already
(400, re-checked by the worker as success) and changes nothing.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from seatgate.schema import GROUP, ProductKeys
from tests.e2e.test_core_loop import login, session
from tests.faults.support import PRODUCT, directory_calls, eventually, metric, worker_metrics

pytestmark = pytest.mark.slow

KEYS = ProductKeys(PRODUCT)
TAKEOVER_BUDGET = 2.0  # the issue's bound, with default settings


def crash_env(tmp_path, step: str, delay: float = 0.0) -> dict[str, str]:
    return {
        "SEATGATE_TEST_CRASH_AT": step,
        "SEATGATE_TEST_CRASH_DELAY": str(delay),
        "SEATGATE_TEST_CRASH_ONCE": str(tmp_path / "crashed"),
    }


async def wait_for_death(stack, deadline: float) -> tuple[int, float]:
    """Index of the worker that died and when (monotonic)."""
    dead = await eventually(
        lambda: [i for i, w in enumerate(stack.workers) if w.proc.poll() is not None], deadline, "a worker died"
    )
    return dead[0], time.monotonic()


async def held_login(stack, user: str, deadline: float):
    async with session() as client:
        return await asyncio.wait_for(login(client, stack.proxy_url, user), deadline)


async def assert_licensed_once(stack, redis_client, user: str, survivor: int, second_add_allowed: bool) -> None:
    adds = directory_calls(stack, user)
    assert [c["status"] for c in adds].count(201) == 1, adds
    if second_add_allowed:
        assert all(c["status"] in (201, 400) for c in adds) and len(adds) <= 2, adds
    else:
        assert len(adds) == 1, adds
    state = stack.sim_state()
    assert state["members"].count(user) == 1
    forwarded = [r for r in state["requests"] if r["path"] == "/login.jsp" and r["method"] == "POST"]
    assert len(forwarded) == 1 and forwarded[0]["licensed"] is True, forwarded
    # Nothing left half done, and the seat counted once.
    assert await redis_client.hexists(KEYS.licensed, user)
    assert not await redis_client.hexists(KEYS.granting, user)
    assert await redis_client.hlen(KEYS.licensed) + await redis_client.hlen(KEYS.granting) == 1
    # The proxy may see the committed seat before the survivor has acknowledged the entry.
    await eventually(
        lambda: _nothing_pending(redis_client), TAKEOVER_BUDGET + 5, "the entry taken over and acknowledged"
    )
    assert metric(worker_metrics(stack, survivor), "seatgate_grants_reclaimed_total", product=PRODUCT) == 1
    assert "grant_reclaimed" in stack.workers[survivor].output()


async def _nothing_pending(redis_client) -> bool:
    return await redis_client.xpending_range(KEYS.grants, GROUP, min="-", max="+", count=10) == []


# (step, directory latency, delay of the kill after reaching the step)
STEPS = [
    ("before_reserve", 1.0, 0.0),
    ("during_add", 1.0, 0.5),
    ("after_add", 1.0, 0.0),
    ("after_commit", 1.0, 0.0),
]


@pytest.mark.parametrize(("step", "latency", "delay"), STEPS, ids=[s[0] for s in STEPS])
async def test_worker_killed_at_each_step_is_taken_over(make_stack, redis_client, tmp_path, step, latency, delay):
    stack = make_stack(
        product_overrides={"inactivity": "60s"},
        worker_env=crash_env(tmp_path, step, delay),
    ).start(workers=2)
    stack.sim_post("/__sim/faults", {"latency_ms": latency * 1000})
    user = "dave"

    # The default grant_timeout (5 s) holds the login: it must come back licensed.
    request = asyncio.create_task(held_login(stack, user, 30))
    try:
        victim, died_at = await wait_for_death(stack, 20)
        survivor = 1 - victim
        # Measured, with a generous margin for a loaded machine; the exact figures are in the bench.
        await eventually(
            lambda: redis_client.hexists(KEYS.licensed, user), TAKEOVER_BUDGET + latency + 3, "licensed after the kill"
        )
        took = time.monotonic() - died_at
        response = await request
    finally:
        request.cancel()
    assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
    assert response.headers.get("X-AUSERNAME") == user
    await assert_licensed_once(stack, redis_client, user, survivor, second_add_allowed=step == "during_add")
    print(f"{step}: licensed {took:.2f}s after the kill (directory latency {latency:g}s)")


async def test_issue_check_killed_one_second_into_the_directory_call(make_stack, redis_client, tmp_path):
    """With a 2.5 s directory, a login whose worker dies 1 s into the add reaches upstream licensed within 6.5 s."""
    stack = make_stack(
        # The proxy holds the login at most 6.5 s: forwarded licensed means licensed within it.
        proxy_overrides={"grant_timeout": 6.5},
        product_overrides={"inactivity": "60s"},
        worker_env=crash_env(tmp_path, "during_add", 1.0),
    ).start(workers=2)
    stack.sim_post("/__sim/faults", {"latency_ms": 2500})
    started = time.monotonic()
    response = await held_login(stack, "erin", 30)
    elapsed = time.monotonic() - started
    assert any(w.proc.poll() is not None for w in stack.workers), "a worker must have died"
    survivor = next(i for i, w in enumerate(stack.workers) if w.proc.poll() is None)
    assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
    assert response.headers.get("X-AUSERNAME") == "erin"
    await assert_licensed_once(stack, redis_client, "erin", survivor, second_add_allowed=True)
    print(f"login answered licensed after {elapsed:.2f}s")


async def test_live_worker_with_a_slow_directory_is_never_taken_over(make_stack, redis_client):
    """A directory call far longer than takeover_after: the heartbeat keeps the grant with its worker."""
    stack = make_stack(proxy_overrides={"grant_timeout": 20}, product_overrides={"inactivity": "60s"}).start(workers=2)
    stack.sim_post("/__sim/faults", {"latency_ms": 5000})  # over 3 times takeover_after
    response = await held_login(stack, "carol", 30)
    assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
    adds = directory_calls(stack, "carol")
    assert [c["status"] for c in adds] == [201], adds
    for index in range(2):
        assert metric(worker_metrics(stack, index), "seatgate_grants_reclaimed_total", product=PRODUCT) == 0
    assert all(w.proc.poll() is None for w in stack.workers)


async def test_worker_stopped_mid_grant_finishes_it_and_is_not_taken_over(make_stack, redis_client):
    """SIGTERM during a slow add: the worker finishes the grant, its heartbeat going on meanwhile."""
    stack = make_stack(proxy_overrides={"grant_timeout": 20}, product_overrides={"inactivity": "60s"}).start(workers=2)
    stack.sim_post("/__sim/faults", {"latency_ms": 4000})  # over twice takeover_after
    request = asyncio.create_task(held_login(stack, "bob", 30))
    try:
        await eventually(lambda: redis_client.hexists(KEYS.granting, "bob"), 10, "bob's seat reserved")
        pending = await redis_client.xpending_range(KEYS.grants, GROUP, min="-", max="+", count=10)
        pid = int(pending[0]["consumer"].rsplit("-", 2)[1])
        stopping = next(i for i, w in enumerate(stack.workers) if w.pid == pid)
        stack.workers[stopping].kill(signal.SIGTERM)
        response = await request
    finally:
        request.cancel()
    assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
    assert [c["status"] for c in directory_calls(stack, "bob")] == [201]
    other = 1 - stopping
    assert metric(worker_metrics(stack, other), "seatgate_grants_reclaimed_total", product=PRODUCT) == 0
    await eventually(lambda: stack.workers[stopping].proc.poll() is not None, 20, "the stopped worker exited")
    # It left nothing behind: its heartbeat keys are gone with it, not left to expire.
    assert await redis_client.keys(KEYS.alive(pending[0]["consumer"])) == []
