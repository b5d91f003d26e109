"""Signed, stateless admin sessions for the admin page.

The cookie holds ``base64url(json payload) "." base64url(HMAC-SHA256)``; the key is derived
from the settings secret, so every worker behind one load balancer accepts every other
worker's sessions and no session state is kept anywhere. The CSRF token is an HMAC of the
cookie's payload: the page reads it from the login answer (or ``/admin/session``) and sends
it in a header that a cross-site form cannot set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

COOKIE = "seatgate_admin"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LIFETIME = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    via: str  # "token" or "upstream"
    expires: float
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: bytes, lifetime: float = LIFETIME):
        # A key of its own: a value signed here can never be confused with the keyed
        # hashes of cookies and tokens made with the same secret elsewhere.
        self._key = hmac.new(secret, b"seatgate admin page session", hashlib.sha256).digest()
        self.lifetime = lifetime

    def _mac(self, purpose: bytes, payload: str) -> str:
        return _b64(hmac.new(self._key, purpose + b"|" + payload.encode(), hashlib.sha256).digest())

    def issue(self, user: str, via: str, now: float | None = None) -> tuple[str, Session]:
        expires = (now or time.time()) + self.lifetime
        payload = _b64(
            json.dumps(
                {"u": user, "via": via, "exp": round(expires), "n": secrets.token_hex(8)}, separators=(",", ":")
            ).encode()
        )
        return f"{payload}.{self._mac(b'session', payload)}", Session(user, via, expires, self._mac(b"csrf", payload))

    def verify(self, cookie: str | None, now: float | None = None) -> Session | None:
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(b"session", payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            user, via, expires = str(data["u"]), str(data["via"]), float(data["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires <= (now or time.time()):
            return None
        return Session(user, via, expires, self._mac(b"csrf", payload))

    def from_request(self, request: web.Request) -> Session | None:
        """The request's session; for a state-changing method only with the matching CSRF header."""
        session = self.verify(request.cookies.get(COOKIE))
        if session is None:
            return None
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()
        ):
            return None
        return session
