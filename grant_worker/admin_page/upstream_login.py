"""Check a username and password against the upstream: who is it, and is it an administrator?

Jira: ``GET /rest/api/2/myself`` names the user; ``GET /rest/api/2/applicationrole`` answers
200 only to an administrator. Confluence: ``GET /rest/api/user/current`` names the user
(anonymous when the password is wrong); membership of ``confluence-administrators`` (the
group Confluence creates for its system administrators) makes an administrator.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from seatgate.settings import ProductSettings

DEADLINE = 5.0
CONFLUENCE_ADMIN_GROUP = "confluence-administrators"


class UpstreamUnavailable(Exception):
    """The upstream did not answer (or answered 5xx): no verdict on the credentials."""


async def verify_admin(product: ProductSettings, username: str, password: str) -> str | None:
    """The upstream's name of the user when the credentials are an administrator's, else None."""
    base = str(product.upstream).rstrip("/")
    auth = aiohttp.BasicAuth(username, password)
    timeout = aiohttp.ClientTimeout(total=DEADLINE)
    # Upstream cookies are not kept: each check stands on the credentials alone.
    async with aiohttp.ClientSession(
        timeout=timeout, auth=auth, cookie_jar=aiohttp.DummyCookieJar(), headers={"Accept": "application/json"}
    ) as client:
        if product.kind == "jira":
            me = await _get(client, f"{base}/rest/api/2/myself")
            name = me.get("name") if isinstance(me, dict) else None
            if not name:
                return None
            return name if await _get(client, f"{base}/rest/api/2/applicationrole") is not None else None
        me = await _get(client, f"{base}/rest/api/user/current")
        name = me.get("username") if isinstance(me, dict) and me.get("type") == "known" else None
        if not name:
            return None
        groups = await _get(client, f"{base}/rest/api/user/memberof", params={"username": name, "limit": "1000"})
        results = groups.get("results", []) if isinstance(groups, dict) else []
        return name if any(g.get("name") == CONFLUENCE_ADMIN_GROUP for g in results if isinstance(g, dict)) else None


async def _get(client: aiohttp.ClientSession, url: str, params: dict[str, str] | None = None) -> Any:
    """The JSON body of a 200 answer; None for any refusal; raise when the upstream is down."""
    try:
        async with client.get(url, params=params, allow_redirects=False) as response:
            if response.status >= 500:
                raise UpstreamUnavailable(f"upstream answered {response.status}")
            if response.status != 200:
                return None
            try:
                return await response.json(content_type=None)
            except ValueError:
                return None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UpstreamUnavailable(type(exc).__name__) from None
