"""Latency and failure injection for directory calls, and their bookkeeping.

Only directory endpoints (membership reads/writes, seat counts) are slowed down or broken:
those are what the grant worker depends on, while the hot path a benchmark measures
(an ordinary authenticated GET) must stay cheap.

A "timeout" fault sleeps ``timeout_s`` and *then performs the call*: a client that gave up
waiting does not know whether the change landed, which is the case a reconciler exists for.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from seatgate_simulator.context import RequestHandler, identity_of, rest_error, state_of

Target = tuple[str | None, str | None]  # (user, group) the call is about
TargetReader = Callable[[web.Request], Awaitable[Target]]
DirectoryHandler = Callable[[web.Request, str | None, str | None], Awaitable[web.StreamResponse]]


async def json_body(request: web.Request) -> object:
    """The parsed JSON body, or None when it is missing or not JSON (handlers answer 400)."""
    try:
        return json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def query(user_param: str | None, group_param: str | None) -> TargetReader:
    async def read(request: web.Request) -> Target:
        q = request.query
        return (q.get(user_param) if user_param else None, q.get(group_param) if group_param else None)

    return read


def path(user_part: str | None, group_part: str | None) -> TargetReader:
    async def read(request: web.Request) -> Target:
        m = request.match_info
        return (m.get(user_part) if user_part else None, m.get(group_part) if group_part else None)

    return read


def body_name(*, user_query: str | None = None, group_query: str | None = None) -> TargetReader:
    """``{"name": X}`` in the body, the other side in the query (Jira and Crowd adds)."""

    async def read(request: web.Request) -> Target:
        body = await json_body(request)
        name = body.get("name") if isinstance(body, dict) and isinstance(body.get("name"), str) else None
        if user_query:
            return request.query.get(user_query), name
        return name, request.query.get(group_query or "")

    return read


async def rpc_args(request: web.Request) -> Target:
    """JSON-RPC positional arguments ``["user", "group"]``."""
    body = await json_body(request)
    if isinstance(body, list) and len(body) >= 2 and all(isinstance(x, str) for x in body[:2]):
        return body[0], body[1]
    return (body[0] if isinstance(body, list) and body and isinstance(body[0], str) else None), None


def directory_call(op: str, target: TargetReader) -> Callable[[DirectoryHandler], RequestHandler]:
    """Wrap a directory handler: inject faults, then record ``{op, user, group, status}``."""

    def wrap(handler: DirectoryHandler) -> RequestHandler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            state = state_of(request)
            faults = state.faults
            user, group = await target(request)
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.timeout_rate and state.rng.random() < faults.timeout_rate:
                await asyncio.sleep(faults.timeout_s)  # bounded: timeout_s ≤ 3600 by validation
            if faults.fail_rate and state.rng.random() < faults.fail_rate:
                response: web.StreamResponse = rest_error(
                    state.config.product, 500, "Simulated directory failure (fault injection)."
                )
            else:
                try:
                    response = await handler(request, user, group)
                except Exception as exc:  # Refused and friends: record their status too
                    status = getattr(getattr(exc, "response", None), "status", 500)
                    state.record_directory_call(op, user, group, status, identity_of(request).user)
                    raise
            state.record_directory_call(op, user, group, response.status, identity_of(request).user)
            return response

        return wrapped

    return wrap
