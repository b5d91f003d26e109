"""Directory and licence endpoints of Jira and Confluence, with their documented status codes.

Jira 8-10: ``/rest/api/2/group/user`` (add 201 / already member 400 / unknown 404, remove 200 /
not a member 400), ``/rest/api/2/group/member`` (paged), ``/rest/api/2/applicationrole``,
``/rest/api/2/myself``, ``/rest/api/2/user``.
Confluence: ``/rest/api/user/{u}/group/{g}`` (9.x, 204 and idempotent; 404 when the simulator
plays a 7.x/8.x instance), JSON-RPC ``confluenceservice-v2`` (7.x/8.x and still present in 9.0),
``/rest/api/group/{g}/member``, ``/rest/license/1.0/license/*``, ``/rest/api/user/current``.

Group management needs an administrator (403 otherwise, 401 for anonymous). Adding a user to
the licence group is never refused for lack of seats: that is seatgate's job to prevent.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from seatgate_simulator.context import (
    Refused,
    RequestHandler,
    base_url,
    identity_of,
    int_param,
    json_response,
    require_admin,
    require_user,
    rest_error,
    state_of,
)
from seatgate_simulator.faults import body_name, directory_call, json_body, path, query, rpc_args
from seatgate_simulator.state import AlreadyMember, NotMember, SimState, UnknownGroup, UnknownUser, User
from seatgate_simulator.templating import AVATAR_URL

JIRA_MAX_RESULTS = 50
CONFLUENCE_MAX_LIMIT = 200
SOFTWARE_ROLE = "jira-software"
CORE_ROLE = "jira-core"


# -- representations ------------------------------------------------------------------------------


def jira_user(request: web.Request, user: User, groups: list[str] | None = None) -> dict[str, Any]:
    base = base_url(request)
    bean: dict[str, Any] = {
        "self": f"{base}/rest/api/2/user?username={quote(user.name)}",
        "key": user.key,
        "name": user.name,
        "emailAddress": user.email,
        "avatarUrls": {"48x48": base + AVATAR_URL},
        "displayName": user.display_name,
        "active": True,
        "deleted": False,
        "timeZone": "UTC",
        "locale": "en_UK",
        "expand": "groups,applicationRoles",
    }
    if groups is not None:
        bean["groups"] = {
            "size": len(groups),
            "items": [{"name": g, "self": f"{base}/rest/api/2/group?groupname={quote(g)}"} for g in groups],
        }
    return bean


def confluence_user(request: web.Request, user: User) -> dict[str, Any]:
    return {
        "type": "known",
        "username": user.name,
        "userKey": user.key,
        "displayName": user.display_name,
        "profilePicture": {"path": AVATAR_URL, "width": 48, "height": 48, "isDefault": True},
        "_links": {"base": base_url(request), "self": f"{base_url(request)}/rest/api/user?key={user.key}"},
        "_expandable": {"status": ""},
    }


def application_role(state: SimState, key: str) -> dict[str, Any]:
    if key == SOFTWARE_ROLE:
        used = state.seats_used
        return {
            "key": SOFTWARE_ROLE,
            "name": "Jira Software",
            "groups": list(state.role_groups),
            "defaultGroups": list(state.role_default_groups),
            "selectedByDefault": False,
            "defined": True,
            "numberOfSeats": state.seats,
            "remainingSeats": state.seats_remaining,
            "userCount": used,
            "userCountDescription": f"{used} user{'s' if used != 1 else ''}",
            "hasUnlimitedSeats": False,
            "platform": False,
        }
    # The platform role's numbers are not meaningful (as on real instances): read the product role.
    return {
        "key": CORE_ROLE,
        "name": "Jira Core",
        "groups": [],
        "defaultGroups": [],
        "selectedByDefault": False,
        "defined": False,
        "numberOfSeats": state.seats,
        "remainingSeats": state.seats,
        "userCount": 0,
        "userCountDescription": "0 users",
        "hasUnlimitedSeats": True,
        "platform": True,
    }


def _lookup(request: web.Request, name: str | None) -> User:
    state = state_of(request)
    user = state.users.get(name or "")
    if user is None:
        product = state.config.product
        message = (
            f"The user named '{name}' does not exist" if product == "jira" else f"No user found with username : {name}"
        )
        raise Refused(rest_error(product, 404, message))
    return user


# -- Jira ------------------------------------------------------------------------------------------


@directory_call("add", body_name(group_query="groupname"))
async def jira_add_to_group(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    require_admin(request)
    state = state_of(request)
    if not group or not user:
        return rest_error("jira", 400, "Group name and user name are required.")
    try:
        state.add_member(user, group)
    except UnknownUser:
        return rest_error("jira", 404, f"The user with the name '{user}' does not exist.")
    except UnknownGroup:
        return rest_error("jira", 404, f"Specified group '{group}' was not found.")
    except AlreadyMember:
        # Exact DC text is unconfirmed; clients must re-read membership rather than parse it.
        return rest_error("jira", 400, f"Cannot add user. '{user}' is already a member of '{group}'")
    base = base_url(request)
    bean = {
        "name": group,
        "self": f"{base}/rest/api/2/group?groupname={quote(group)}",
        "users": {"size": len(state.groups[group]), "items": [], "max-results": 50, "start-index": 0, "end-index": 0},
        "expand": "users",
    }
    return json_response(bean, 201)


@directory_call("remove", query("username", "groupname"))
async def jira_remove_from_group(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    caller = require_admin(request)
    state = state_of(request)
    if not group or not user:
        return rest_error("jira", 400, "Group name and user name are required.")
    if user == caller and group == state.config.admin_group:
        return rest_error("jira", 400, "You cannot remove yourself from the administrators group.")
    try:
        state.remove_member(user, group)
    except UnknownUser:
        return rest_error("jira", 404, f"The user with the name '{user}' does not exist.")
    except UnknownGroup:
        return rest_error("jira", 404, f"Specified group '{group}' was not found.")
    except NotMember:
        return rest_error("jira", 400, f"Cannot remove user. '{user}' is not a member of '{group}'")
    return web.Response(status=200)


@directory_call("members", query(None, "groupname"))
async def jira_group_members(request: web.Request, _user: str | None, group: str | None) -> web.StreamResponse:
    require_admin(request)
    state = state_of(request)
    if not group:
        return rest_error("jira", 400, "Group name is required.")
    if group not in state.groups:
        return rest_error("jira", 404, f"Specified group '{group}' was not found.")
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", JIRA_MAX_RESULTS, minimum=1, maximum=JIRA_MAX_RESULTS)
    names = state.members(group)
    page = names[start : start + size]
    is_last = start + size >= len(names)
    base = base_url(request)
    self_url = f"{base}/rest/api/2/group/member?groupname={quote(group)}&startAt={start}&maxResults={size}"
    body: dict[str, Any] = {
        "self": self_url,
        "maxResults": size,
        "startAt": start,
        "total": len(names),
        "isLast": is_last,
        "values": [jira_user(request, state.users[n]) for n in page],
    }
    if not is_last:
        body["nextPage"] = (
            f"{base}/rest/api/2/group/member?groupname={quote(group)}&startAt={start + size}&maxResults={size}"
        )
    return json_response(body)


@directory_call("application_roles", query(None, None))
async def jira_application_roles(request: web.Request, _u: str | None, _g: str | None) -> web.StreamResponse:
    require_admin(request)
    state = state_of(request)
    response = json_response([application_role(state, SOFTWARE_ROLE), application_role(state, CORE_ROLE)])
    response.headers["ETag"] = roles_version(state)
    return response


def roles_version(state: SimState) -> str:
    """The version hash of the application roles, sent as ETag and checked against If-Match."""
    text = json.dumps([state.role_groups, state.role_default_groups])
    return '"' + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16] + '"'


def _role_answer(state: SimState, key: str) -> web.Response:
    response = json_response(application_role(state, key))
    response.headers["ETag"] = roles_version(state)
    return response


@directory_call("application_role", query(None, None))
async def jira_application_role(request: web.Request, _u: str | None, _g: str | None) -> web.StreamResponse:
    require_admin(request)
    key = request.match_info["key"]
    if key not in (SOFTWARE_ROLE, CORE_ROLE):
        return rest_error("jira", 404, f"Application role '{key}' not found.")
    return _role_answer(state_of(request), key)


async def _role_target(request: web.Request) -> tuple[str | None, str | None]:
    return None, request.match_info.get("key")


@directory_call("update_role", _role_target)
async def jira_update_application_role(request: web.Request, _u: str | None, _g: str | None) -> web.StreamResponse:
    """PUT /rest/api/2/applicationrole/{key}: only groups and defaultGroups change (key and name
    changes are ignored, as documented); with If-Match, only while the version hash is the
    server's. The answers to a stale hash (412) and to unknown groups (400) are the
    simulator's reading: the documentation names the header, not the refusal."""
    require_admin(request)
    state = state_of(request)
    key = request.match_info["key"]
    if key not in (SOFTWARE_ROLE, CORE_ROLE):
        return rest_error("jira", 404, f"Application role '{key}' not found.")
    if key != SOFTWARE_ROLE:
        return rest_error("jira", 400, f"The simulator does not model changes to '{key}'.")
    wanted = request.headers.get("If-Match")
    if wanted is not None and wanted != roles_version(state):
        return rest_error("jira", 412, "The application roles have changed since they were read.")
    body = await json_body(request)
    groups = body.get("groups") if isinstance(body, dict) else None
    defaults = body.get("defaultGroups", []) if isinstance(body, dict) else None
    if not _string_list(groups) or not _string_list(defaults) or groups is None or defaults is None:
        return rest_error("jira", 400, "groups and defaultGroups must be lists of group names.")
    try:
        state.set_role_groups(groups, defaults)
    except UnknownGroup as exc:
        return rest_error("jira", 400, f"Group '{exc}' does not exist.")
    except ValueError as exc:
        return rest_error("jira", 400, str(exc).capitalize() + ".")
    return _role_answer(state, key)


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


