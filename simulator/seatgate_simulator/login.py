"""Login and logout endpoints: Jira's form, gadget and REST logins, Confluence's ``dologin.action``.

All of them call :func:`auth.password_login`, so the licence check and the remember-me
handling are the same whichever door a user comes through.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from seatgate_simulator import auth
from seatgate_simulator.context import (
    AUTHORISATION_FAILED,
    OK,
    base_url,
    dashboard_url,
    identity_of,
    json_response,
    login_url,
    redirect,
    require_user,
    rest_error,
    state_of,
)
from seatgate_simulator.pages import LOGIN_MESSAGES, login_page, safe_destination

TRUE_VALUES = ("true", "on", "1", "yes")


async def _form_credentials(request: web.Request) -> tuple[str, str, bool, str | None]:
    form = await request.post()
    return (
        str(form.get("os_username", "")),
        str(form.get("os_password", "")),
        str(form.get("os_cookie", "")).lower() in TRUE_VALUES,
        str(form.get("os_destination", "")) or None,
    )


async def form_login(request: web.Request) -> web.StreamResponse:
    """``POST /login.jsp`` (Jira) and ``POST /dologin.action`` (Confluence)."""
    state = state_of(request)
    username, password, remember, destination = await _form_credentials(request)
    reason = auth.password_login(state, identity_of(request), username, password, remember=remember, request=request)
    if reason == OK:
        return redirect(safe_destination(destination) or dashboard_url(state.config.product))
    return login_page(
        state.config.product,
        message=LOGIN_MESSAGES[reason],
        destination=safe_destination(destination),
        username=username,
    )


async def gadget_login(request: web.Request) -> web.StreamResponse:
    """``POST /rest/gadget/1.0/login``: Seraph already ran; the resource always answers 200."""
    username, password, remember, _ = await _form_credentials(request)
    reason = auth.password_login(
        state_of(request), identity_of(request), username, password, remember=remember, request=request
    )
    return json_response(
        {
            "loginSucceeded": reason == OK,
            "loginError": reason != OK,
            "captchaFailure": False,
            "communicationError": False,
            "loginFailedByPermissions": reason == AUTHORISATION_FAILED,
            "isPublicMode": False,
            "isElevatedSecurityCheckShown": False,
            "allowCookies": True,
            "externalUserManagement": False,
        }
    )


def _login_info(request: web.Request, user: str) -> dict[str, Any]:
    state = state_of(request)
    return {
        "failedLoginCount": state.failed_logins.get(user, 0),
        "loginCount": state.login_counts.get(user, 0),
        "previousLoginTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    }


async def rest_session_login(request: web.Request) -> web.StreamResponse:
    """``POST /rest/auth/1/session`` with ``{"username", "password"}``."""
    state = state_of(request)
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return rest_error("jira", 400, 'Invalid JSON body: expected {"username", "password"}.')
    ident = identity_of(request)
    username, password = str(body.get("username", "")), str(body.get("password", ""))
    reason = auth.password_login(state, ident, username, password, remember=False, request=request)
    if reason != OK or ident.session is None:
        return rest_error("jira", 401, "Login failed")
    return json_response(
        {
            "session": {"name": auth.SESSION_COOKIE, "value": ident.session.sid},
            "loginInfo": _login_info(request, username),
        }
    )


async def rest_session(request: web.Request) -> web.StreamResponse:
    """``GET /rest/auth/1/session``: the caller's session, 401 when anonymous."""
    user = require_user(request)
    return json_response(
        {
            "self": f"{base_url(request)}/rest/api/latest/user?username={user}",
            "name": user,
            "loginInfo": _login_info(request, user),
        }
    )


async def rest_session_logout(request: web.Request) -> web.StreamResponse:
    ident = identity_of(request)
    if ident.session is None:
        return rest_error("jira", 401, "You are not authenticated.")
    auth.logout(state_of(request), ident, request)
    return web.Response(status=204)


async def page_logout(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    auth.logout(state, identity_of(request), request)
    return redirect(login_url(state.config.product) + "?logout=true")


def add_routes(app: web.Application, product: str) -> None:
    r = app.router
    if product == "jira":
        r.add_post("/login.jsp", form_login)
        r.add_post("/rest/gadget/1.0/login", gadget_login)
        r.add_post("/rest/auth/1/session", rest_session_login)
        r.add_get("/rest/auth/1/session", rest_session)
        r.add_delete("/rest/auth/1/session", rest_session_logout)
        r.add_get("/secure/Logout!default.jspa", page_logout)
        r.add_post("/secure/Logout!default.jspa", page_logout)
    else:
        r.add_post("/dologin.action", form_login)
        r.add_get("/logout.action", page_logout)
        r.add_post("/logout.action", page_logout)
