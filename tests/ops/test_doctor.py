"""``seatgate doctor`` against the simulator (in process) and real Redis servers."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from grant_worker.doctor import DARK_FEATURE, FAIL, OK, WARN, Doctor, Finding, public_url
from seatgate.settings import Settings, load_settings
from seatgate_simulator import STATE_KEY, SimConfig, create_app
from tests.conftest import RedisServer
from tests.helpers import REPO, free_port

StartUpstream = Callable[..., Awaitable[str]]


@pytest.fixture
async def upstream() -> AsyncIterator[StartUpstream]:
    """Start in-process simulators: ``await upstream(product, middleware=..., licensed=[...], **SimConfig)``.

    A middleware, put in front of the simulator, plays what it does not model (WebSudo,
    the dark-features page); ``licensed`` adds users to the licence group.
    """
    servers: list[TestServer] = []

    async def start(product: str = "jira", middleware: Any = None, licensed: tuple[str, ...] = (), **config) -> str:
        app = create_app(SimConfig(product=product, seed=1, **config))
        if middleware is not None:
            app.middlewares.insert(0, middleware)
        state = app[STATE_KEY]
        for user in licensed:
            state.ensure_member(user, state.license_group, True)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


def product(url: str, kind: str = "jira", **overrides: Any) -> dict[str, Any]:
    return {
        "name": kind,
        "kind": kind,
        "upstream": url,
        "license_group": "jira-software-users" if kind == "jira" else "confluence-users",
        "admin_password": "admin",
        **overrides,
    }


def settings(redis_url: str, *products: dict[str, Any]) -> Settings:
    extra = [{**p, "listen": f"127.0.0.1:{8100 + i}"} for i, p in enumerate(products[1:])]
    return load_settings(None, {"redis_url": redis_url, "products": [*products[:1], *extra]})


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def product_findings(redis_url: str, spec: dict[str, Any]) -> dict[str, Finding]:
    config = settings(redis_url, spec)
    doctor = Doctor(config)
    await doctor.check_product(config.products[0])
    return by_check(doctor.findings)


@web.middleware
async def websudo_required(request: web.Request, handler):
    # What Jira answers when a @WebSudoRequired resource is called without a WebSudo session.
    if request.method == "POST" and request.path == "/rest/api/2/group/user":
        return web.json_response({"message": "This resource requires WebSudo.", "status-code": 401}, status=401)
    return await handler(request)


def dark_features_page(*features: str):
    @web.middleware
    async def page(request: web.Request, handler):
        if request.path == "/secure/SiteDarkFeatures!default.jspa":
            items = "".join(f"<li>{f}</li>" for f in features)
            return web.Response(
                text=f"<html><h2>Site Dark Features</h2><ul>{items}</ul></html>", content_type="text/html"
            )
        return await handler(request)

    return page


# -- everything in order ------------------------------------------------------------------
async def test_healthy_setup(upstream, tmp_path):
    redis = RedisServer(tmp_path, appendonly=True)
    try:
        jira = await upstream("jira", middleware=dark_features_page("some.other.feature", DARK_FEATURE))
        wiki = await upstream("confluence", confluence_api="jsonrpc")
        config = settings(redis.url, product(jira), product(wiki, "confluence", name="wiki"))
        doctor = Doctor(config)
        findings = by_check(await doctor.run())
    finally:
        redis.stop()
    assert not doctor.failed
    assert {check: f.status for check, f in findings.items()} == {
        "redis": OK,
        "redis-persistence": OK,
        "redis-eviction": OK,
        "redis-clock": OK,
        "jira/upstream": OK,
        "jira/clock": OK,
        "jira/directory": OK,
        "jira/admin-login": OK,
        "jira/group-access": OK,
        "jira/licence-group": OK,
        "jira/websudo": OK,
        "jira/notifications": OK,
        "jira/cutover": OK,
        "wiki/upstream": OK,
        "wiki/clock": OK,
        "wiki/directory": OK,
        "wiki/admin-login": OK,
        "wiki/group-access": OK,
        "wiki/licence-group": OK,
        "wiki/cutover": OK,
    }, "\n".join(f.line() for f in findings.values())
    assert "append-only file on" in findings["redis-persistence"].finding
    # directory = auto is resolved by probing, and the doctor says to what.
    assert "→ jira" in findings["jira/directory"].finding
    assert "→ confluence-jsonrpc" in findings["wiki/directory"].finding
    assert "10000 seats, 1 used" in findings["jira/licence-group"].finding
    # An OK line carries no fix.
    assert " — fix:" not in findings["jira/websudo"].line()


# -- each problem is found, and comes with its fix ----------------------------------------
PROBLEMS = {
    "wrong password": (dict(), dict(admin_password="wrong"), "jira/admin-login", FAIL, "admin_password"),
    "not an administrator": (
        dict(licensed=("alice",)),
        dict(admin_user="alice", admin_password="alice"),
        "jira/group-access",
        FAIL,
        "give it Jira Administrators",
    ),
    "licence group missing": (
        dict(),
        dict(license_group="floating-users"),
        "jira/group-access",
        FAIL,
        "create it or correct license_group",
    ),
    "group without application access": (
        dict(),
        dict(license_group="staff"),
        "jira/licence-group",
        FAIL,
        "Application access",
    ),
    "unknown application role": (
        dict(),
        dict(app_role="jira-servicedesk"),
        "jira/licence-group",
        FAIL,
        "set app_role to one of jira-software",
    ),
    "licence exceeded": (dict(seats=1, licensed=("alice",)), dict(), "jira/licence-group", WARN, "buy seats"),
    "websudo": (dict(middleware=websudo_required), dict(), "jira/websudo", FAIL, "jira.websudo.is.disabled"),
    "dark feature off": (
        dict(middleware=dark_features_page("some.other.feature")),
        dict(),
        "jira/notifications",
        WARN,
        DARK_FEATURE,
    ),
    "dark features unreadable": (dict(), dict(), "jira/notifications", WARN, "SiteDarkFeatures!default.jspa"),
}


@pytest.mark.parametrize("case", sorted(PROBLEMS))
async def test_problem_found_with_fix(case, upstream, redis_url):
    sim, overrides, check, status, fix = PROBLEMS[case]
    url = await upstream("jira", **sim)
    findings = await product_findings(redis_url, product(url, **overrides))
    found = findings[check]
    assert found.status == status, found.line()
    assert fix in found.fix, found.line()
    assert found.line().startswith(f"{status:<4} {check}: ") and " — fix: " in found.line()


async def test_group_in_crowd_is_checked_with_crowd_credentials(upstream, redis_url):
    url = await upstream("jira")
    good = await product_findings(
        redis_url, product(url, directory="crowd", crowd_url=url, crowd_app="seatgate", crowd_password="seatgate")
    )
    assert good["jira/group-access"].status == OK and "crowd_app seatgate" in good["jira/group-access"].finding
    assert "jira/websudo" not in good  # group changes go to Crowd, not to Jira's WebSudo-guarded REST
    bad = await product_findings(
        redis_url, product(url, directory="crowd", crowd_url=url, crowd_app="seatgate", crowd_password="wrong")
    )
    assert bad["jira/group-access"].status == FAIL, bad["jira/group-access"].line()


@pytest.mark.parametrize("kind", ["jira", "confluence"])
async def test_other_groups_granting_the_application_are_found_until_setup(kind, upstream, redis_url):
    group = "jira-software-users" if kind == "jira" else "confluence-users"
    url = await upstream(kind, access_groups=(group, "staff"))
    findings = await product_findings(redis_url, product(url, kind))
    cutover = findings[f"{kind}/cutover"]
    assert cutover.status == WARN, cutover.line()
    assert "seatgate setup --product" in cutover.fix
    assert ("staff also grants" if kind == "jira" else "another group still has Can use") in cutover.finding


async def test_unreachable_upstream_stops_that_product(redis_url):
    findings = await product_findings(redis_url, product(f"http://127.0.0.1:{free_port()}"))
    assert list(findings) == ["jira/upstream"]
    assert findings["jira/upstream"].status == FAIL and "upstream" in findings["jira/upstream"].fix


async def test_clock_skew(upstream, redis_url):
    url = await upstream("jira")
    config = settings(redis_url, product(url))
    doctor = Doctor(config, clock=lambda: time.time() - 10)  # this host ten seconds behind
    findings = by_check(await doctor.run())
    for check, other in (("redis-clock", "Redis"), ("jira/clock", "Jira")):
        assert findings[check].status == WARN, findings[check].line()
        # Date has whole seconds: Jira's skew is known to within half a second.
        skew = re.fullmatch(rf"{other}'s clock is ([0-9.]+) s ahead of this host's .*", findings[check].finding)
        assert skew and 9.4 <= float(skew.group(1)) <= 10.6, findings[check].finding
        assert "NTP" in findings[check].fix


# -- Redis ----------------------------------------------------------------------------------
async def redis_findings(url: str) -> dict[str, Finding]:
    doctor = Doctor(settings(url))
    await doctor.check_redis()
    return by_check(doctor.findings)


async def test_redis_without_persistence_and_with_eviction(tmp_path):
    redis = RedisServer(tmp_path)  # --save '' --appendonly no
    try:
        findings = await redis_findings(redis.url)
        assert findings["redis-persistence"].status == WARN
        assert "appendonly yes" in findings["redis-persistence"].fix
        redis.cli("CONFIG", "SET", "save", "3600 1")
        redis.cli("CONFIG", "SET", "maxmemory", "64mb")
        redis.cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        findings = await redis_findings(redis.url)
        assert findings["redis-persistence"].status == OK
        assert "RDB snapshots only" in findings["redis-persistence"].finding
        assert findings["redis-eviction"].status == WARN and "noeviction" in findings["redis-eviction"].fix
    finally:
        redis.stop()


async def test_redis_unreachable():
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    findings = await redis_findings(url)
    assert list(findings) == ["redis"]
    assert findings["redis"].status == FAIL and "redis_url" in findings["redis"].fix
    assert "hunter2" not in findings["redis"].line()
    assert public_url(url) == url.replace("hunter2", "***")


# -- the command ----------------------------------------------------------------------------
async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seatgate",
        "doctor",
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, out.decode(), err.decode()


async def test_command_exit_status_and_json(upstream, redis_url, tmp_path):
    url = await upstream("jira")
    config = tmp_path / "seatgate.toml"
    config.write_text(
        f'redis_url = "{redis_url}"\n[[products]]\nname = "jira"\nkind = "jira"\n'
        f'upstream = "{url}"\nlicense_group = "jira-software-users"\nadmin_password = "admin"\n'
    )
    status, out, _ = await run_cli("--config", str(config))
    assert status == 0, out  # WARN only (no persistence on the test Redis, dark features unreadable)
    assert out.splitlines()[0].startswith("OK   redis: reachable")
    config.write_text(config.read_text().replace('admin_password = "admin"', 'admin_password = "nope"'))
    status, out, _ = await run_cli("--config", str(config), "--json")
    assert status == 1
    report = json.loads(out)  # nothing but the report on stdout
    assert report["ok"] is False
    failed = [f for f in report["findings"] if f["status"] == FAIL]
    assert [f["check"] for f in failed] == ["jira/admin-login"] and failed[0]["fix"]


async def test_configuration_error_exits_2(tmp_path):
    status, out, err = await run_cli("--config", str(tmp_path / "missing.toml"))
    assert status == 2 and out == ""
    assert "configuration error" in err and "no such file" in err