async def _group_body(request: web.Request) -> tuple[str | None, str | None]:
    body = await json_body(request)
    name = body.get("name") if isinstance(body, dict) else None
    return None, name if isinstance(name, str) else None


@directory_call("create_group", _group_body)
async def jira_create_group(request: web.Request, _u: str | None, group: str | None) -> web.StreamResponse:
    """POST /rest/api/2/group {"name": G} → 201 with the group; an existing name → 400."""
    require_admin(request)
    state = state_of(request)
    if not group or not group.strip():
        return rest_error("jira", 400, "You must specify a valid group name.")
    try:
        state.create_group(group)
    except AlreadyMember:
        return rest_error("jira", 400, "A group or user with this name already exists.")
    bean = {"name": group, "self": f"{base_url(request)}/rest/api/2/group?groupname={quote(group)}"}
    return json_response(bean, 201)


async def jira_myself(request: web.Request) -> web.StreamResponse:
    # Deliberately not a directory call: this is the cheap hot path benchmarks measure.
    user = require_user(request)
    state = state_of(request)
    groups = state.groups_of(user) if "groups" in request.query.get("expand", "") else None
    return json_response(jira_user(request, state.users[user], groups))


@directory_call("get_user", query("username", None))
async def jira_get_user(request: web.Request, name: str | None, _g: str | None) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    if not name and request.query.get("key"):
        name = next((u.name for u in state.users.values() if u.key == request.query["key"]), None)
    user = _lookup(request, name)
    groups = state.groups_of(user.name) if "groups" in request.query.get("expand", "") else None
    return json_response(jira_user(request, user, groups))


