"""A proxy restarted: what it learned lives in Redis, so nobody is asked to log in again.

Session cookie, remember-me cookie and Personal Access Token mappings are written to
Redis behind the requests; the restarted process reads them back on first sight, and
its licence view is reloaded when it subscribes to the events. No request is held for a
grant and the directory sees no new add.
"""

from __future__ import annotations

import pytest

from seatgate.schema import ProductKeys
from tests.e2e.test_core_loop import login, session
from tests.faults.support import (
    PRODUCT,
    directory_calls,
    eventually,
    metric,
    proxy_metrics,
    readiness,
    ready,
    restart_proxy,
)

pytestmark = pytest.mark.slow

KEYS = ProductKeys(PRODUCT)


async def test_restarted_proxy_keeps_sessions_and_tokens(make_stack, redis_client):
    stack = make_stack(product_overrides={"inactivity": "60s"}).start()
    base = stack.proxy_url
    async with session() as client:
        response = await login(client, base, "alice")
        assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
        async with client.post(
            f"{base}/rest/pat/latest/tokens", json={"name": "ci", "expirationDuration": 90}
        ) as created:
            assert created.status == 201, await created.text()
            token = (await created.json())["rawToken"]
        bearer = {"Authorization": f"Bearer {token}"}
        async with session() as api, api.get(f"{base}/rest/api/2/myself", headers=bearer) as rest:
            assert (rest.status, rest.headers.get("X-AUSERNAME")) == (200, "alice")
        # session, remember-me and token mappings, written behind
        await eventually(lambda: _identity_count(redis_client), 5, "identities written to Redis")
        assert len(directory_calls(stack, "alice")) == 1

        restart_proxy(stack, 0)
        await eventually(
            lambda: ready(stack.metrics_ports[0]), 10, f"restarted proxy ready: {readiness(stack.metrics_ports[0])}"
        )

        # The same browser: no login page, no hold.
        async with client.get(f"{base}/secure/Dashboard.jspa", allow_redirects=False) as page:
            assert (page.status, page.headers.get("X-AUSERNAME")) == (200, "alice"), page.headers
        async with client.get(f"{base}/browse/DEMO-1") as page:
            assert page.status == 200
    # The remember-me cookie alone (the browser restarted too), and the token alone.
    remember = {c.key: c.value for c in client.cookie_jar}["seraph.rememberme.cookie"]
    async with session() as fresh:
        headers = {"Cookie": f"seraph.rememberme.cookie={remember}"}
        async with fresh.get(f"{base}/browse/DEMO-2", headers=headers, allow_redirects=False) as page:
            assert (page.status, page.headers.get("X-AUSERNAME")) == (200, "alice")
    async with session() as api, api.get(f"{base}/rest/api/2/myself", headers=bearer) as rest:
        assert (rest.status, rest.headers.get("X-AUSERNAME")) == (200, "alice")

    metrics = proxy_metrics(stack, 0)
    for source in ("session", "rememberme", "pat"):
        assert metric(metrics, "seatgate_requests_total", identity_source=source) >= 1, source
    assert metric(metrics, "seatgate_requests_total", identity_source="anonymous") == 0
    assert metric(metrics, "seatgate_grant_latency_seconds_count", stage="proxy") == 0, "nothing was held"
    assert len(directory_calls(stack, "alice")) == 1, "no new directory add"
    state = stack.sim_state()
    assert all(r["licensed"] for r in state["requests"] if r["user"] == "alice")
    assert not [r for r in state["requests"] if r["path"] == "/login.jsp" and r["method"] == "GET"]


async def _identity_count(redis_client) -> bool:
    keys = [key async for key in redis_client.scan_iter(match=KEYS.identity("*"))]
    return len(keys) >= 3
