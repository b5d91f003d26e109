"""The core loop end to end: real simulator, real Redis, real worker and proxy processes."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.helpers import wait_until

__all__ = ["login", "session", "wait_until"]

pytestmark = pytest.mark.slow

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=20))


async def login(client: aiohttp.ClientSession, base: str, user: str, remember: bool = True) -> aiohttp.ClientResponse:
    data = {"os_username": user, "os_password": user, "os_destination": "/secure/Dashboard.jspa"}
    if remember:
        data["os_cookie"] = "true"
    async with client.post(f"{base}/login.jsp", data=data, allow_redirects=False) as response:
        await response.read()
        return response


def requests_of(state: dict, user: str, path_prefix: str = "") -> list[dict]:
    return [r for r in state["requests"] if r["user"] == user and r["path"].startswith(path_prefix)]


async def test_unlicensed_login_works_at_first_try(make_stack):
    stack = make_stack().start()
    async with session() as client:
        response = await login(client, stack.proxy_url, "alice")
        assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
        assert response.headers.get("X-AUSERNAME") == "alice"
        async with client.get(f"{stack.proxy_url}/secure/Dashboard.jspa") as page:
            assert page.status == 200
            assert page.headers["X-AUSERNAME"] == "alice"
        async with client.get(f"{stack.proxy_url}/browse/DEMO-1") as page:
            assert page.status == 200
    state = stack.sim_state()
    logins = [r for r in state["requests"] if r["path"] == "/login.jsp" and r["method"] == "POST"]
    assert len(logins) == 1 and logins[0]["licensed"] is True and logins[0]["user"] == "alice"
    assert "alice" in state["members"]
    # every request of alice that counts as activity reached the upstream licensed
    assert all(r["licensed"] for r in requests_of(state, "alice")), requests_of(state, "alice")


async def test_background_polling_does_not_keep_a_seat(make_stack):
    stack = make_stack(product_overrides={"inactivity": "3s"}).start()
    async with session() as client:
        await login(client, stack.proxy_url, "bob")
        assert "bob" in stack.sim_state(requests=False)["members"]
        polls = 0
        end = time.monotonic() + 12
        revoked_at = None
        while time.monotonic() < end:
            for path in (
                "/rest/servicedesk/1/servicedesk/SD/queues/poll?projectStateHash=x",
                "/rest/mywork/latest/status/notification/count",
                "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=1&etag=5",
            ):
                async with client.get(stack.proxy_url + path) as response:
                    await response.read()
                polls += 1
            if "bob" not in stack.sim_state(requests=False)["members"]:
                revoked_at = time.monotonic()
                break
            await asyncio.sleep(0.3)
        assert revoked_at is not None, f"bob kept his seat through {polls} background polls\n{stack.logs()}"
        # Real activity again: licensed before the request reaches upstream, no login prompt.
        async with client.get(f"{stack.proxy_url}/browse/DEMO-2") as page:
            assert page.status == 200
            assert page.headers["X-AUSERNAME"] == "bob"
    last = requests_of(stack.sim_state(), "bob", "/browse/DEMO-2")
    assert last and last[-1]["licensed"] is True


async def test_rememberme_cookie_alone_relicenses(make_stack):
    stack = make_stack(product_overrides={"inactivity": "2s"}).start()
    async with session() as client:
        await login(client, stack.proxy_url, "carol")
        remember = {c.key: c.value for c in client.cookie_jar}["seraph.rememberme.cookie"]
    assert await wait_until(lambda: "carol" not in stack.sim_state(requests=False)["members"], 15), stack.logs()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as fresh:
        headers = {"Cookie": f"seraph.rememberme.cookie={remember}"}
        async with fresh.get(f"{stack.proxy_url}/browse/DEMO-3", headers=headers, allow_redirects=False) as page:
            assert page.status == 200, stack.logs()
            assert page.headers["X-AUSERNAME"] == "carol"
            assert "max-age=0" not in page.headers.get("Set-Cookie", "").lower()
    hits = requests_of(stack.sim_state(), "carol", "/browse/DEMO-3")
    assert hits and hits[0]["licensed"] is True


async def test_concurrent_first_requests_cause_one_directory_add(make_stack):
    stack = make_stack().start()
    auth = {"Authorization": aiohttp.encode_basic_auth("dave", "dave")}
    async with session() as client:

        async def one():
            async with client.get(f"{stack.proxy_url}/rest/api/2/myself", headers=auth) as response:
                return response.status

        statuses = await asyncio.gather(*(one() for _ in range(10)))
    assert statuses == [200] * 10, stack.logs()
    adds = [c for c in stack.sim_state(requests=False)["directory_calls"] if c["op"] == "add" and c["user"] == "dave"]
    assert len(adds) == 1, adds


async def test_licensed_user_costs_almost_no_redis_commands(make_stack, redis_server):
    stack = make_stack(proxy_overrides={"activity_flush_interval": 1.0}).start()
    async with session() as client:
        await login(client, stack.proxy_url, "erin")
        async with client.get(f"{stack.proxy_url}/browse/DEMO-1") as page:
            assert page.status == 200
        await asyncio.sleep(1.5)  # let the login's writes land
        # Only the proxy is measured: the worker's own duties (sweeps, seat refreshes)
        # run on timers whatever the traffic, so it is stopped first.
        for worker in stack.workers:
            worker.stop()

        def total_calls() -> int:
            stats = redis_server.cli("INFO", "commandstats")
            return sum(int(line.split("calls=")[1].split(",")[0]) for line in stats.splitlines() if "calls=" in line)

        # The proxy's own timers (rules version check, cache resync) are counted too:
        # an upper bound for what the user's requests cost.
        before = total_calls()
        for _ in range(1000):
            async with client.get(f"{stack.proxy_url}/rest/api/2/myself") as response:
                assert response.status == 200
        await asyncio.sleep(0.5)
        after = total_calls()
    # INFO itself counts once per call.
    used = after - before - 1
    print(f"redis commands for 1000 licensed requests (including background duties): {used}")
    assert used <= 50, used
