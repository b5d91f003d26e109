"""What a request claims about its sender, read without trusting any of it.

Everything here is a pure function of the request's method, path, headers and body, so
it can be tested and fuzzed on its own. Secrets leave this module only as keyed hashes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from proxy_addon.saml import saml_claim
from seatgate.keyed_hash import KeyedHasher

# Login endpoints per product kind: a POST here carries the username being logged in.
LOGIN_FORM_PATHS = {
    "jira": frozenset({"/login.jsp", "/rest/gadget/1.0/login"}),
    "confluence": frozenset({"/dologin.action"}),
}
JSON_LOGIN_PATHS = {"jira": frozenset({"/rest/auth/1/session"}), "confluence": frozenset()}

# Atlassian usernames are short; anything longer is garbage and never granted.
MAX_USERNAME = 255
MAX_LOGIN_BODY = 64 * 1024


@dataclass(slots=True)
class Credentials:
    """Hashes of the secrets a request carries, and the username it claims (if any)."""

    session: str | None = None  # digest of the session cookie
    rememberme: str | None = None  # digest of the remember-me cookie
    bearer: str | None = None  # digest of a Personal Access Token
    basic: str | None = None  # digest of "user:password"
    claimed_user: str | None = None  # from Basic, a login form or a SAML POST: not trusted yet
    claim_source: str | None = None  # "basic" | "login" | "saml"
    applink_user: str | None = None  # xoauth_requestor_id of an app-link request

    def known_digests(self) -> list[str]:
        return [d for d in (self.session, self.rememberme, self.bearer, self.basic) if d]


class ConnectionSecrets:
    """The digests of the Cookie and Authorization headers last seen on one client connection.

    A client sends the same Cookie and Authorization headers on every request of a
    keep-alive connection until a cookie changes, and hashing them again each time is the
    largest part of identifying a request. Compared whole with the raw header; kept as long
    as the connection, in the same memory where mitmproxy keeps the request itself.
    """

    __slots__ = ("authorization", "by_authorization", "by_cookie", "cookie")

    def __init__(self) -> None:
        self.cookie: str | None = None
        self.by_cookie: tuple[str | None, str | None] = (None, None)  # session, rememberme
        self.authorization: str | None = None
        self.by_authorization: tuple[str | None, str | None, str | None] = (None, None, None)  # bearer, basic, user


def valid_username(name: str) -> bool:
    return 0 < len(name) <= MAX_USERNAME and name.isprintable() and name.strip() == name and name != "anonymous"


def parse_basic(value: str) -> tuple[str, str] | None:
    """``Basic base64(user:password)`` → (user, password); None when malformed."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic" or not token or len(token) > 8192:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not valid_username(user):
        return None
    return user, password


def cookie_value(cookie_header: str, name: str) -> str | None:
    """The value of one cookie, found without parsing the whole header into a dict."""
    start = 0
    needle = name + "="
    while True:
        index = cookie_header.find(needle, start)
        if index < 0:
            return None
        if index == 0 or cookie_header[index - 1] in "; \t":
            end = cookie_header.find(";", index)
            value = cookie_header[index + len(needle) : end if end >= 0 else None].strip().strip('"')
            return value or None
        start = index + len(needle)


def login_claim(kind: str, method: str, path: str, content_type: str, body: bytes) -> str | None:
    """The username a login request submits, or None when this is not a login."""
    if method != "POST" or len(body) > MAX_LOGIN_BODY:
        return None
    user: object = None
    if path in LOGIN_FORM_PATHS.get(kind, ()):
        if "application/x-www-form-urlencoded" not in content_type:
            return None
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64, errors="strict"))
        except (UnicodeDecodeError, ValueError):
            return None
        user = form.get("os_username")
    elif path in JSON_LOGIN_PATHS.get(kind, ()):
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: "[[[[..." from a client
            return None
        user = doc.get("username") if isinstance(doc, dict) else None
    if isinstance(user, str) and valid_username(user):
        return user
    return None


def applink_requestor(query: str, authorization: str) -> str | None:
    """``xoauth_requestor_id`` of an OAuth 1.0a app-link request (query or header)."""
    if "xoauth_requestor_id" not in query and "xoauth_requestor_id" not in authorization:
        return None
    try:
        pairs = parse_qsl(query, max_num_fields=64, errors="strict")
    except (UnicodeDecodeError, ValueError):
        pairs = []
    for key, value in pairs:
        if key == "xoauth_requestor_id" and valid_username(value):
            return value
    for part in authorization.removeprefix("OAuth ").split(","):
        key, _, value = part.strip().partition("=")
        if key == "xoauth_requestor_id":
            user = unquote(value.strip('"'))
            return user if valid_username(user) else None
    return None


def extract(
    hasher: KeyedHasher,
    *,
    kind: str,
    method: str,
    path: str,
    query: str,
    cookie_header: str,
    authorization: str,
    content_type: str,
    body: bytes,
    session_cookies: list[str],
    rememberme_cookies: list[str],
    saml_paths: frozenset[str] = frozenset(),
    seen: ConnectionSecrets | None = None,
) -> Credentials:
    creds = Credentials()
    if cookie_header:
        if seen is not None and seen.cookie == cookie_header:
            creds.session, creds.rememberme = seen.by_cookie
        else:
            for name in session_cookies:
                if value := cookie_value(cookie_header, name):
                    creds.session = hasher.digest("session", value)
                    break
            for name in rememberme_cookies:
                if value := cookie_value(cookie_header, name):
                    creds.rememberme = hasher.digest("rememberme", value)
                    break
            if seen is not None:
                seen.cookie, seen.by_cookie = cookie_header, (creds.session, creds.rememberme)
    if authorization and seen is not None and seen.authorization == authorization:
        creds.bearer, creds.basic, creds.claimed_user = seen.by_authorization
        creds.claim_source = "basic" if creds.claimed_user else None
    elif authorization:
        scheme = authorization[:7].lower()
        if scheme.startswith("bearer "):
            token = authorization[7:].strip()
            if 0 < len(token) <= 4096:
                creds.bearer = hasher.digest("bearer", token)
        elif scheme.startswith("basic "):
            if pair := parse_basic(authorization):
                creds.basic = hasher.digest("basic", f"{pair[0]}:{pair[1]}")
                creds.claimed_user, creds.claim_source = pair[0], "basic"
        elif scheme.startswith("oauth "):  # depends on the query too: not remembered
            creds.applink_user = applink_requestor(query, authorization)
        if seen is not None and not scheme.startswith("oauth "):
            seen.authorization, seen.by_authorization = authorization, (creds.bearer, creds.basic, creds.claimed_user)
    elif query and "xoauth_requestor_id" in query:
        creds.applink_user = applink_requestor(query, "")
    if body and (user := login_claim(kind, method, path, content_type, body)):
        creds.claimed_user, creds.claim_source = user, "login"
    elif body and method == "POST" and path in saml_paths:
        user = saml_claim(content_type, body)
        if user is not None and valid_username(user):
            creds.claimed_user, creds.claim_source = user, "saml"
    return creds