# -- Confluence ------------------------------------------------------------------------------------


def rest_membership_only(handler: RequestHandler) -> RequestHandler:
    """Confluence before 9.x has no REST membership writes: the path does not exist there.
    Checked before fault injection, since a missing path never fails or lags."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if state_of(request).confluence_api != "rest":
            return web.Response(status=404, text="Not Found")
        return await handler(request)

    return wrapped


async def _confluence_membership(
    request: web.Request, user: str | None, group: str | None, present: bool
) -> web.StreamResponse:
    require_admin(request)
    state = state_of(request)
    _lookup(request, user)
    if group not in state.groups:
        return rest_error("confluence", 404, f"No group found with name : {group}")
    state.ensure_member(user or "", group or "", present)  # documented as idempotent
    return web.Response(status=204)


@rest_membership_only
@directory_call("add", path("username", "group"))
async def confluence_add_to_group(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    return await _confluence_membership(request, user, group, present=True)


@rest_membership_only
@directory_call("remove", path("username", "group"))
async def confluence_remove_from_group(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    return await _confluence_membership(request, user, group, present=False)


def _confluence_page(request: web.Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    start = int_param(request, "start", 0)
    limit = int_param(request, "limit", CONFLUENCE_MAX_LIMIT, minimum=1, maximum=CONFLUENCE_MAX_LIMIT)
    page = items[start : start + limit]
    links: dict[str, str] = {"base": base_url(request), "context": "", "self": str(request.url)}
    if start + limit < len(items):
        links["next"] = str(request.rel_url.update_query(start=start + limit, limit=limit))
    return {"results": page, "start": start, "limit": limit, "size": len(page), "_links": links}


@directory_call("members", path(None, "group"))
async def confluence_group_members(request: web.Request, _u: str | None, group: str | None) -> web.StreamResponse:
    require_admin(request)
    state = state_of(request)
    if group not in state.groups:
        return rest_error("confluence", 404, f"No group found with name : {group}")
    users = [confluence_user(request, state.users[n]) for n in state.members(group)]
    return json_response(_confluence_page(request, users))


@directory_call("user_groups", query("username", None))
async def confluence_member_of(request: web.Request, name: str | None, _g: str | None) -> web.StreamResponse:
    require_user(request)
    user = _lookup(request, name)
    groups = [
        {"type": "group", "name": g, "_links": {"self": f"{base_url(request)}/rest/api/group/{quote(g)}"}}
        for g in state_of(request).groups_of(user.name)
    ]
    return json_response(_confluence_page(request, groups))


@directory_call("get_user", query("username", None))
async def confluence_get_user(request: web.Request, name: str | None, _g: str | None) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    if not name and request.query.get("key"):
        name = next((u.name for u in state.users.values() if u.key == request.query["key"]), None)
    return json_response(confluence_user(request, _lookup(request, name)))


async def confluence_current_user(request: web.Request) -> web.StreamResponse:
    ident = identity_of(request)
    if ident.acting is None:
        # Anonymous behaviour is unconfirmed on real instances; modelled as 200 "anonymous".
        return json_response(
            {
                "type": "anonymous",
                "displayName": "Anonymous",
                "profilePicture": {"path": AVATAR_URL, "isDefault": True},
                "_links": {"base": base_url(request)},
            }
        )
    return json_response(confluence_user(request, state_of(request).users[ident.acting]))


def _license_count(op: str, value: str) -> RequestHandler:
    @directory_call(op, query(None, None))
    async def handler(request: web.Request, _u: str | None, _g: str | None) -> web.StreamResponse:
        require_admin(request)
        return json_response({"count": getattr(state_of(request), value)})

    return handler


confluence_remaining_seats = _license_count("remaining_seats", "seats_remaining")
# /maxUsers and /userCount are seen in admin scripts, not in the REST reference: a modelling assumption.
confluence_max_users = _license_count("max_users", "seats")
confluence_user_count = _license_count("user_count", "seats_used")


def _rpc_error(message: str, name: str = "RemoteException", code: int = 500) -> web.Response:
    return json_response({"error": {"code": code, "name": name, "message": message, "data": None}})


@directory_call("rpc", rpc_args)
async def confluence_json_rpc(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    """``POST /rpc/json-rpc/confluenceservice-v2/{method}`` with the SOAP arguments minus the token."""
    method = request.match_info["method"]
    if identity_of(request).acting is None:
        require_user(request)  # 401 for anonymous callers
    state = state_of(request)
    if not state.is_admin(identity_of(request).acting):
        return _rpc_error("You do not have permission to manage users.", "NotPermittedException")
    if method not in ("addUserToGroup", "removeUserFromGroup", "getUserGroups"):
        return _rpc_error(f"No such method: {method}", "JSONRPCError", -32601)
    if user not in state.users:
        return _rpc_error(f"No user with username '{user}' found.")
    if method == "getUserGroups":
        return json_response(state.groups_of(user or ""))
    if group not in state.groups:
        return _rpc_error(f"No group with name '{group}' found.")
    state.ensure_member(user or "", group or "", method == "addUserToGroup")
    return json_response(True)


def add_routes(app: web.Application, product: str) -> None:
    r = app.router
    if product == "jira":
        r.add_post("/rest/api/2/group/user", jira_add_to_group)
        r.add_delete("/rest/api/2/group/user", jira_remove_from_group)
        r.add_get("/rest/api/2/group/member", jira_group_members)
        r.add_get("/rest/api/2/applicationrole", jira_application_roles)
        r.add_get("/rest/api/2/applicationrole/{key}", jira_application_role)
        r.add_put("/rest/api/2/applicationrole/{key}", jira_update_application_role)
        r.add_post("/rest/api/2/group", jira_create_group)
        r.add_get("/rest/api/2/myself", jira_myself)
        r.add_get("/rest/api/2/user", jira_get_user)
        return
    r.add_put("/rest/api/user/{username}/group/{group}", confluence_add_to_group)
    r.add_delete("/rest/api/user/{username}/group/{group}", confluence_remove_from_group)
    r.add_get("/rest/api/group/{group}/member", confluence_group_members)
    r.add_get("/rest/api/user/current", confluence_current_user)
    r.add_get("/rest/api/user/memberof", confluence_member_of)
    r.add_get("/rest/api/user", confluence_get_user)
    r.add_get("/rest/license/1.0/license/remainingSeats", confluence_remaining_seats)
    r.add_get("/rest/license/1.0/license/maxUsers", confluence_max_users)
    r.add_get("/rest/license/1.0/license/userCount", confluence_user_count)
    r.add_post("/rpc/json-rpc/confluenceservice-v2/{method}", confluence_json_rpc)
