"""What the identity tests share: HTTP clients, waits, simulator and metric reads, secrets."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import aiohttp

from tests.helpers import wait_until  # noqa: F401 - re-exported for the identity tests

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def client(cookies: bool = True) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
    return aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=20))


async def login(
    session: aiohttp.ClientSession,
    base: str,
    user: str,
    password: str | None = None,
    path: str = "/login.jsp",
    headers: dict[str, str] | None = None,
) -> aiohttp.ClientResponse:
    data = {"os_username": user, "os_password": user if password is None else password, "os_cookie": "true"}
    async with session.post(base + path, data=data, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response


def basic(user: str, password: str | None = None) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, user if password is None else password)}


def cookie_of(session: aiohttp.ClientSession, name: str) -> str:
    return {c.key: c.value for c in session.cookie_jar}[name]


def records(state: dict, *, user: str | None = None, path: str | None = None) -> list[dict]:
    return [r for r in state["requests"] if (user is None or r["user"] == user) and (path is None or r["path"] == path)]


def metric(port: int, name: str, **labels: str) -> float:
    """Sum of a Prometheus metric's samples whose labels include ``labels``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def redis_dump(url: str) -> bytes:
    """Every key and value in Redis as one blob to search."""
    import redis

    db = redis.Redis.from_url(url)
    readers = {
        b"string": db.get,
        b"hash": db.hgetall,
        b"set": db.smembers,
        b"list": lambda k: db.lrange(k, 0, -1),
        b"zset": lambda k: db.zrange(k, 0, -1, withscores=True),
        b"stream": db.xrange,
    }
    parts = []
    try:
        for key in db.scan_iter(count=1000):
            reader = readers.get(db.type(key))
            parts.append(key + b" = " + repr(reader(key) if reader else None).encode())
    finally:
        db.close()
    return b"\n".join(parts)


async def fetch(method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> tuple[int, Any, str]:
    """One request from a fresh client without cookies: (status, headers, text)."""
    async with (
        client(cookies=False) as session,
        session.request(method, url, headers=headers, allow_redirects=False, **kwargs) as response,
    ):
        return response.status, response.headers, await response.text()
