"""The product's filter chain around every handler.

1. work out the identity (``auth.resolve``), refusing bad credentials outright;
2. run the handler, turning :class:`Refused` and aiohttp's HTTP exceptions into responses;
3. record the request for ``/__sim/state`` and write the access-log line.

The identity headers and cookies are stamped in ``on_response_prepare`` instead, because
that is the one hook every response passes through before its headers leave, including
the WebSocket handshake, which is already sent when the handler returns.
"""

from __future__ import annotations

import logging
import random
import secrets
import string
import time

from aiohttp import web

from seatgate_simulator import auth
from seatgate_simulator.accesslog import AccessLog, Entry
from seatgate_simulator.context import AUTHORISATION_FAILED, IDENTITY_KEY, STATE_KEY, Refused, RequestHandler
from seatgate_simulator.state import SimState

log = logging.getLogger(__name__)

INTROSPECTION_PREFIX = "/__sim/"
REQUEST_ID_KEY = web.RequestKey("seatgate_simulator.request_id", str)
ACCESS_LOG_KEY = web.AppKey("seatgate_simulator.access_log", AccessLog)
_BODY_HEADERS = {"Content-Type", "Content-Length"}
XSRF_COOKIE = "atlassian.xsrf.token"


def _plain(exc: web.HTTPException) -> web.Response:
    """aiohttp's router raises HTTPNotFound & co.: answer them as ordinary responses."""
    headers = {k: v for k, v in exc.headers.items() if k not in _BODY_HEADERS}
    return web.Response(status=exc.status, text=exc.text, content_type=exc.content_type, headers=headers)


class FilterChain:
    __middleware_version__ = 1  # what @web.middleware marks: a new-style (request, handler) middleware

    def __init__(self) -> None:
        self.in_flight = 0
        self.counter = 0

    def _request_id(self) -> str:
        # Jira's X-AREQUESTID: minute of the day, request counter, concurrent requests.
        t = time.localtime()
        return f"{t.tm_hour * 60 + t.tm_min}x{self.counter}x{self.in_flight}"

    async def __call__(self, request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        if request.path.startswith(INTROSPECTION_PREFIX):
            return await handler(request)
        state = request.app[STATE_KEY]
        started = time.time()
        self.counter += 1
        self.in_flight += 1
        request[REQUEST_ID_KEY] = self._request_id()
        try:
            ident, early = auth.resolve(request, state)
            request[IDENTITY_KEY] = ident
            # licensed is taken on arrival (a login handler updates it with its own check).
            response = early if early is not None else await self._run(request, handler)
        finally:
            self.in_flight -= 1
        ident = request[IDENTITY_KEY]
        state.record_request(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "user": ident.user,
                "licensed": ident.licensed,
                "via": ident.via,
                "claimed": ident.claimed,
                "login_reason": ident.login_reason,
                "status": response.status,
                "ts": started,
                "mau_ignore": request.headers.get("x-atlassian-mau-ignore") == "true",
            }
        )
        access_log = request.app.get(ACCESS_LOG_KEY)
        if access_log is not None:
            self._log(access_log, request, response, started, state)
        return response

    @staticmethod
    async def _run(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refused as refused:
            return refused.response
        except web.HTTPException as exc:
            return _plain(exc)
        except Exception:
            log.exception("simulator handler failed: %s %s", request.method, request.path)
            return web.Response(status=500, text="simulated product failed unexpectedly")

    @staticmethod
    def _log(
        access_log: AccessLog, request: web.Request, response: web.StreamResponse, started: float, state: SimState
    ) -> None:
        # Runs before on_response_prepare, so it derives the identity headers itself.
        ident = request[IDENTITY_KEY]
        session = ident.session if ident.session and ident.session.sid in state.sessions else None
        body = getattr(response, "body", None)
        size = len(body) if isinstance(body, bytes) else (response.content_length or 0)
        shown = ident.shown_name
        peer = request.transport.get_extra_info("sockname") if request.transport else None
        access_log.write(
            Entry(
                started=started,
                remote=request.remote or "-",
                method=request.method,
                path_qs=request.path_qs,
                protocol=f"HTTP/{request.version.major}.{request.version.minor}",
                status=response.status,
                size=size,
                elapsed_ms=int((time.time() - started) * 1000),
                referer=request.headers.get("Referer"),
                user_agent=request.headers.get("User-Agent"),
                username=None if shown == "anonymous" else shown,
                ausername_header=shown if state.ausername else None,
                request_id=request[REQUEST_ID_KEY],
                assession_id=session.short_id if session else None,
                port=peer[1] if peer else 0,
                seq=state.request_seq,
            )
        )


async def stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the identity headers and cookie changes of every response."""
    ident = request.get(IDENTITY_KEY)
    if ident is None:  # introspection API
        return
    state = request.app[STATE_KEY]
    headers = response.headers
    if state.ausername:
        refused = state.name_refused and ident.user and ident.login_reason == AUTHORISATION_FAILED
        headers["X-AUSERNAME"] = ident.user if refused else ident.shown_name
    session = ident.session
    if session is not None and session.sid in state.sessions:
        headers["X-ASESSIONID"] = session.short_id
    else:
        # No session behind this request (anonymous, Basic, PAT): a throw-away id, as Tomcat
        # would mint for a session nobody keeps.
        headers["X-ASESSIONID"] = format(random.getrandbits(28), "x")
    headers["X-AREQUESTID"] = request[REQUEST_ID_KEY]
    if ident.login_reason:
        headers["X-Seraph-LoginReason"] = ident.login_reason
    if state.config.product == "confluence":
        headers["X-Confluence-Request-Time"] = str(int(time.time() * 1000))
    # aiohttp has already turned response.cookies into headers when this hook runs: add ours raw.
    for name, (value, max_age) in ident.cookies.items():
        headers.add("Set-Cookie", set_cookie_header(name, value, max_age))
    if XSRF_COOKIE not in request.cookies:
        # Atlassian's XSRF filter hands every client without one a token cookie (readable by
        # the page script, so not HttpOnly); the suffix says whether the user was logged in.
        suffix = "lin" if ident.acting else "lout"
        headers.add("Set-Cookie", f"{XSRF_COOKIE}={xsrf_token()}_{suffix}; Path=/")


def xsrf_token() -> str:
    """Jira's shape: four dash-separated groups of four, then 40 hex digits."""
    alphabet = string.ascii_uppercase + string.digits
    groups = "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
    return f"{groups}_{secrets.token_hex(20)}"


def set_cookie_header(name: str, value: str | None, max_age: int | None) -> str:
    """A Set-Cookie value as Tomcat writes it; ``value`` None deletes the cookie (Max-Age=0)."""
    if value is None:
        return f"{name}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"
    return f"{name}={value}; Path=/; HttpOnly" + (f"; Max-Age={max_age}" if max_age is not None else "")
