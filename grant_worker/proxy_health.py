"""The proxy's own view of its health, for ``seatgate status`` and ``seatgate doctor``.

Read from the proxy's ``/readyz`` (on ``proxy.metrics_listen`` of the same settings file)
rather than from Redis: the case to show is precisely a proxy that cannot reach Redis, and
then nothing it might publish into Redis would arrive. A wildcard listen address is asked
on 127.0.0.1 (the tools run next to the proxy).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from seatgate.settings import Settings

DEADLINE = 3.0
CONSEQUENCE = {
    "open": "requests are forwarded without a seat check",
    "closed": "requests that need a seat are answered 503",
}


async def probe(settings: Settings) -> dict[str, Any] | None:
    """None without a metrics listener; else what the proxy says about itself."""
    listen = settings.proxy.metrics_listen
    if not listen:
        return None
    host, _, port = listen.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]", "*"):
        host = "127.0.0.1"
    mode = settings.proxy.failure_mode
    found: dict[str, Any] = {"address": listen, "failure_mode": mode, "answering": False, "ready": False}
    try:
        timeout = aiohttp.ClientTimeout(total=DEADLINE)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"http://{host}:{port}/readyz") as reply,
        ):
            body = await reply.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        found["state"] = f"not answering ({type(exc).__name__})"
        return found
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    found.update(answering=True, ready=bool(body.get("ready")), redis=checks.get("redis"), checks=checks)
    if found["ready"]:
        found["state"] = "ready"
    elif checks.get("redis") is False:
        found["state"] = f"failing {mode}: it cannot reach Redis, {CONSEQUENCE[mode]}"
    else:
        failed = sorted(name for name, ok in checks.items() if not ok)
        found["state"] = f"not ready ({', '.join(failed) or 'no reason given'})"
    return found


def line(found: dict[str, Any]) -> str:
    return f"proxy at {found['address']}: {found['state']}"
