"""``seatgate status``: seats used / effective cap, the queue and each licensed user's idle time.

The same document is served by the worker's admin API at ``GET /api/v1/status``. For a
product in shadow mode every figure is the would-be state (``"mode": "shadow"``): who
would hold a seat, who would wait, and the most seats held at once since the shadow run
began. ``what_if`` gives, in both modes, the peak the live traffic would have needed
with 15, 30 and 60 minutes of inactivity (see grant_worker.whatif).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from grant_worker import whatif
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
        keys = ProductKeys(product.name, shadow=product.mode == "shadow")
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.licensed)
        pipe.hgetall(keys.granting)
        pipe.hgetall(keys.revoking)
        pipe.get(keys.cap)
        pipe.zrange(keys.queue, 0, -1, withscores=True)
        pipe.zrange(keys.holds, 0, -1, withscores=True)
        pipe.hgetall(keys.seat_info)
        pipe.xrevrange(keys.audit, count=SOURCE_LOOKBACK)
        pipe.hgetall(keys.peak)
        pipe.hgetall(keys.whatif)
        licensed, granting, revoking, cap, queue, holds, seat_info, recent, peak, whatif_doc = await pipe.execute()
        sources = _grant_sources(recent, keys)
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
                "mode": product.mode,
                "license_group": product.license_group,
                "seats_used": len(licensed) + len(granting) + len(revoking),
                "effective_cap": int(cap) if cap is not None else None,
                "upstream_licence": {k: int(v) for k, v in seat_info.items()} if seat_info else None,
                "inactivity_seconds": product.inactivity,
                "granting": sorted(granting),
                "revoking": sorted(revoking),
                "queue": [{"user": u, "waiting_seconds": round(now - s, 1)} for u, s in queue],
                "licensed": users,
                # "users": the seat holders under one name in both modes (would-be ones in shadow)
                "users": users,
                "peak_seats": int(peak["peak"]) if "peak" in peak else 0,
                "peak_at": float(peak["peak_at"]) if "peak_at" in peak else None,
                "peak_since": float(peak["since"]) if "since" in peak else None,
                "what_if": whatif.read(whatif_doc),
            }
        )
    return {"generated_at": now, "products": products}


def _grant_sources(entries: list[tuple[str, dict[str, str]]], keys: ProductKeys) -> dict[str, str]:
    """User → how their latest grant came (login, session, pat, api...), from audit entries newest first."""
    sources: dict[str, str] = {}
    granted = "would_grant:granted" if keys.shadow else "grant:granted"
    for _id, fields in entries:
        if fields.get("action") == granted and fields.get("user") not in sources:
            sources[fields["user"]] = fields.get("source", "")
    return sources


def render(doc: dict[str, Any]) -> str:
    lines = []
    for p in doc["products"]:
        cap = "no cap" if p["effective_cap"] is None else str(p["effective_cap"])
        shadow = p["mode"] == "shadow"
        label = "SHADOW (observing only: would-be seats, no licence changed) " if shadow else ""
        would = "would be " if shadow else ""
        lines.append(
            f"{label}{p['product']} ({p['kind']}, group {p['license_group']}): "
            f"{p['seats_used']} / {cap} seats {would}used, {len(p['queue'])} {would}waiting, "
            f"peak {p['peak_seats']}{_when(p['peak_at'])}"
        )
        for u in p["licensed"]:
            held = " (held)" if u["held_until"] else ""
            lines.append(f"  {u['user']:<24} idle {_fmt(u['idle_seconds'])}{held}")
        for q in p["queue"]:
            lines.append(f"  {would}waiting: {q['user']:<15} for {_fmt(q['waiting_seconds'])}")
        what_if = ", ".join(
            f"{w['inactivity_minutes']}m: {w['peak_seats']} (now {w['seats_now']})" for w in p["what_if"]["periods"]
        )
        lines.append(f"  what-if peak seats by inactivity: {what_if}")
    return "\n".join(lines)


def _when(ts: float | None) -> str:
    return time.strftime(" at %Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts else ""


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
