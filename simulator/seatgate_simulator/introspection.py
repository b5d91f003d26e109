"""Test-only introspection API under ``/__sim/`` (never recorded, never authenticated).

* ``GET /__sim/state[?requests=0|N][&since=SEQ]`` — licence group, members, high-water mark,
  application role groups, seats, the request log (all, none, the last N, or those after sequence number SEQ) and the
  directory-call log;
* ``POST /__sim/reset`` — back to the initial state (members, sessions, tokens, logs, faults,
  toggles);
* ``POST /__sim/faults`` ``{fail_rate, latency_ms, timeout_rate, timeout_s}`` (partial);
* ``POST /__sim/members`` ``{"add": [...], "remove": [...]}`` — licence group, by hand;
* ``POST /__sim/config`` ``{ausername, name_refused, confluence_api, seats, poll_interval}`` (partial).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from aiohttp import web

from seatgate_simulator.context import json_response, state_of
from seatgate_simulator.faults import json_body
from seatgate_simulator.state import SimState


def _bad(message: str) -> web.Response:
    return json_response({"error": message}, 400)


def snapshot(state: SimState, requests: int | None, since: int) -> dict[str, Any]:
    """The JSON of ``/__sim/state``; ``requests`` None = all, 0 = omitted."""
    cfg = state.config
    body: dict[str, Any] = {
        "product": cfg.product,
        "license_group": state.license_group,
        "admin_group": cfg.admin_group,
        "members": state.members(state.license_group),
        "max_members": state.max_members,
        "seats": {
            "total": state.seats,
            "used": state.seats_used,
            "remaining": state.seats_remaining,
            "over_licence": state.over_licence,
        },
        "groups": {name: len(members) for name, members in sorted(state.groups.items())},
        # Application access: the groups whose members may log in (Jira's application role).
        "application_role": {"groups": list(state.role_groups), "defaultGroups": list(state.role_default_groups)},
        "sessions": len(state.sessions),
        "tokens": len(state.tokens),
        "faults": dataclasses.asdict(state.faults),
        "config": {
            "ausername": state.ausername,
            "name_refused": state.name_refused,
            "confluence_api": state.confluence_api,
            "poll_interval": state.poll_interval,
        },
        "request_seq": state.request_seq,
        "directory_calls": list(state.directory_calls),
    }
    if requests != 0:
        # The deque is ordered by seq, so skip from the left without copying it first.
        log = itertools.dropwhile(lambda r: r["seq"] <= since, state.requests) if since else state.requests
        selected = list(log)
        body["requests"] = selected[-requests:] if requests else selected
    return body


async def get_state(request: web.Request) -> web.StreamResponse:
    raw_requests, raw_since = request.query.get("requests", ""), request.query.get("since", "0")
    if (raw_requests and not raw_requests.isdigit()) or not raw_since.isdigit():
        return _bad("requests and since must be non-negative integers")
    requests = int(raw_requests) if raw_requests else None
    return json_response(snapshot(state_of(request), requests, int(raw_since)))


async def reset(request: web.Request) -> web.StreamResponse:
    state_of(request).reset()
    return json_response({"reset": True})


async def set_faults(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    state = state_of(request)
    try:
        state.faults.update(body)
    except ValueError as exc:
        return _bad(str(exc))
    return json_response(dataclasses.asdict(state.faults))


async def set_members(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) - {"add", "remove"}:
        return _bad('expected {"add": [...], "remove": [...]}')
    state = state_of(request)
    add, remove = body.get("add", []), body.get("remove", [])
    names = [*add, *remove] if isinstance(add, list) and isinstance(remove, list) else None
    if names is None or not all(isinstance(n, str) for n in names):
        return _bad("add and remove must be lists of usernames")
    unknown = sorted({n for n in names if n not in state.users})
    if unknown:
        return _bad(f"unknown user(s): {', '.join(unknown)}")
    for name in add:
        state.ensure_member(name, state.license_group, True)
    for name in remove:
        state.ensure_member(name, state.license_group, False)
    return json_response({"members": state.members(state.license_group), "max_members": state.max_members})


async def set_config(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    state = state_of(request)
    checks = {
        "ausername": lambda v: isinstance(v, bool),
        "name_refused": lambda v: isinstance(v, bool),
        "confluence_api": lambda v: v in ("rest", "jsonrpc"),
        "seats": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "poll_interval": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0,
    }
    for key, value in body.items():
        if key not in checks:
            return _bad(f"unknown config field: {key}")
        if not checks[key](value):
            return _bad(f"bad value for {key}: {value!r}")
    for key, value in body.items():
        setattr(state, key, value)
    return json_response(
        {
            "ausername": state.ausername,
            "name_refused": state.name_refused,
            "confluence_api": state.confluence_api,
            "seats": state.seats,
            "poll_interval": state.poll_interval,
        }
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/__sim/state", get_state)
    r.add_post("/__sim/reset", reset)
    r.add_post("/__sim/faults", set_faults)
    r.add_post("/__sim/members", set_members)
    r.add_post("/__sim/config", set_config)
