"""Personal Access Tokens: ``/rest/pat/latest/tokens`` (Jira ≥ 8.14, Confluence ≥ 7.9).

The raw token is returned once, in ``rawToken`` of the creation response; afterwards it is
only usable as ``Authorization: Bearer <token>`` (see ``auth.resolve``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from seatgate_simulator.context import json_response, require_user, rest_error, state_of
from seatgate_simulator.faults import json_body
from seatgate_simulator.state import Token

MAX_DAYS = 365


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.token_id,
        "name": token.name,
        "createdAt": _iso(token.created),
        "expiringAt": _iso(token.expires),
    }


async def create_token(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    state = state_of(request)
    product = state.config.product
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        return rest_error(product, 400, "A token name is required.")
    days = body.get("expirationDuration")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS):
        return rest_error(product, 400, f"expirationDuration must be between 1 and {MAX_DAYS} days.")
    token, raw = state.create_token(user, body["name"].strip(), days)
    return json_response({**token_json(token), "rawToken": raw}, 201)


async def list_tokens(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    return json_response([token_json(t) for t in state_of(request).user_tokens(user)])


async def revoke_token(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    raw_id = request.match_info["token_id"]
    if not raw_id.isdigit() or not state_of(request).revoke_token(user, int(raw_id)):
        return rest_error(state_of(request).config.product, 404, "Token not found.")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/rest/pat/latest/tokens", create_token)
    app.router.add_get("/rest/pat/latest/tokens", list_tokens)
    app.router.add_delete("/rest/pat/latest/tokens/{token_id}", revoke_token)
