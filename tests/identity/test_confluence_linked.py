"""Confluence without X-AUSERNAME, and linked products — end to end.

One proxy process serves two products, each on its own listen port in front of its own
simulator: Jira, and Confluence started with ``--no-ausername``. Confluence activity also
grants the Jira licence (``also_grant``), so that Jira issue macros in Confluence pages work.
The Confluence product keeps the default ``ausername_header = true``: the proxy notices
that the answers carry no X-AUSERNAME and resolves new sessions itself.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from tests.e2e.stack import Stack
from tests.helpers import Process, free_port, seatgate_cmd, wait_for_port
from tests.identity.helpers import client, cookie_of, fetch, login, metric, records, wait_until

pytestmark = pytest.mark.slow


@dataclass
class LinkedStack(Stack):
    """Jira (the Stack's own product) plus Confluence with its own simulator and port."""

    confluence_sim_port: int = field(default_factory=free_port)
    confluence_port: int = field(default_factory=free_port)

    @property
    def confluence_sim_url(self) -> str:
        return f"http://127.0.0.1:{self.confluence_sim_port}"

    @property
    def confluence_url(self) -> str:
        return f"http://127.0.0.1:{self.confluence_port}"

    def settings(self, proxy_port: int, metrics_port: int, admin_port: int) -> dict[str, Any]:
        settings = super().settings(proxy_port, metrics_port, admin_port)
        settings["products"].append(
            {
                "name": "confluence",
                "kind": "confluence",
                "upstream": self.confluence_sim_url,
                "license_group": "confluence-users",
                "directory": "confluence-rest",
                "admin_user": "admin",
                "admin_password": "admin",
                "inactivity": "3s",
                "allow_short_inactivity": True,
                "exclude_users": ["admin"],
                "listen": f"127.0.0.1:{self.confluence_port}",
                "also_grant": ["jira"],
            }
        )
        return settings

    def start_simulator(self) -> Process:
        jira = super().start_simulator()
        args = seatgate_cmd(
            "simulate", "--product", "confluence", "--port", str(self.confluence_sim_port), "--no-ausername"
        )
        proc = Process(args, self.tmp / "confluence-simulator.log")
        self.processes.append(proc)
        wait_for_port(self.confluence_sim_port, 20, proc.proc)
        return jira

    def confluence_state(self, since: int = 0) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.confluence_sim_url}/__sim/state?since={since}", timeout=10) as response:
            return json.load(response)

    def confluence_post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.confluence_sim_url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def confluence_members(self) -> set[str]:
        return set(self.confluence_state()["members"])


@pytest.fixture(scope="module")
def linked(tmp_path_factory, redis_server):
    redis_server.cli("FLUSHALL")
    stack = LinkedStack(
        tmp=tmp_path_factory.mktemp("linked"), redis_url=redis_server.url, product_overrides={"inactivity": "60s"}
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


async def test_confluence_without_ausername_works_end_to_end(linked):
    base = linked.confluence_url
    async with client() as browser:
        # The login is granted before forwarding and confirmed by X-Seraph-LoginReason: OK.
        response = await login(browser, base, "alice", path="/dologin.action")
        assert response.status == 302 and "X-AUSERNAME" not in response.headers, linked.logs()
        async with browser.get(f"{base}/pages/viewpage.action?pageId=1001") as page:
            assert page.status == 200
        logins = records(linked.confluence_state(), path="/dologin.action")
        assert [(r["user"], r["licensed"]) for r in logins] == [("alice", True)]

        # Its session is known: activity keeps alice licensed; idle, she loses the seat; her
        # next page is granted again before it is forwarded.
        assert await wait_until(lambda: "alice" not in linked.confluence_members(), 20), linked.logs()
        seq = linked.confluence_state()["request_seq"]
        async with browser.get(f"{base}/pages/viewpage.action?pageId=1002") as page:
            assert page.status == 200 and "no-access" not in await page.text()
        views = records(linked.confluence_state(seq), path="/pages/viewpage.action")
        assert [(r["user"], r["licensed"]) for r in views] == [("alice", True)]

    # A session the proxy never saw (made straight at the product) is resolved once through
    # /rest/api/user/current, even under concurrent requests, then attributed.
    linked.confluence_post("/__sim/members", {"add": ["bob"]})
    async with client() as direct:
        await login(direct, linked.confluence_sim_url, "bob", path="/dologin.action")
        cookie = {"Cookie": f"JSESSIONID={cookie_of(direct, 'JSESSIONID')}"}
    seq = linked.confluence_state()["request_seq"]
    async with client(cookies=False) as browser:

        async def view(page_id: int) -> int:
            async with browser.get(f"{base}/pages/viewpage.action?pageId={page_id}", headers=cookie) as page:
                return page.status

        assert await asyncio.gather(*(view(1000 + n) for n in range(8))) == [200] * 8
    lookups = records(linked.confluence_state(seq), path="/rest/api/user/current")
    assert [r["user"] for r in lookups] == ["bob"]
    assert metric(linked.metrics_ports[0], "seatgate_current_user_lookups_total", outcome="user") >= 1
    db = redis.Redis.from_url(linked.redis_url, decode_responses=True)
    try:
        assert db.zscore("sg:{confluence}:activity", "bob") is not None
    finally:
        db.close()


async def test_confluence_activity_also_grants_the_jira_licence(linked):
    async with client() as browser:
        response = await login(browser, linked.confluence_url, "carol", path="/dologin.action")
        assert response.status == 302
    # Confirmed by upstream, the login also licenses carol in Jira, without holding her.
    assert await wait_until(lambda: "carol" in linked.sim_state(requests=False)["members"], 10), linked.logs()
    assert "carol" in linked.confluence_members()
    # So the Jira issue macro, Confluence calling Jira over the app link as carol, works.
    macro = {
        "Authorization": 'OAuth oauth_consumer_key="confluence", oauth_token="", '
        'xoauth_requestor_id="carol", oauth_signature="not-checked"'
    }
    status, _, _ = await fetch("GET", f"{linked.proxy_url}/rest/api/2/issue/MAC-1", macro)
    assert status == 200
