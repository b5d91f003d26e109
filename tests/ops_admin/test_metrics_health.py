"""Every series of the operations spec is exposed by a running proxy and worker, with its labels.

The stack runs on a private redis-server so that the test may stop it and watch /readyz
turn 503 (the session's shared Redis must stay up for the other tests).
"""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import RedisServer
from tests.e2e.stack import Stack
from tests.e2e.test_core_loop import login, session, wait_until
from tests.ops_admin.ops import Samples, get_json, scrape

pytestmark = pytest.mark.slow

PRODUCT = {"product"}
# Sample name → label names, as the spec lists them (histograms by their _bucket samples).
PROXY_SERIES = {
    "seatgate_grant_latency_seconds_bucket": {"product", "outcome", "stage", "le"},
    "seatgate_requests_total": {"product", "verdict", "identity_source"},
    "seatgate_requests_held": PRODUCT,
    "seatgate_grant_failures_total": {"product", "mode", "reason"},
    "seatgate_rules_version": set(),
}
WORKER_SERIES = {
    "seatgate_grant_latency_seconds_bucket": {"product", "outcome", "stage", "le"},
    "seatgate_grants_total": {"product", "outcome"},
    "seatgate_seats_used": PRODUCT,
    "seatgate_seats_cap": PRODUCT,
    "seatgate_queue_length": PRODUCT,
    "seatgate_directory_call_seconds_bucket": {"product", "op", "outcome", "le"},
    "seatgate_directory_errors_total": {"product", "op", "outcome"},
    "seatgate_sweeper_revokes_total": PRODUCT,
    "seatgate_rules_version": set(),
}
# 1 ms … 10 s, as the spec asks, plus the +Inf every histogram has.
LATENCY_BOUNDS = {"0.001", "10.0", "+Inf"}


def matching(samples: Samples, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    return [(lbl, v) for lbl, v in samples.get(name, []) if all(lbl.get(k) == w for k, w in labels.items())]


def check_series(samples: Samples, expected: dict[str, set[str]], where: str) -> None:
    for name, label_names in expected.items():
        assert name in samples, f"{where}: {name} missing"
        for labels, _ in samples[name]:
            assert set(labels) == label_names, f"{where}: {name} has labels {sorted(labels)}"


async def test_proxy_and_worker_expose_every_series_and_health(tmp_path):
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")
    stack = Stack(
        tmp=tmp_path,
        redis_url=redis.url,
        product_overrides={"inactivity": "2s"},
        # One retry: the injected directory failure fails the grant quickly and
        # stays under the breaker's threshold, so later grants are not refused.
        worker_overrides={"directory_retries": 1},
    )
    try:
        stack.start()
        proxy_ops = f"http://127.0.0.1:{stack.metrics_ports[0]}"
        worker_ops = stack.admin_url
        for base in (proxy_ops, worker_ops):
            assert get_json(f"{base}/healthz") == (200, {"status": "ok"})
            # Ready a moment after listening (the proxy's event subscription comes up on its own).
            assert await wait_until(lambda b=base: get_json(f"{b}/readyz")[0] == 200, 10), get_json(f"{base}/readyz")
        assert get_json(f"{proxy_ops}/readyz")[1]["checks"]["upstream_jira"] is True

        async with session() as client:
            # A grant held by the proxy and confirmed by the worker.
            response = await login(client, stack.proxy_url, "alice")
            assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
            # A grant the directory fails: the proxy forwards anyway (fail-open) and counts it.
            stack.sim_post("/__sim/faults", {"fail_rate": 1.0})
            try:
                auth = {"Authorization": aiohttp.encode_basic_auth("bob", "bob")}
                # No cookie jar: alice's session cookie would name her instead.
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as fresh,
                    fresh.get(f"{stack.proxy_url}/rest/api/2/myself", headers=auth) as reply,
                ):
                    await reply.read()
            finally:
                stack.sim_post("/__sim/faults", {"fail_rate": 0.0})

        # alice does nothing more: the sweeper takes her seat back after 2 s.
        def revoked() -> Samples | None:
            samples = scrape(f"{worker_ops}/metrics")[1]
            counts = matching(samples, "seatgate_sweeper_revokes_total", product="jira")
            return samples if counts and counts[0][1] >= 1 else None

        worker = await wait_until(revoked, 15, 0.3)
        assert worker, f"no sweeper revoke\n{stack.logs()}"
        proxy = scrape(f"{proxy_ops}/metrics")[1]
        check_series(proxy, PROXY_SERIES, "proxy")
        check_series(worker, WORKER_SERIES, "worker")

        for samples, stage in ((proxy, "proxy"), (worker, "worker")):
            buckets = matching(
                samples, "seatgate_grant_latency_seconds_bucket", product="jira", stage=stage, outcome="granted"
            )
            assert {labels["le"] for labels, _ in buckets} >= LATENCY_BOUNDS, stage
            assert max(v for _, v in buckets) >= 1, f"{stage}: no granted grant observed"
        assert matching(proxy, "seatgate_requests_total", verdict="activity", identity_source="login")
        assert matching(proxy, "seatgate_requests_held", product="jira")[0][1] == 0  # nothing held any more
        assert matching(proxy, "seatgate_grant_failures_total", mode="open", reason="failed")[0][1] >= 1
        assert matching(proxy, "seatgate_rules_version")[0][1] >= 1
        assert matching(worker, "seatgate_rules_version")[0][1] >= 1
        assert matching(worker, "seatgate_directory_call_seconds_count", op="add", outcome="ok")
        assert matching(worker, "seatgate_directory_errors_total", op="add", outcome="500")
        assert matching(worker, "seatgate_seats_cap", product="jira")[0][1] > 0

        # Upstream and Redis gone: both processes say so on /readyz and count Redis errors.
        stack.processes[0].stop()  # the simulator
        redis.stop()

        def not_ready() -> bool:
            proxy_status, proxy_ready = get_json(f"{proxy_ops}/readyz")
            worker_status, worker_ready = get_json(f"{worker_ops}/readyz")
            return (
                proxy_status == worker_status == 503
                and proxy_ready["checks"]["redis"] is False
                and proxy_ready["checks"]["upstream_jira"] is False
                and worker_ready["checks"]["redis"] is False
            )

        assert await wait_until(not_ready, 15, 0.3), (get_json(f"{proxy_ops}/readyz"), get_json(f"{worker_ops}/readyz"))
        for base in (proxy_ops, worker_ops):
            errors = await wait_until(lambda b=base: scrape(f"{b}/metrics")[1].get("seatgate_redis_errors_total"), 10)
            assert errors and all(set(labels) == {"op"} for labels, _ in errors), base
        for base in (proxy_ops, worker_ops):  # alive, though not ready
            assert get_json(f"{base}/healthz")[0] == 200
    finally:
        stack.stop()
        redis.stop()
