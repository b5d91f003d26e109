"""Seraph-like authentication: who a request is, and how a login changes that.

The order follows Seraph's filter: a live session wins; then credentials carried by the
request (Basic, Bearer PAT, OAuth app link); then the remember-me cookie, which silently
re-logs the user in. Every route that establishes a user (form, REST, gadget, SAML,
remember-me) goes through :func:`login` so the licence check is the same everywhere: a user
outside the licence group is *authenticated* but not *authorised* and stays anonymous.

Not modelled: OAuth 1.0a signatures are not verified (the consumer is trusted and only
``xoauth_requestor_id`` matters), CAPTCHA after failed logins, session expiry, WebSudo.
"""

from __future__ import annotations

import base64
import binascii
import re

from aiohttp import web

from seatgate_simulator.context import (
    AUTHENTICATED_FAILED,
    AUTHORISATION_FAILED,
    OK,
    Identity,
    is_rest,
    rest_error,
)
from seatgate_simulator.state import SimState

SESSION_COOKIE = "JSESSIONID"
SESSION_MINTING = ("basic", "bearer")  # per-request credentials after which the product keeps a session
REMEMBER_ME_COOKIES = {"jira": "seraph.rememberme.cookie", "confluence": "seraph.confluence"}
REMEMBER_ME_MAX_AGE = 14 * 24 * 3600  # Seraph's default: two weeks
CROWD_PREFIX = "/rest/usermanagement/1/"
_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def remember_me_cookie(state: SimState) -> str:
    return REMEMBER_ME_COOKIES[state.config.product]


def decode_basic(credentials: str) -> tuple[str, str] | None:
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, sep, password = text.partition(":")
    return (name, password) if sep else None


def _unauthorised(state: SimState, message: str, challenge: str) -> web.Response:
    return rest_error(state.config.product, 401, message, headers={"WWW-Authenticate": challenge})


def resolve(request: web.Request, state: SimState) -> tuple[Identity, web.Response | None]:
    """The request's identity and, when credentials must be refused outright, the answer."""
    if request.path.startswith(CROWD_PREFIX):
        # Crowd REST authenticates the *application*, not a user: the handler checks that.
        return Identity(via="application"), None

    sid = request.cookies.get(SESSION_COOKIE)
    session = state.sessions.get(sid) if sid else None
    if session is not None:
        return Identity(session.user, state.is_licensed(session.user), "session", session=session), None

    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        return _basic(request, state, credentials)
    if scheme == "bearer":
        user = state.token_user(credentials.strip())
        if user is None:
            # Jira serves an unknown or revoked PAT the anonymous view, not a 401.
            return Identity(), None
        return _credential_user(request, state, user, "bearer")
    if scheme == "oauth" or "xoauth_requestor_id" in request.query:
        params = dict(_OAUTH_PARAM.findall(credentials)) if scheme == "oauth" else {}
        requestor = params.get("xoauth_requestor_id") or request.query.get("xoauth_requestor_id")
        if not requestor or requestor not in state.users:
            ident = Identity(claimed=requestor, login_reason=AUTHENTICATED_FAILED)
            return ident, _unauthorised(
                state, "OAuth request could not be authenticated.", 'OAuth realm="", oauth_problem="permission_unknown"'
            )
        return _credential_user(request, state, requestor, "oauth")

    remembered = request.cookies.get(remember_me_cookie(state))
    if remembered:
        ident = Identity()
        user = state.remember_me.get(remembered)
        if user is None:
            ident.cookies[remember_me_cookie(state)] = (None, None)  # Seraph drops a stale cookie
        else:
            login(state, ident, user, remember=False, via="rememberme", existing_cookie=remembered)
        return ident, None
    return Identity(), None


def _basic(request: web.Request, state: SimState, credentials: str) -> tuple[Identity, web.Response | None]:
    pair = decode_basic(credentials)
    if pair is None or not state.check_password(*pair):
        ident = Identity(claimed=pair[0] if pair else None, login_reason=AUTHENTICATED_FAILED)
        if pair:
            state.failed_logins[pair[0]] = state.failed_logins.get(pair[0], 0) + 1
        return ident, _unauthorised(state, "Login failed: wrong username or password.", 'Basic realm="protected-area"')
    return _credential_user(request, state, pair[0], "basic")


def _credential_user(
    request: web.Request, state: SimState, user: str, via: str
) -> tuple[Identity, web.Response | None]:
    """A verified user from per-request credentials.

    Basic and Bearer requests of a licensed user get an HTTP session (``JSESSIONID``) as on
    Jira and Confluence, so a client keeping cookies sends cookie *and* credentials from its
    second call on, and Seraph then takes the session first. OAuth app-link calls do not.
    """
    if state.is_licensed(user):
        ident = Identity(user, True, via, login_reason=OK)
        if via in SESSION_MINTING:
            ident.session = state.new_session(user)
            ident.cookies[SESSION_COOKIE] = (ident.session.sid, None)
        return ident, None
    ident = Identity(user, False, via, login_reason=AUTHORISATION_FAILED)
    if is_rest(request.path):
        return ident, _unauthorised(state, "You do not have a permission to log in.", 'Basic realm="protected-area"')
    return ident, None  # pages: Seraph carries on as anonymous (→ login redirect where needed)


def login(
    state: SimState, ident: Identity, user: str, *, remember: bool, via: str, existing_cookie: str | None = None
) -> str:
    """Log a verified ``user`` in, updating ``ident``; return the X-Seraph-LoginReason.

    The licence check happens here, inside the login, which is why seatgate must put a user
    into the licence group *before* the login request reaches the product.
    """
    rm_cookie = remember_me_cookie(state)
    ident.user, ident.via = user, via
    if not state.is_licensed(user):
        ident.licensed = False
        ident.login_reason = AUTHORISATION_FAILED
        if existing_cookie:
            # "tried to login but they do not have USE permission … Deleting remember me cookie."
            state.forget_remember_me(existing_cookie)
            ident.cookies[rm_cookie] = (None, None)
        return AUTHORISATION_FAILED
    if ident.session is not None:
        state.end_session(ident.session.sid)  # a login replaces whatever session came with it
    session = state.new_session(user)
    ident.licensed, ident.session, ident.login_reason = True, session, OK
    ident.cookies[SESSION_COOKIE] = (session.sid, None)
    if remember:
        ident.cookies[rm_cookie] = (state.new_remember_me(user), REMEMBER_ME_MAX_AGE)
    return OK


def password_login(
    state: SimState, ident: Identity, username: str, password: str, *, remember: bool, request: web.Request
) -> str:
    """Form/REST/gadget login with a username and password."""
    if not state.check_password(username, password):
        ident.user, ident.licensed, ident.claimed = None, False, username
        ident.login_reason = AUTHENTICATED_FAILED
        state.failed_logins[username] = state.failed_logins.get(username, 0) + 1
        return AUTHENTICATED_FAILED
    existing = request.cookies.get(remember_me_cookie(state))
    return login(state, ident, username, remember=remember, via="login", existing_cookie=existing)


def logout(state: SimState, ident: Identity, request: web.Request) -> None:
    if ident.session is not None:
        state.end_session(ident.session.sid)
    state.forget_remember_me(request.cookies.get(remember_me_cookie(state)))
    ident.cookies[SESSION_COOKIE] = (None, None)
    ident.cookies[remember_me_cookie(state)] = (None, None)
    ident.user, ident.licensed, ident.session, ident.login_reason = None, False, None, "OUT"
