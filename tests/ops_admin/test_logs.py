"""Logs: one request id follows a grant from proxy to worker to directory; no secret anywhere.

Secrets are made distinctive (the simulator's real passwords equal the usernames, which
appear legitimately everywhere): wrong passwords with a random tail, the cookie values
and the personal access token the simulator issues, the admin token and the settings secret.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.e2e.test_core_loop import login, session
from tests.ops_admin.ops import fetch

pytestmark = pytest.mark.slow

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass  # a traceback or a non-JSON line from a library
    return lines


async def redis_dump(url: str) -> bytes:
    """Every key and every value in Redis, as one blob to search."""
    client = aioredis.from_url(url)
    parts: list[bytes] = []
    try:
        async for key in client.scan_iter(count=500):
            kind = (await client.type(key)).decode()
            if kind == "string":
                value: Any = await client.get(key)
            elif kind == "hash":
                value = await client.hgetall(key)
            elif kind == "set":
                value = await client.smembers(key)
            elif kind == "zset":
                value = await client.zrange(key, 0, -1, withscores=True)
            elif kind == "list":
                value = await client.lrange(key, 0, -1)
            elif kind == "stream":
                value = await client.xrange(key)
            else:
                value = kind
            parts.append(key + b" = " + repr(value).encode())
    finally:
        await client.aclose()
    return b"\n".join(parts)


async def test_request_id_follows_a_grant_and_no_secret_leaks(make_stack):
    stack = make_stack().start()
    wrong_form_password = "form-" + secrets.token_hex(8)
    wrong_basic_password = "basic-" + secrets.token_hex(8)
    async with session() as client:
        response = await login(client, stack.proxy_url, "alice")
        assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
        cookies = {c.key: c.value for c in client.cookie_jar}
        async with client.post(
            f"{stack.proxy_url}/rest/pat/latest/tokens", json={"name": "ci", "expirationDuration": 30}
        ) as reply:
            assert reply.status == 201, await reply.text()
            token = (await reply.json())["rawToken"]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as fresh:
        async with fresh.get(
            f"{stack.proxy_url}/rest/api/2/myself", headers={"Authorization": f"Bearer {token}"}
        ) as reply:
            assert reply.status == 200 and reply.headers["X-AUSERNAME"] == "alice"
        form = {"os_username": "bob", "os_password": wrong_form_password, "os_cookie": "true"}
        async with fresh.post(f"{stack.proxy_url}/login.jsp", data=form, allow_redirects=False) as reply:
            assert reply.headers.get("X-Seraph-LoginReason") == "AUTHENTICATED_FAILED"
        basic = aiohttp.encode_basic_auth("carol", wrong_basic_password)
        async with fresh.get(f"{stack.proxy_url}/rest/api/2/myself", headers={"Authorization": basic}) as reply:
            assert reply.status == 401
    assert stack.admin("POST", "/api/v1/grants", {"user": "erin", "product": "jira"})[0] == 200

    # -- one request id through the logs -------------------------------------------------
    proxy_log, worker_log = (stack.proxies[0].output(), stack.workers[0].output())
    held = [e for e in json_lines(proxy_log) if e.get("event") == "grant_held" and e.get("user") == "alice"]
    assert held and held[0]["outcome"] == "granted", proxy_log[-3000:]
    request_id = held[0]["request_id"]
    assert len(request_id) >= 16
    worker_lines = [e for e in json_lines(worker_log) if e.get("request_id") == request_id]
    events = {e["event"] for e in worker_lines}
    assert "grant_handled" in events, worker_log[-3000:]
    assert "directory_membership_changed" in events, events  # logged by the directory client
    directory_line = next(e for e in worker_lines if e["event"] == "directory_membership_changed")
    assert directory_line["user"] == "alice" and directory_line["op"] == "add"

    # -- no secret in logs, Redis or metrics ---------------------------------------------
    leaks = {
        "form password": wrong_form_password,
        "basic password": wrong_basic_password,
        "basic header": basic.split()[1],
        "personal access token": token,
        "admin token": stack.admin_token,
        "settings secret": stack.secret,
        **{f"cookie {name}": value for name, value in cookies.items()},
    }
    assert {"JSESSIONID", "seraph.rememberme.cookie"} <= set(cookies), cookies
    # Let the write-behind and any rollback land before looking at Redis.
    await asyncio.sleep(1.0)
    places = {
        "proxy log": stack.proxies[0].output().encode(),
        "worker log": stack.workers[0].output().encode(),
        "redis": await redis_dump(stack.redis_url),
        "proxy metrics": fetch(f"http://127.0.0.1:{stack.metrics_ports[0]}/metrics")[1],
        "worker metrics": fetch(f"{stack.admin_url}/metrics")[1],
        "status API": json.dumps(stack.admin("GET", "/api/v1/status")[1]).encode(),
        "audit API": json.dumps(stack.admin("GET", "/api/v1/audit")[1]).encode(),
    }
    assert b"alice" in places["redis"] and b"alice" in places["proxy log"]  # the scan sees real content
    found = [
        f"{what} in {where}"
        for where, blob in places.items()
        for what, value in leaks.items()
        if value.encode() in blob
    ]
    assert not found, found
