"""A worker killed with SIGKILL in the middle of a grant: another worker finishes it.

The directory is slowed down (3 s per call) so that the kill lands while the worker is
waiting for the add. The surviving worker takes the unacknowledged stream entry over
once the victim's heartbeat key expires (``takeover_after``), the user ends in the licence group exactly once, and
the request that was held all along is forwarded, licensed.

"Exactly one directory add" means one add that changed the membership (201). The killed
worker's add was already on the wire: the simulator, like Jira, finishes it after the
client has gone, so the reclaiming worker's add then finds the user already a member and
is answered 400, which the worker re-checks and takes as success. Any further add of the
user must be such a 400.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from seatgate.schema import GROUP, ProductKeys
from tests.e2e.test_core_loop import login, session
from tests.faults.support import PRODUCT, directory_calls, eventually, metric, worker_metrics

pytestmark = pytest.mark.slow

KEYS = ProductKeys(PRODUCT)


def consumer_pid(consumer: str) -> int:
    """A worker's consumer name is ``<host>-<pid>-<random>``."""
    return int(consumer.rsplit("-", 2)[1])


async def test_worker_killed_mid_grant_is_finished_by_another(make_stack, redis_client):
    stack = make_stack(
        proxy_overrides={"grant_timeout": 20},
        product_overrides={"inactivity": "60s"},
    ).start(workers=2)
    stack.sim_post("/__sim/faults", {"latency_ms": 3000})

    async with session() as client:
        # A login: the product refuses an unlicensed user inside it, so it is held for the grant.
        request = asyncio.create_task(login(client, stack.proxy_url, "dave"))
        try:
            # The seat is reserved right before the directory add: from then on the add is in flight.
            await eventually(lambda: redis_client.hexists(KEYS.granting, "dave"), 10, "dave's seat reserved")
            pending = await redis_client.xpending_range(KEYS.grants, GROUP, min="-", max="+", count=10)
            assert len(pending) == 1, pending
            victim_pid = consumer_pid(pending[0]["consumer"])
            victim = next(w for w in stack.workers if w.pid == victim_pid)
            survivor = stack.workers.index(next(w for w in stack.workers if w is not victim))
            assert not directory_calls(stack, "dave"), "the add must still be in flight"
            victim.kill(signal.SIGKILL)
            victim.proc.wait(5)

            response = await asyncio.wait_for(request, 25)
        finally:
            request.cancel()
    assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
    assert response.headers.get("X-AUSERNAME") == "dave"

    adds = directory_calls(stack, "dave")
    assert [c["status"] for c in adds].count(201) == 1, adds
    assert all(c["status"] in (201, 400) for c in adds), adds
    state = stack.sim_state()
    assert state["members"].count("dave") == 1
    forwarded = [r for r in state["requests"] if r["path"] == "/login.jsp" and r["method"] == "POST"]
    assert len(forwarded) == 1 and forwarded[0]["licensed"] is True, forwarded

    # The entry was taken over and acknowledged; the seat is committed, nothing is left half done.
    assert await redis_client.hexists(KEYS.licensed, "dave")
    assert not await redis_client.hexists(KEYS.granting, "dave")
    assert await redis_client.xpending_range(KEYS.grants, GROUP, min="-", max="+", count=10) == []
    assert metric(worker_metrics(stack, survivor), "seatgate_grants_reclaimed_total", product=PRODUCT) == 1
    assert "grant_reclaimed" in stack.workers[survivor].output()
