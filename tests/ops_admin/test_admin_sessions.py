"""Admin page sessions: signing, expiry, CSRF, and the API accepting them next to the token.

A real aiohttp server on 127.0.0.1 with the worker's middleware and the page's routes; the
upstream login is exercised against the simulator in the browser test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from grant_worker.admin import token_middleware
from grant_worker.admin_page import MAX_FAILURES, page_routes, session_user
from grant_worker.admin_page.sessions import COOKIE, CSRF_HEADER, SessionSigner
from seatgate.settings import load_settings
from tests.helpers import free_port

TOKEN = "page-test-token"
SECRET = "0123456789abcdef" * 4


def test_signed_session_round_trip_tampering_and_expiry():
    signer = SessionSigner(SECRET.encode(), lifetime=60)
    value, session = signer.issue("admin", "upstream", now=1000.0)
    assert signer.verify(value, now=1001.0) == session
    assert signer.verify(value, now=1061.0) is None  # expired
    payload, mac = value.split(".")
    forged = signer.issue("mallory", "upstream", now=1000.0)[0].split(".")[0]
    assert signer.verify(f"{forged}.{mac}", now=1001.0) is None  # someone else's payload, this MAC
    assert signer.verify(f"{payload}.{mac[:-2]}AA", now=1001.0) is None
    assert SessionSigner(b"another secret").verify(value, now=1001.0) is None
    assert signer.verify("garbage", now=1001.0) is None and signer.verify(None) is None
    # Each session has its own CSRF token.
    assert signer.issue("admin", "upstream", now=1000.0)[1].csrf != session.csrf


@pytest.fixture
async def admin_app() -> AsyncIterator[str]:
    settings = load_settings(
        overrides={
            "secret": SECRET,
            "worker": {"admin_token": TOKEN},
            "products": [{"name": "jira", "kind": "jira", "upstream": "http://127.0.0.1:9", "license_group": "g"}],
        }
    )

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"admin_user": request["admin_user"], "method": request.method})

    app = web.Application(middlewares=[token_middleware(settings.admin_token(), session_user(settings))])
    app.add_routes([web.get("/api/v1/echo", echo), web.post("/api/v1/echo", echo), *page_routes(settings)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=10))


async def test_page_login_session_and_csrf(admin_app):
    base = admin_app
    async with client() as http:
        async with http.get(f"{base}/admin") as page:
            assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert 'id="login-token"' in await page.text()
        async with http.get(f"{base}/admin/static/admin.js") as script:
            assert script.status == 200 and script.content_type == "text/javascript"
        async with http.get(f"{base}/admin/static/..%2Fsessions.py") as other:
            assert other.status == 404
        async with http.post(f"{base}/admin/login", data={"token": TOKEN}) as form:
            assert form.status == 415  # a cross-site form cannot log anyone in
        async with http.post(f"{base}/admin/login", json={"token": "wrong"}) as wrong:
            assert wrong.status == 401
        async with http.get(f"{base}/api/v1/echo") as anonymous:
            assert anonymous.status == 401

        async with http.post(f"{base}/admin/login", json={"token": TOKEN}) as login:
            assert login.status == 200
            session = await login.json()
            set_cookie = login.headers["Set-Cookie"]
        assert f"{COOKIE}=" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        assert TOKEN not in set_cookie
        async with http.get(f"{base}/admin/session") as current:
            assert (await current.json())["user"] == "token"
        async with http.get(f"{base}/api/v1/echo") as read:
            assert read.status == 200 and (await read.json())["admin_user"] == "token"
        async with http.post(f"{base}/api/v1/echo") as no_csrf:
            assert no_csrf.status == 401
        async with http.post(f"{base}/api/v1/echo", headers={CSRF_HEADER: "x" + session["csrf"]}) as bad_csrf:
            assert bad_csrf.status == 401
        async with http.post(f"{base}/api/v1/echo", headers={CSRF_HEADER: session["csrf"]}) as write:
            assert write.status == 200

        async with http.post(f"{base}/admin/logout") as logout:
            assert logout.status == 200
        async with http.get(f"{base}/api/v1/echo") as after:
            assert after.status == 401
        async with http.get(f"{base}/admin/session") as gone:
            assert gone.status == 401

    # The bearer token keeps working for scripts.
    async with client() as http, http.post(f"{base}/api/v1/echo", headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        assert api.status == 200 and (await api.json())["admin_user"] == "api"


async def test_failed_logins_are_throttled(admin_app):
    async with client() as http:
        for _ in range(MAX_FAILURES):
            async with http.post(f"{admin_app}/admin/login", json={"token": "wrong"}) as wrong:
                assert wrong.status == 401
        async with http.post(f"{admin_app}/admin/login", json={"token": TOKEN}) as blocked:
            assert blocked.status == 429
