"""What every handler needs: the app's state, the request's identity, and the product's refusals."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote

from aiohttp import web

from seatgate_simulator import templating
from seatgate_simulator.state import Session, SimState

STATE_KEY = web.AppKey("seatgate_simulator.state", SimState)
RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Seraph's login outcomes, as sent in X-Seraph-LoginReason.
OK = "OK"
OUT = "OUT"
AUTHENTICATED_FAILED = "AUTHENTICATED_FAILED"  # wrong password / unknown user
AUTHORISATION_FAILED = "AUTHORISATION_FAILED"  # right password, no application access


@dataclass(slots=True)
class Identity:
    """Who a request is, as the product's Seraph filter decides it.

    ``user`` is set once credentials were *verified* (password, token, cookie), even when the
    user is then refused for lack of application access: that distinction is Seraph's
    AUTHENTICATED vs AUTHORISATION and is what the request log reports.
    """

    user: str | None = None
    licensed: bool = False
    via: str = "anonymous"  # session, basic, bearer, oauth, rememberme, login, saml, application
    claimed: str | None = None  # username offered with credentials that failed
    login_reason: str | None = None
    session: Session | None = None
    # Cookie changes for the response: name → (value, max_age); value None deletes the cookie.
    cookies: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)

    @property
    def acting(self) -> str | None:
        """The user the product acts for: only a licensed one, everyone else is anonymous."""
        return self.user if self.licensed else None

    @property
    def shown_name(self) -> str:
        # A session that lost its licence still belongs to its user (who gets the no-access
        # page); a refused login or Basic request is anonymous.
        if self.user and (self.licensed or self.via == "session"):
            return self.user
        return "anonymous"


IDENTITY_KEY = web.RequestKey("seatgate_simulator.identity", Identity)

REST_PREFIXES = ("/rest/", "/rpc/", "/json/", "/plugins/servlet/gadgets/")


def is_rest(path: str) -> bool:
    """REST and XHR endpoints answer 401/403 in JSON; pages redirect to the login form."""
    return path.startswith(REST_PREFIXES)


def state_of(request: web.Request) -> SimState:
    return request.app[STATE_KEY]


def identity_of(request: web.Request) -> Identity:
    return request[IDENTITY_KEY]


def base_url(request: web.Request) -> str:
    """Absolute prefix for ``self`` links, as seen by the client (through any proxy)."""
    return f"{request.scheme}://{request.host}"


def int_param(request: web.Request, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """A non-negative integer query parameter; a bad one answers 400 in the product's shape."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < minimum:
        raise Refused(rest_error(state_of(request).config.product, 400, f"{name} must be an integer >= {minimum}"))
    return min(value, maximum) if maximum is not None else value


def login_url(product: str, destination: str | None = None, violation: bool = False) -> str:
    base = "/login.jsp" if product == "jira" else "/login.action"
    params = []
    if destination:
        params.append("os_destination=" + quote(destination, safe=""))
    if violation and product == "confluence":
        params.append("permissionViolation=true")
    return base + ("?" + "&".join(params) if params else "")


def dashboard_url(product: str) -> str:
    return "/secure/Dashboard.jspa" if product == "jira" else "/index.action"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


def rest_error(product: str, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error body in the product's own shape (Jira ErrorCollection, Confluence ServiceException)."""
    if product == "jira":
        body: dict[str, Any] = {"errorMessages": [message], "errors": {}}
    else:
        body = {
            "statusCode": status,
            "data": {"authorized": status not in (401, 403), "valid": True, "errors": [], "successful": False},
            "message": message,
            "reason": _REASONS.get(status, "Error"),
        }
    return json_response(body, status, headers)


class Refused(Exception):
    """Raised by a handler to answer with ``response`` at once (the middleware sends it)."""

    def __init__(self, response: web.StreamResponse):
        super().__init__(response.status)
        self.response = response


def refuse(request: web.Request) -> NoReturn:
    """Answer a request that needs a licensed user but has none, the way the product does."""
    state = state_of(request)
    ident = identity_of(request)
    product = state.config.product
    if ident.user and ident.via == "session" and not ident.licensed:
        # A live session whose user lost application access: the no-access page.
        if is_rest(request.path):
            raise Refused(rest_error(product, 403, "You do not have a permission to use this application."))
        raise Refused(
            web.Response(text=templating.no_access_page(product, ident.user), status=403, content_type="text/html")
        )
    if is_rest(request.path):
        message = (
            "You are not authenticated. Authentication required to perform this operation."
            if product == "jira"
            else "This resource requires authentication."
        )
        raise Refused(rest_error(product, 401, message))
    raise Refused(redirect(login_url(product, request.path_qs, violation=True)))


def require_user(request: web.Request) -> str:
    user = identity_of(request).acting
    if user is None:
        refuse(request)
    return user


def require_admin(request: web.Request) -> str:
    user = require_user(request)
    state = state_of(request)
    if not state.is_admin(user):
        product = state.config.product
        message = (
            "You must have global administrator rights in order to modify group membership."
            if product == "jira"
            else "The calling user does not have permission to manage groups."
        )
        raise Refused(rest_error(product, 403, message))
    return user
