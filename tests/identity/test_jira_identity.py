"""Identity for every kind of request, and no way to steal seats — Jira, end to end.

Real simulator, Redis, worker and proxy processes, one deployment for the module. The
simulator runs with ``--name-refused-users``: X-AUSERNAME names a user refused for lack of
a licence (what real Jira sends there is unconfirmed; the token test also checks the
anonymous variant). Every secret a test uses is collected in SECRETS for the last test,
which looks for them in the logs, the metrics and Redis.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import urllib.request

import pytest
import redis

from tests.identity.helpers import (
    FORM,
    basic,
    client,
    cookie_of,
    fetch,
    login,
    metric,
    metrics_text,
    records,
    redis_dump,
    wait_until,
)

pytestmark = pytest.mark.slow

SECRETS: list[str] = []
STORM_USERS = [f"user{n:04d}" for n in range(21, 221)]  # 200 real usernames


@pytest.fixture(scope="module")
def jira(module_stack):
    return module_stack(
        product="jira",
        sim_args=["--users", "220", "--name-refused-users"],
        product_overrides={"inactivity": "3s"},
        # The tests play several client addresses through X-Forwarded-For, as nginx would.
        proxy_overrides={"trusted_proxies": ["127.0.0.1/32"], "replay_max_body": 4096},
    ).start()


def since(stack, seq: int) -> dict:
    with urllib.request.urlopen(f"{stack.sim_url}/__sim/state?since={seq}", timeout=10) as response:
        return json.load(response)


def seq_now(stack) -> int:
    return stack.sim_state(requests=False)["request_seq"]


def members(stack) -> set[str]:
    return set(stack.sim_state(requests=False)["members"])


def licensed_in_redis(stack, product: str = "jira") -> set[str]:
    db = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        return set(db.hkeys(f"sg:{{{product}}}:licensed"))
    finally:
        db.close()


async def make_token_upstream(stack, user: str) -> str:
    """A token made straight at the product, never seen by the proxy; its owner then
    loses the licence."""
    stack.sim_post("/__sim/members", {"add": [user]})
    async with client() as direct:
        await login(direct, stack.sim_url, user)
        async with direct.post(f"{stack.sim_url}/rest/pat/latest/tokens", json={"name": "cron"}) as created:
            token = (await created.json())["rawToken"]
    stack.sim_post("/__sim/members", {"remove": [user]})
    SECRETS.append(token)
    return token


async def test_token_created_through_the_ui_relicenses_its_owner_before_forwarding(jira):
    async with client() as browser:
        assert (await login(browser, jira.proxy_url, "alice")).status == 302
        SECRETS.extend([cookie_of(browser, "JSESSIONID"), cookie_of(browser, "seraph.rememberme.cookie")])
        async with browser.post(
            f"{jira.proxy_url}/rest/pat/latest/tokens", json={"name": "ci", "expirationDuration": 30}
        ) as created:
            assert created.status == 201
            token = (await created.json())["rawToken"]
    SECRETS.append(token)
    # The owner goes idle (inactivity 3 s) and loses the seat.
    assert await wait_until(lambda: "alice" not in members(jira), 20), jira.logs()
    seq = seq_now(jira)
    status, headers, _ = await fetch("GET", f"{jira.proxy_url}/rest/api/2/myself", {"Authorization": f"Bearer {token}"})
    assert status == 200 and headers["X-AUSERNAME"] == "alice", jira.logs()
    calls = records(since(jira, seq), path="/rest/api/2/myself")
    # Granted before forwarding: upstream saw one request, already licensed.
    assert [(c["via"], c["licensed"]) for c in calls] == [("bearer", True)]


async def test_unknown_token_of_an_unlicensed_user_succeeds_at_the_first_call_through_replay(jira):
    token = await make_token_upstream(jira, "bob")
    bearer = {"Authorization": f"Bearer {token}"}
    replayed = metric(jira.metrics_ports[0], "seatgate_replays_total", outcome="replayed")
    seq = seq_now(jira)
    async with client(cookies=False) as robot:
        for _ in range(2):
            async with robot.get(f"{jira.proxy_url}/rest/api/2/myself", headers=bearer) as me:
                assert me.status == 200 and me.headers["X-AUSERNAME"] == "bob", jira.logs()
    calls = records(since(jira, seq), path="/rest/api/2/myself")
    # Refused once for the licence, replayed after the grant; the owner is known from then on.
    assert [(c["status"], c["licensed"]) for c in calls] == [(401, False), (200, True), (200, True)]
    assert metric(jira.metrics_ports[0], "seatgate_replays_total", outcome="replayed") == replayed + 1

    # A product that names nobody in that refusal: nothing to grant, the 401 passes through.
    jira.sim_post("/__sim/config", {"name_refused": False})
    try:
        token = await make_token_upstream(jira, "carol")
        status, _, _ = await fetch("GET", f"{jira.proxy_url}/rest/api/2/myself", {"Authorization": f"Bearer {token}"})
        assert status == 401
        assert "carol" not in members(jira)
    finally:
        jira.sim_post("/__sim/config", {"name_refused": True})


async def test_saml_login_of_an_unlicensed_user_lands_licensed(jira):
    _, _, idp = await fetch("GET", f"{jira.proxy_url}/plugins/servlet/saml/auth?user=dave&os_destination=/browse/SSO-1")
    form = dict(re.findall(r'name="(SAMLResponse|RelayState)" value="([^"]*)"', idp))
    async with client() as browser:
        async with browser.post(
            f"{jira.proxy_url}/plugins/servlet/samlconsumer", data=form, allow_redirects=False
        ) as landed:
            assert landed.status == 302 and landed.headers["Location"] == "/browse/SSO-1", jira.logs()
            assert landed.headers["X-AUSERNAME"] == "dave"
        SECRETS.append(cookie_of(browser, "JSESSIONID"))
        async with browser.get(f"{jira.proxy_url}/browse/SSO-1") as page:
            assert page.status == 200 and page.headers["X-AUSERNAME"] == "dave"
    consumer = records(jira.sim_state(), path="/plugins/servlet/samlconsumer")
    assert [(c["user"], c["licensed"]) for c in consumer] == [("dave", True)]


async def test_basic_credentials_are_checked_upstream_first_then_granted_and_replayed(jira):
    seq = seq_now(jira)
    async with client(cookies=False) as api:
        for _ in range(2):
            async with api.get(f"{jira.proxy_url}/rest/api/2/myself", headers=basic("erin")) as me:
                assert me.status == 200 and me.headers["X-AUSERNAME"] == "erin", jira.logs()
    calls = records(since(jira, seq), user="erin", path="/rest/api/2/myself")
    # No seat before upstream checked the password; afterwards its keyed hash is trusted.
    assert [(c["status"], c["licensed"]) for c in calls] == [(401, False), (200, True), (200, True)]


async def test_unknown_session_refused_for_the_licence_is_granted_and_replayed_with_its_body(jira):
    sessions = {}
    for user in ("user0001", "user0002"):  # sessions made straight at the product, then unlicensed
        jira.sim_post("/__sim/members", {"add": [user]})
        async with client() as direct:
            await login(direct, jira.sim_url, user)
            sessions[user] = {"Cookie": f"JSESSIONID={cookie_of(direct, 'JSESSIONID')}"}
        jira.sim_post("/__sim/members", {"remove": [user]})
        SECRETS.append(sessions[user]["Cookie"].split("=", 1)[1])
    async with client(cookies=False) as browser:
        async with browser.post(
            f"{jira.proxy_url}/secure/AddComment.jspa",
            data="id=RPL-1&comment=first+words",
            headers={**sessions["user0001"], **FORM},
            allow_redirects=False,
        ) as posted:
            assert posted.status == 302 and posted.headers["Location"] == "/browse/RPL-1", jira.logs()
        async with browser.get(f"{jira.proxy_url}/browse/RPL-1", headers=sessions["user0001"]) as page:
            assert (await page.text()).count("first words") == 1  # the body went upstream once, and whole

        # A body larger than replay_max_body is not kept: the refusal stands, the seat is granted.
        too_large = metric(jira.metrics_ports[0], "seatgate_replays_total", outcome="too_large")
        body = "id=RPL-2&comment=" + "x" * 5000
        async with browser.post(
            f"{jira.proxy_url}/secure/AddComment.jspa",
            data=body,
            headers={**sessions["user0002"], **FORM},
            allow_redirects=False,
        ) as refused:
            assert refused.status == 403
        assert metric(jira.metrics_ports[0], "seatgate_replays_total", outcome="too_large") == too_large + 1
        async with browser.post(
            f"{jira.proxy_url}/secure/AddComment.jspa",
            data=body,
            headers={**sessions["user0002"], **FORM},
            allow_redirects=False,
        ) as retried:
            assert retried.status == 302


async def test_forged_identity_headers_change_nothing(jira):
    forged = {"X-AUSERNAME": "user0005", "X-AUSERID": "user0005"}
    wrong = f"wrong-{secrets.token_hex(8)}"
    SECRETS.append(wrong)
    async with client(cookies=False) as intruder:
        async with intruder.get(f"{jira.proxy_url}/browse/FRG-1", headers=forged, allow_redirects=False) as page:
            assert page.status == 302 and page.headers["X-AUSERNAME"] == "anonymous"
        async with intruder.post(
            f"{jira.proxy_url}/rest/api/2/issue", json={"fields": {"summary": "x"}}, headers=forged
        ) as created:
            assert created.status == 401
        async with intruder.get(
            f"{jira.proxy_url}/rest/api/2/myself", headers={**forged, **basic("user0006", wrong)}
        ) as me:
            assert me.status == 401
    await asyncio.sleep(0.5)
    db = redis.Redis.from_url(jira.redis_url, decode_responses=True)
    try:
        active = set(db.zrange("sg:{jira}:activity", 0, -1))
    finally:
        db.close()
    assert not {"user0005", "user0006"} & (members(jira) | licensed_in_redis(jira) | active)


async def test_app_link_requests_refresh_a_licensed_user_but_never_take_a_seat(jira):
    def link(user: str) -> dict[str, str]:
        return {
            "Authorization": f'OAuth oauth_consumer_key="confluence", oauth_token="", '
            f'xoauth_requestor_id="{user}", oauth_signature="not-checked"'
        }

    async with client(cookies=False) as server:
        async with server.get(f"{jira.proxy_url}/rest/api/2/myself", headers=link("user0003")) as refused:
            assert refused.status == 401
        assert "user0003" not in members(jira)
        async with client() as browser:
            await login(browser, jira.proxy_url, "user0004")
        # Only app-link traffic from now on, for longer than the inactivity period (3 s).
        end = time.monotonic() + 5
        while time.monotonic() < end:
            async with server.get(f"{jira.proxy_url}/rest/api/2/myself", headers=link("user0004")) as ok:
                assert ok.status == 200
            await asyncio.sleep(0.4)
        assert "user0004" in members(jira)


async def test_wrong_password_storm_leaves_no_one_licensed(jira):
    """1,000 wrong-password attempts over 200 real usernames from four addresses, as form
    logins, REST logins and Basic requests: nobody is licensed 5 s later, and a real user
    who logs in right in the middle of it gets in."""
    addresses = [f"10.9.0.{n}" for n in range(1, 5)]
    limit = asyncio.Semaphore(50)

    async def attempt(session, i: int) -> int:
        user, address = STORM_USERS[i % len(STORM_USERS)], addresses[i % len(addresses)]
        wrong = f"wrong-{secrets.token_hex(8)}"
        SECRETS.append(wrong)
        headers = {"X-Forwarded-For": address}
        async with limit:
            if i % 3 == 0:
                response = await login(session, jira.proxy_url, user, wrong, headers=headers)
                return response.status
            if i % 3 == 1:
                async with session.post(
                    f"{jira.proxy_url}/rest/auth/1/session", headers=headers, json={"username": user, "password": wrong}
                ) as response:
                    return response.status
            auth = basic(user, wrong)
            SECRETS.append(auth["Authorization"].split(" ", 1)[1])
            async with session.get(f"{jira.proxy_url}/rest/api/2/myself", headers={**headers, **auth}) as response:
                return response.status

    async def real_user() -> int:
        await asyncio.sleep(0.3)
        async with client() as browser:
            headers = {"X-Forwarded-For": addresses[0]}
            await login(browser, jira.proxy_url, "user0020", f"typo-{secrets.token_hex(4)}", headers=headers)
            response = await login(browser, jira.proxy_url, "user0020", headers=headers)
            return response.status

    refused_before = metric(jira.metrics_ports[0], "seatgate_claims_refused_total")
    async with client(cookies=False) as attacker:
        *statuses, real = await asyncio.gather(*(attempt(attacker, i) for i in range(1000)), real_user())
    storm_over = time.monotonic()
    assert set(statuses) <= {200, 401}, sorted(set(statuses))
    assert real == 302, jira.logs()  # logged in despite the storm (and its own typo)
    assert metric(jira.metrics_ports[0], "seatgate_claims_refused_total") > refused_before

    await asyncio.sleep(max(0.0, 5 - (time.monotonic() - storm_over)))
    storm = set(STORM_USERS)
    assert not storm & members(jira), sorted(storm & members(jira))
    assert not storm & licensed_in_redis(jira)
    # Seats granted ahead of upstream's check were rolled back, not left to the sweeper.
    status, audit = jira.admin("GET", "/api/v1/audit?product=jira&count=1000")
    assert status == 200
    granted = {e["user"] for e in audit if e["user"] in storm and e["action"] == "grant:granted"}
    revoked = {e["user"]: e["reason"] for e in audit if e["user"] in storm and e["action"] == "revoke"}
    assert set(revoked) == granted and set(revoked.values()) <= {"rollback"}, (granted, revoked)
    assert len(granted) <= 4 * 10  # four addresses, claim_rate_per_client = 10 a minute
    print(f"storm: {len(granted)} grants made ahead, all rolled back")


async def test_no_secret_reaches_logs_metrics_audit_or_redis(jira):
    # Secrets of this test's own, so that it also stands alone.
    async with client() as browser:
        wrong = f"wrong-{secrets.token_hex(8)}"
        await login(browser, jira.proxy_url, "user0007", wrong)
        await login(browser, jira.proxy_url, "user0007")
        async with browser.post(f"{jira.proxy_url}/rest/pat/latest/tokens", json={"name": "scan"}) as created:
            token = (await created.json())["rawToken"]
        SECRETS.extend([wrong, token, cookie_of(browser, "JSESSIONID"), cookie_of(browser, "seraph.rememberme.cookie")])
    status, _, _ = await fetch("GET", f"{jira.proxy_url}/rest/api/2/myself", {"Authorization": f"Bearer {token}"})
    assert status == 200
    await asyncio.sleep(1.0)  # write-behind flushes
    places = {
        "redis": redis_dump(jira.redis_url).decode("utf-8", "replace"),
        "proxy metrics": metrics_text(jira.metrics_ports[0]),
        "worker metrics": metrics_text(jira.admin_ports[0]),
        "audit": json.dumps(jira.admin("GET", "/api/v1/audit?count=1000")[1]),
        **{p.log_path.name: p.output() for p in jira.processes if p in jira.proxies or p in jira.workers},
    }
    assert len(SECRETS) > 10
    for place, text in places.items():
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{len(leaked)} secrets in {place}, e.g. {leaked[0][:6]}…"
