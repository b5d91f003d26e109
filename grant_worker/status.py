"""``seatgate status``: seats used / effective cap, the queue and each licensed user's idle time.

The same document is served by the worker's admin API at ``GET /api/v1/status``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from seatgate.redis_conn import RedisClient
from seatgate.schema import ProductKeys
from seatgate.settings import Settings

# How far back the audit stream is read for the source of each licensed user's grant; a
# user granted longer ago than that shows no source.
SOURCE_LOOKBACK = 2000


async def collect(redis: RedisClient, settings: Settings, now: float | None = None) -> dict[str, Any]:
    now = now or time.time()
    products = []
    for product in settings.products:
        keys = ProductKeys(product.name)
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.licensed)
        pipe.hgetall(keys.granting)
        pipe.hgetall(keys.revoking)
        pipe.get(keys.cap)
        pipe.zrange(keys.queue, 0, -1, withscores=True)
        pipe.zrange(keys.holds, 0, -1, withscores=True)
        pipe.hgetall(keys.seat_info)
        pipe.xrevrange(keys.audit, count=SOURCE_LOOKBACK)
        licensed, granting, revoking, cap, queue, holds, seat_info, recent = await pipe.execute()
        sources = _grant_sources(recent)
        last = await redis.zmscore(keys.activity, list(licensed)) if licensed else []
        hold_until = dict(holds)
        users = []
        for (user, granted_at), last_seen in zip(licensed.items(), last, strict=True):
            seen = last_seen if last_seen is not None else float(granted_at)
            users.append(
                {
                    "user": user,
                    "idle_seconds": round(max(0.0, now - seen), 1),
                    "licensed_since": float(granted_at),
                    "held_until": hold_until.get(user) if hold_until.get(user, 0) > now else None,
                    "source": sources.get(user),
                }
            )
        users.sort(key=lambda u: u["idle_seconds"])
        products.append(
            {
                "product": product.name,
                "kind": product.kind,
                "license_group": product.license_group,
                "seats_used": len(licensed) + len(granting) + len(revoking),
                "effective_cap": int(cap) if cap is not None else None,
                "upstream_licence": {k: int(v) for k, v in seat_info.items()} if seat_info else None,
                "inactivity_seconds": product.inactivity,
                "granting": sorted(granting),
                "revoking": sorted(revoking),
                "queue": [{"user": u, "waiting_seconds": round(now - s, 1)} for u, s in queue],
                "licensed": users,
            }
        )
    return {"generated_at": now, "products": products}


def _grant_sources(entries: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    """User → how their latest grant came (login, session, pat, api...), from audit entries newest first."""
    sources: dict[str, str] = {}
    for _id, fields in entries:
        if fields.get("action") == "grant:granted" and fields.get("user") not in sources:
            sources[fields["user"]] = fields.get("source", "")
    return sources


def render(doc: dict[str, Any]) -> str:
    lines = []
    for p in doc["products"]:
        cap = "no cap" if p["effective_cap"] is None else str(p["effective_cap"])
        lines.append(
            f"{p['product']} ({p['kind']}, group {p['license_group']}): "
            f"{p['seats_used']} / {cap} seats used, {len(p['queue'])} waiting"
        )
        for u in p["licensed"]:
            held = " (held)" if u["held_until"] else ""
            lines.append(f"  {u['user']:<24} idle {_fmt(u['idle_seconds'])}{held}")
        for q in p["queue"]:
            lines.append(f"  waiting: {q['user']:<15} for {_fmt(q['waiting_seconds'])}")
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (TOML)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def main(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from seatgate import redis_conn
    from seatgate.settings import ConfigError, load_settings

    settings = load_settings(args.config)

    async def run() -> dict[str, Any]:
        redis = redis_conn.connect(settings.redis_url)
        try:
            return await asyncio.wait_for(collect(redis, settings), 10)
        finally:
            await redis.aclose()

    try:
        doc = asyncio.run(run())
    except (RedisError, OSError, TimeoutError) as exc:
        raise ConfigError("redis_url", f"Redis is not reachable ({type(exc).__name__})") from None
    print(json.dumps(doc, indent=2) if args.json else render(doc))
    return 0
