"""The admin page, served by the worker at ``/admin``: plain HTML, one script, one style sheet.

The page's script calls the worker's ``/api/v1/...`` endpoints; it logs in here with the
admin token or an upstream administrator's username and password and gets a signed
session cookie (see sessions.py) that ``token_middleware`` accepts alongside the token.
Everything the page shows is put into the DOM as text, never as HTML, and a strict
Content-Security-Policy forbids inline script, so a hostile username in the audit log
stays a string.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from grant_worker.admin_page.sessions import COOKIE, Session, SessionSigner
from grant_worker.admin_page.upstream_login import UpstreamUnavailable, verify_admin
from seatgate import logs
from seatgate.settings import ConfigError, Settings

log = logs.get("seatgate.worker.admin_page")

STATIC = Path(__file__).parent / "static"
ASSETS = {"admin.js": "text/javascript", "admin.css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Failed logins allowed per client address within FAILURE_WINDOW before it must wait.
MAX_FAILURES = 10
FAILURE_WINDOW = 300.0
TOKEN_USER = "token"  # the name a token login acts under in the rules audit trail


def _signer(settings: Settings) -> SessionSigner | None:
    try:
        return SessionSigner(settings.secret_key())
    except ConfigError:
        return None  # no secret configured: the page cannot sign sessions; the login says so


def session_user(settings: Settings) -> Callable[[web.Request], str | None]:
    """For ``token_middleware``: the admin a request's session cookie (and CSRF header) names."""
    signer = _signer(settings)

    def check(request: web.Request) -> str | None:
        session = signer.from_request(request) if signer is not None else None
        return session.user if session is not None else None

    return check


class _Throttle:
    """Failed logins per client address, forgotten after the window."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}

    def blocked(self, client: str) -> bool:
        cutoff = time.monotonic() - FAILURE_WINDOW
        recent = [t for t in self._failures.get(client, []) if t > cutoff]
        self._failures[client] = recent
        if not recent:
            del self._failures[client]
        return len(recent) >= MAX_FAILURES

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, []).append(time.monotonic())


def page_routes(settings: Settings) -> list[web.RouteDef]:
    signer = _signer(settings)
    throttle = _Throttle()
    index = (STATIC / "index.html").read_bytes()
    assets = {name: (STATIC / name).read_bytes() for name in ASSETS}

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=index, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound()
        return web.Response(body=assets[name], content_type=ASSETS[name], charset="utf-8", headers=SECURITY_HEADERS)

    def describe(session: Session) -> dict[str, object]:
        return {"user": session.user, "via": session.via, "expires": session.expires, "csrf": session.csrf}

    async def current(request: web.Request) -> web.Response:
        session = signer.verify(request.cookies.get(COOKIE)) if signer is not None else None
        if session is None:
            return web.json_response({"error": "not logged in"}, status=401, headers=SECURITY_HEADERS)
        return web.json_response(describe(session), headers=SECURITY_HEADERS)

    async def login(request: web.Request) -> web.Response:
        # JSON only: a cross-site HTML form cannot send it, so nobody can be logged in
        # to the page as someone else by a link elsewhere.
        if request.content_type != "application/json":
            return _error(415, 'send JSON: {"token"} or {"username", "password"}')
        if signer is None:
            return _error(503, "the worker has no secret configured: sessions cannot be signed")
        client = request.remote or ""
        if throttle.blocked(client):
            return _error(429, "too many failed logins: wait a few minutes")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, 'send JSON: {"token"} or {"username", "password"}')
        try:
            user, via = await _authenticate(settings, body)
        except UpstreamUnavailable as exc:
            log.warning("admin_login_upstream_unavailable", error=str(exc), client=client)
            return _error(502, "the upstream did not answer: try again, or log in with the admin token")
        if user is None:
            throttle.failed(client)
            # The attempted username is not logged: people type passwords into it.
            log.warning("admin_login_refused", via=via, client=client)
            return _error(
                401,
                "wrong admin token"
                if via == "token"
                else "not an administrator of the upstream, or wrong username or password",
            )
        value, session = signer.issue(user, via)
        log.info("admin_login", user=user, via=via, client=client)
        response = web.json_response(describe(session), headers=SECURITY_HEADERS)
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(signer.lifetime),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
        )
        return response

    async def logout(_: web.Request) -> web.Response:
        response = web.json_response({"logged_out": True}, headers=SECURITY_HEADERS)
        response.del_cookie(COOKIE, path="/")
        return response

    async def to_page(_: web.Request) -> web.Response:
        raise web.HTTPFound("/admin")

    return [
        web.get("/admin", page),
        web.get("/admin/", to_page),
        web.get("/admin/static/{name}", asset),
        web.get("/admin/session", current),
        web.post("/admin/login", login),
        web.post("/admin/logout", logout),
    ]


async def _authenticate(settings: Settings, body: dict[str, object]) -> tuple[str | None, str]:
    """(admin name or None, how): the admin token, or an upstream administrator's credentials."""
    token = body.get("token")
    if isinstance(token, str) and token:
        expected = settings.admin_token()
        ok = expected is not None and hmac.compare_digest(token.encode(), expected.encode())
        return (TOKEN_USER if ok else None), "token"
    username, password = body.get("username"), body.get("password")
    if not (isinstance(username, str) and isinstance(password, str) and username and password):
        return None, "upstream"
    return await verify_admin(settings.products[0], username, password), "upstream"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=SECURITY_HEADERS)
