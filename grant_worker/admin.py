"""The worker's admin HTTP API (behind an admin token) and its operational endpoints."""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from grant_worker.grants import GrantHandler
from grant_worker.product import ProductRuntime
from grant_worker.status import collect
from seatgate.protocol import GrantRequest
from seatgate.redis_conn import RedisClient
from seatgate.schema import ProductKeys
from seatgate.settings import Settings

ADMIN_USER = web.AppKey("admin_user", str)
MAX_HOLD = 7 * 86400


def token_middleware(token: str | None, session_user: Callable[[web.Request], str | None] | None = None):
    """Every /api/ route needs ``Authorization: Bearer <admin token>``, or the admin page's
    session cookie (``session_user`` checks it, and the CSRF header of a state-changing request)."""

    @web.middleware
    async def check(request: web.Request, handler):
        if request.path.startswith("/api/"):
            user = session_user(request) if session_user is not None else None
            if user is not None:
                request["admin_user"] = user
                return await handler(request)
            if not token:
                return web.json_response({"error": "admin API disabled: set worker.admin_token"}, status=403)
            supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(supplied.encode(), token.encode()):
                return web.json_response({"error": "admin token required"}, status=401)
            request["admin_user"] = "api"
        return await handler(request)

    return check


def api_routes(
    redis: RedisClient, settings: Settings, products: list[ProductRuntime], handler: GrantHandler
) -> list[web.RouteDef]:
    by_name = {p.name: p for p in products}

    async def status(_: web.Request) -> web.Response:
        return web.json_response(await collect(redis, settings))

    async def grant(request: web.Request) -> web.Response:
        """License a user and keep them licensed for at least hold_for seconds (automation)."""
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": 'body must be JSON: {"user", "product", "hold_for"}'}, status=400)
        user, name, hold_for = body.get("user"), body.get("product"), body.get("hold_for", 0)
        if not isinstance(user, str) or not user:
            return web.json_response({"error": "user: required string"}, status=400)
        if name not in by_name:
            return web.json_response({"error": f"product: unknown {name!r}; known: {sorted(by_name)}"}, status=400)
        if not isinstance(hold_for, int | float) or not 0 <= hold_for <= MAX_HOLD:
            return web.json_response({"error": f"hold_for: seconds between 0 and {MAX_HOLD}"}, status=400)
        product = by_name[name]
        if hold_for:
            await redis.zadd(product.keys.holds, {user: time.time() + hold_for}, gt=True)
        result = await handler.handle(
            product,
            None,
            GrantRequest(user, uuid.uuid4().hex, time.time(), request.remote or "", source="api").to_fields(),
        )
        code = 200 if result.event == "granted" else 409
        return web.json_response(
            {
                "user": user,
                "product": name,
                "outcome": result.event,
                "detail": result.detail,
                "position": result.position,
                "hold_for": hold_for,
            },
            status=code,
        )

    async def audit(request: web.Request) -> web.Response:
        count = min(int(request.query.get("count", "100")), 1000)
        entries = []
        for name in [request.query["product"]] if "product" in request.query else list(by_name):
            if name not in by_name:
                return web.json_response({"error": f"unknown product {name!r}"}, status=400)
            for entry_id, fields in await redis.xrevrange(ProductKeys(name).audit, count=count):
                entries.append({"id": entry_id, "product": name, **fields})
        entries.sort(key=lambda e: e.get("ts", ""), reverse=True)
        return web.Response(text=json.dumps(entries[:count]), content_type="application/json")

    return [web.get("/api/v1/status", status), web.post("/api/v1/grants", grant), web.get("/api/v1/audit", audit)]
