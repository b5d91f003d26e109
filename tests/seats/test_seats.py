"""Seats, the queue, holds, the reconciler and every directory, with real processes."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.slow


def basic(user: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, user)}


async def test_cap_holds_for_200_users_at_once_on_two_workers_and_two_proxies(make_stack):
    stack = make_stack(sim_args=["--users", "200"], product_overrides={"seats": 50, "inactivity": "60s"})
    stack.start(workers=2, proxies=2)
    users = [f"user{i:04d}" for i in range(1, 201)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def first(i: int, user: str) -> int:
            base = f"http://127.0.0.1:{stack.proxy_ports[i % 2]}"
            async with client.get(f"{base}/rest/api/2/myself", headers=basic(user)) as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(first(i, u) for i, u in enumerate(users)))
    state = stack.sim_state(requests=False)
    assert state["max_members"] <= 50 + 1, state["max_members"]  # + admin, unmanaged at start
    _, status = stack.admin("GET", "/api/v1/status")
    product = status["products"][0]
    licensed = {u["user"] for u in product["licensed"]}
    queued = {q["user"] for q in product["queue"]}
    assert licensed | queued == set(users), (len(licensed), len(queued))
    assert len(licensed) == 50 and statuses.count(200) == 50 and statuses.count(503) == 150


async def test_waiting_page_and_queue_order(make_stack):
    stack = make_stack(
        product_overrides={"seats": 1, "inactivity": "3s"},
        worker_overrides={"queue_retry_after": 1, "queue_timeout": "30s"},
    ).start()
    html = {"Accept": "text/html"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as client:

        async def browse(user: str) -> tuple[int, str]:
            async with client.get(f"{stack.proxy_url}/secure/Dashboard.jspa", headers={**html, **basic(user)}) as r:
                return r.status, await r.text()

        assert (await browse("alice"))[0] == 200
        status, page = await browse("bob")
        assert status == 503 and 'id="seatgate-waiting"' in page
        assert re.search(r'id="seatgate-position">1<', page)
        status, page = await browse("carol")
        assert re.search(r'id="seatgate-position">2<', page)
        async with client.get(f"{stack.proxy_url}/rest/api/2/myself", headers=basic("dave")) as rest:
            assert rest.status == 503 and rest.headers["Retry-After"]
            assert (await rest.json())["error"] == "no_free_seat"
        # alice goes idle; bob (head of the queue) gets the seat first, carol moves up
        got_in = None
        end = time.monotonic() + 20
        while time.monotonic() < end and got_in is None:
            status, _ = await browse("carol")
            if status == 200:
                pytest.fail("carol overtook bob")
            status, _ = await browse("bob")
            if status == 200:
                got_in = "bob"
            await asyncio.sleep(0.5)
        assert got_in == "bob", stack.logs()
        status, page = await browse("carol")
        assert status == 503 and re.search(r'id="seatgate-position">1<', page)


async def test_hold_keeps_an_idle_user_licensed_until_it_expires(make_stack):
    stack = make_stack(product_overrides={"inactivity": "2s"}).start()
    code, body = stack.admin("POST", "/api/v1/grants", {"user": "erin", "product": "jira", "hold_for": 7})
    assert code == 200 and body["outcome"] == "granted", body
    assert "erin" in stack.sim_state(requests=False)["members"]
    await asyncio.sleep(5)  # idle for well past the inactivity period
    assert "erin" in stack.sim_state(requests=False)["members"]
    assert await wait_until(lambda: "erin" not in stack.sim_state(requests=False)["members"], 12)
    code, body = stack.admin("POST", "/api/v1/grants", {"user": "erin", "product": "nope"})
    assert code == 400 and "unknown" in body["error"]


async def test_reconciler_repairs_hand_made_changes(make_stack):
    stack = make_stack(
        product_overrides={"inactivity": "60s", "unmanaged_members": "adopt"},
        worker_overrides={"reconcile_interval": "1s"},
    ).start()
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{stack.proxy_url}/rest/api/2/myself", headers=basic("alice")) as r,
    ):
        assert r.status == 200
    stack.sim_post("/__sim/members", {"remove": ["alice"], "add": ["bob"]})

    def licensed() -> set[str]:
        return {u["user"] for u in stack.admin("GET", "/api/v1/status")[1]["products"][0]["licensed"]}

    assert await wait_until(lambda: "alice" not in licensed() and "bob" in licensed(), 15), licensed()
    _, audit = stack.admin("GET", "/api/v1/audit")
    actions = {(e["action"], e["user"]) for e in audit}
    assert ("reconcile:dropped", "alice") in actions and ("reconcile:adopted", "bob") in actions


DIRECTORIES = {
    "jira": dict(product="jira", sim_args=[], overrides={"directory": "jira"}),
    "confluence-rest": dict(
        product="confluence", sim_args=["--confluence-api", "rest"], overrides={"directory": "auto"}
    ),
    "confluence-jsonrpc": dict(
        product="confluence", sim_args=["--confluence-api", "jsonrpc"], overrides={"directory": "auto"}
    ),
    "crowd": dict(
        product="jira",
        sim_args=[],
        overrides={"directory": "crowd", "crowd_app": "seatgate", "crowd_password": "seatgate"},
    ),
}


@pytest.mark.parametrize("name", list(DIRECTORIES))
async def test_directory_grants_and_revokes_under_faults(make_stack, name):
    spec = DIRECTORIES[name]
    stack = make_stack(
        product=spec["product"],
        sim_args=[*spec["sim_args"], "--fail-rate", "0.3", "--latency-ms", "20"],
        product_overrides={"inactivity": "3s", **spec["overrides"]},
        # Retries carry each call through the injected faults; the breaker
        # (tested on its own in tests/faults) must not open on a lucky run of them.
        worker_overrides={"directory_retries": 8, "directory_breaker_threshold": 100},
    )
    stack.start()
    users = ["alice", "bob", "carol", "dave", "erin"]
    path = "/rest/api/2/myself" if spec["product"] == "jira" else "/rest/api/user/current"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def call(user: str) -> int:
            async with client.get(stack.proxy_url + path, headers=basic(user)) as response:
                await response.read()
                return response.status

        assert await asyncio.gather(*(call(u) for u in users)) == [200] * 5, stack.logs()
    state = stack.sim_state()
    for user in users:
        reached = [r for r in state["requests"] if r["user"] == user and r["path"] == path]
        # Basic passwords are checked upstream before a seat is granted: a refusal for the
        # licence (401) is granted and replayed, so the answer the client got came licensed.
        assert reached and reached[-1]["licensed"], (user, reached)
        assert all(r["licensed"] or r["status"] == 401 for r in reached), (user, reached)
        # Before any revoke, every successful write for the user is an add ("rpc" is the
        # simulator's name for both JSON-RPC methods).
        added = [
            c
            for c in state["directory_calls"]
            if c["user"] == user and c["op"] in ("add", "crowd_add", "rpc") and str(c["status"]).startswith("2")
        ]
        assert len(added) == 1, (user, added)  # no grant lost, none duplicated
    assert await wait_until(lambda: not set(users) & set(stack.sim_state(requests=False)["members"]), 30), stack.logs()
