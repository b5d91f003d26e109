"""The directory answering timeouts, then 500s, then recovering: nothing is lost.

- Timeouts: every call times out on the worker's side, but the simulator, like a slow
  Jira, makes the change afterwards. The worker cannot know whether the add landed, so
  the seat stays reserved (``granting``) until a later grant or the reconciler settles it
  from the real membership: no member of the licence group is ever unaccounted for.
- 500s: each grant is retried, then the circuit breaker opens and grants fail fast
  (counted, and the proxies fail open), /readyz says the directory is down.
- Recovery: after the breaker's cooldown one trial call closes it; every user who asked
  during the outage is granted at the next request, each with one membership change.
"""

from __future__ import annotations

import pytest

from seatgate.schema import ProductKeys
from tests.e2e.test_core_loop import login, session
from tests.faults.support import (
    PRODUCT,
    directory_calls,
    eventually,
    members,
    metric,
    proxy_metrics,
    readiness,
    ready,
    worker_metrics,
)

pytestmark = pytest.mark.slow

KEYS = ProductKeys(PRODUCT)


async def ask(stack, user: str) -> str:
    """``user`` logs in from a new browser (held for the grant); Jira's login reason."""
    async with session() as client:
        response = await login(client, stack.proxy_url, user)
        return response.headers.get("X-Seraph-LoginReason", "")


async def test_directory_timeouts_and_errors_lose_nothing(make_stack, redis_client):
    # Only grants call the directory here (no periodic seat refresh), so the breaker
    # counts exactly their failures: 5 consecutive ones open it, for 5 s.
    stack = make_stack(
        product_overrides={"inactivity": "60s"},
        worker_overrides={"directory_timeout": 1, "directory_retries": 2, "seat_refresh_interval": "1h"},
    ).start()
    worker = worker_metrics(stack)
    admin_port = stack.admin_ports[0]

    def errors(outcome: str) -> float:
        return metric(worker, "seatgate_directory_errors_total", product=PRODUCT, outcome=outcome)

    def breaker_open() -> float:
        return metric(worker, "seatgate_directory_circuit_open", product=PRODUCT)

    async def accounted() -> set[str]:
        return set(await redis_client.hkeys(KEYS.licensed)) | set(await redis_client.hkeys(KEYS.granting))

    # 1. Timeouts: the add is retried three times and given up on, yet lands later.
    stack.sim_post("/__sim/faults", {"timeout_rate": 1.0, "timeout_s": 1.5})
    # Forwarded anyway (fail-open): Jira answers, refusing bob or, when the first add
    # already landed, letting him in.
    assert await ask(stack, "bob") in ("AUTHORISATION_FAILED", "OK")
    assert errors("timeout") == 3 and breaker_open() == 0
    await eventually(lambda: "bob" in members(stack), 10, "the timed-out add lands in the directory")
    assert "bob" in await accounted(), "a member whose add timed out must keep a seat reserved"

    # 2. 500s: carol's add is retried until the breaker opens (5 failures in a row);
    # dave's grant is refused at once, without calling the directory.
    stack.sim_post("/__sim/faults", {"timeout_rate": 0.0, "fail_rate": 1.0})
    for user in ("carol", "dave"):
        assert await ask(stack, user) == "AUTHORISATION_FAILED"
    assert errors("500") == 2 and errors("circuit_open") == 2
    assert breaker_open() == 1
    assert readiness(admin_port)["checks"][f"directory_{PRODUCT}"] is False
    assert metric(proxy_metrics(stack), "seatgate_grant_failures_total", product=PRODUCT, mode="open") == 3
    assert metric(worker, "seatgate_grants_total", product=PRODUCT, outcome="failed") == 3
    assert {"carol", "dave"}.isdisjoint(members(stack))
    # carol's add may have been done by a 500 that came after the change: her seat stays
    # reserved; dave's grant never reached the directory: his seat is free again.
    assert await accounted() == {"bob", "carol"}

    # 3. Recovery: after the cooldown the next call is the breaker's trial; it succeeds
    # and closes the breaker. Every user who asked during the outage gets in now.
    stack.sim_post("/__sim/faults", {"fail_rate": 0.0})
    await eventually(lambda: ready(admin_port), 10, f"breaker half-open, worker ready: {readiness(admin_port)}")
    for user in ("bob", "carol", "dave"):
        assert await ask(stack, user) == "OK", stack.logs()
    assert breaker_open() == 0

    assert members(stack) == {"admin", "bob", "carol", "dave"}
    assert set(await redis_client.hkeys(KEYS.licensed)) == {"bob", "carol", "dave"}
    assert await redis_client.hlen(KEYS.granting) == 0 and await redis_client.hlen(KEYS.revoking) == 0
    for user in ("bob", "carol", "dave"):
        changes = [c for c in directory_calls(stack, user) if c["status"] == 201]
        assert len(changes) == 1, directory_calls(stack, user)
