"""Crowd REST ``/rest/usermanagement/1`` (Crowd itself, or Jira acting as user server).

Authentication is the *application's* name and password over Basic auth, never a user's.
Status codes: add 201, already a member 409, remove 204, membership read 200/404.
For ``POST /user/group/direct?username=U {"name": G}`` the resource is the user, so an unknown
user is 404 and an unknown group (the body entity) 400; ``POST /group/user/direct`` is the
mirror image (unknown group 404, unknown user 400), as clients of real Crowd rely on.
Jira's embedded user server may not allow membership writes: the simulator does (documented).
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from seatgate_simulator.auth import decode_basic
from seatgate_simulator.context import Refused, int_param, json_response, state_of
from seatgate_simulator.faults import body_name, directory_call, query
from seatgate_simulator.state import AlreadyMember, NotMember, UnknownGroup, UnknownUser

PREFIX = "/rest/usermanagement/1"


def crowd_error(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"reason": reason, "message": message}, status, headers)


def require_application(request: web.Request) -> None:
    config = state_of(request).config
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    pair = decode_basic(credentials) if scheme.lower() == "basic" else None
    if pair is None or not (
        secrets.compare_digest(pair[0], config.crowd_app_name)
        and secrets.compare_digest(pair[1], config.crowd_app_password)
    ):
        raise Refused(
            crowd_error(
                401,
                "APPLICATION_ACCESS_DENIED",
                "Application failed to authenticate",
                {"WWW-Authenticate": 'Basic realm="Crowd REST Service"'},
            )
        )


def _not_found(exc: Exception, user: str | None, group: str | None, *, user_is_resource: bool) -> web.Response:
    """Unknown entity → 404 when it is the addressed resource, 400 when it is the body entity."""
    if isinstance(exc, UnknownUser):
        status = 404 if user_is_resource else 400
        return crowd_error(status, "USER_NOT_FOUND", f"User <{user}> does not exist")
    status = 400 if user_is_resource else 404
    return crowd_error(status, "GROUP_NOT_FOUND", f"Group <{group}> does not exist")


async def _add(
    request: web.Request, user: str | None, group: str | None, *, user_is_resource: bool
) -> web.StreamResponse:
    require_application(request)
    state = state_of(request)
    if not user or not group:
        return crowd_error(400, "ILLEGAL_ARGUMENT", "username and group name are required")
    try:
        state.add_member(user, group)
    except (UnknownUser, UnknownGroup) as exc:
        return _not_found(exc, user, group, user_is_resource=user_is_resource)
    except AlreadyMember:
        return crowd_error(409, "MEMBERSHIP_ALREADY_EXISTS", f"User <{user}> is already a member of <{group}>")
    return web.Response(
        status=201, headers={"Location": f"{PREFIX}/group/user/direct?groupname={group}&username={user}"}
    )


@directory_call("crowd_add", body_name(user_query="username"))
async def add_user_to_group(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    return await _add(request, user, group, user_is_resource=True)


@directory_call("crowd_add", body_name(group_query="groupname"))
async def add_group_member(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    return await _add(request, user, group, user_is_resource=False)


@directory_call("crowd_remove", query("username", "groupname"))
async def remove_membership(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    require_application(request)
    try:
        state_of(request).remove_member(user or "", group or "")
    except UnknownUser:
        return crowd_error(404, "USER_NOT_FOUND", f"User <{user}> does not exist")
    except UnknownGroup:
        return crowd_error(404, "GROUP_NOT_FOUND", f"Group <{group}> does not exist")
    except NotMember:
        return crowd_error(404, "MEMBERSHIP_NOT_FOUND", f"User <{user}> is not a member of <{group}>")
    return web.Response(status=204)


def _paged(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = int_param(request, "start-index", 0)
    size = int_param(request, "max-results", 1000, minimum=1)
    return items[start : start + size]


@directory_call("crowd_user_groups", query("username", "groupname"))
async def user_groups(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    """``GET /user/group/direct?username=U`` lists groups; with ``groupname`` it checks one."""
    require_application(request)
    state = state_of(request)
    if user not in state.users:
        return crowd_error(404, "USER_NOT_FOUND", f"User <{user}> does not exist")
    if group:
        if user in state.groups.get(group, ()):
            return json_response({"name": group})
        return crowd_error(404, "MEMBERSHIP_NOT_FOUND", f"User <{user}> is not a member of <{group}>")
    return json_response(
        {"expand": "group", "groups": _paged(request, [{"name": g} for g in state.groups_of(user or "")])}
    )


@directory_call("crowd_group_users", query("username", "groupname"))
async def group_users(request: web.Request, user: str | None, group: str | None) -> web.StreamResponse:
    """``GET /group/user/direct?groupname=G`` lists members; with ``username`` it checks one."""
    require_application(request)
    state = state_of(request)
    if group not in state.groups:
        return crowd_error(404, "GROUP_NOT_FOUND", f"Group <{group}> does not exist")
    if user:
        if user in state.groups[group or ""]:
            return json_response({"name": user})
        return crowd_error(404, "MEMBERSHIP_NOT_FOUND", f"User <{user}> is not a member of <{group}>")
    return json_response(
        {"expand": "user", "users": _paged(request, [{"name": n} for n in state.members(group or "")])}
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{PREFIX}/user/group/direct", add_user_to_group)
    r.add_get(f"{PREFIX}/user/group/direct", user_groups)
    r.add_delete(f"{PREFIX}/user/group/direct", remove_membership)
    r.add_post(f"{PREFIX}/group/user/direct", add_group_member)
    r.add_get(f"{PREFIX}/group/user/direct", group_users)
    r.add_delete(f"{PREFIX}/group/user/direct", remove_membership)
