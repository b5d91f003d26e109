"""The admin page in headless Chromium against a real stack (simulator, Redis, worker, proxy)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.e2e.test_core_loop import login, session
from tests.helpers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Markup in a username (the audit log keeps whatever name a client claimed) must stay text.
HOSTILE_USER = "<img src=x onerror=window.__pwned=1>"
RULE_ID = "ops-test-poller"
WAIT_MS = 10_000


@pytest.fixture
async def browser() -> AsyncIterator:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def stored_rules(stack) -> list[dict]:
    status, doc = stack.admin("GET", "/api/v1/rules")
    assert status == 200, doc
    return doc["rules"]


def rule_ids(stack) -> list[str]:
    return [rule["id"] for rule in stored_rules(stack)]


async def test_admin_page(make_stack, browser):
    # Long inactivity: nobody is swept out while the page is looked at.
    stack = make_stack(product_overrides={"inactivity": "10m"}).start()
    async with session() as client:
        assert (await login(client, stack.proxy_url, "alice")).headers.get("X-Seraph-LoginReason") == "OK"
    assert stack.admin("POST", "/api/v1/grants", {"user": "bob", "product": "jira"})[0] == 200
    assert stack.admin("POST", "/api/v1/grants", {"user": HOSTILE_USER, "product": "jira"})[0] == 409
    ARTIFACTS.mkdir(exist_ok=True)

    # A zone other than the server's: the page must say which zone its times are in.
    page = await browser.new_page(viewport={"width": 1300, "height": 1000}, timezone_id="Europe/Berlin")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.set_default_timeout(WAIT_MS)

    await page.goto(f"{stack.admin_url}/admin")
    await page.locator("#login-view").wait_for()
    await page.fill("#login-token", "not-the-token")
    await page.click("#login-token-submit")
    await page.locator("#login-error", has_text="wrong admin token").wait_for()
    await page.fill("#login-token", stack.admin_token)
    await page.click("#login-token-submit")

    # Seats, licensed users with their source, the audit and the chart.
    await page.locator("#licensed td.user", has_text="alice").wait_for()
    assert await page.locator("[data-product=jira] .seats").inner_text() == "2 / 9999"
    alice = page.locator("#licensed tr", has=page.locator("td.user", has_text="alice"))
    assert "login" in await alice.inner_text()
    bob = page.locator("#licensed tr", has=page.locator("td.user", has_text="bob"))
    assert "api" in await bob.inner_text()
    await page.locator("#audit td.user", has_text=HOSTILE_USER).wait_for()
    assert await page.locator("#audit img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    audit_time = await page.locator("#audit tbody tr td.mono").first.inner_text()
    assert re.search(r"GMT[+-]\d|CET|CEST", audit_time), audit_time
    licensed_since = await alice.locator("td").nth(4).inner_text()
    assert re.search(r"GMT[+-]\d|CET|CEST", licensed_since), licensed_since
    assert await page.locator("#latency-chart svg circle").count() >= 2
    assert "grants" in await page.locator("#latency-summary").inner_text()

    # Rules editor: add before the first rule, explain, test a pasted request, reorder, remove.
    await page.locator("#rules tbody tr[data-rule]").first.wait_for()
    await page.click("#rule-new")
    await page.fill("#rule-id", RULE_ID)
    await page.fill("#rule-description", "Polling of the ops test plugin")
    await page.select_option("#rule-verdict", "background")
    await page.fill("#rule-methods", "get")
    await page.fill("#rule-pattern", "/rest/opstest/{id}/poll")
    await page.select_option("#rule-position", index=0)
    await page.click("#rule-save")
    # The first click measures the edit on recent traffic; the second saves it.
    await page.locator("#rule-impact-text", has_text="blast radius").wait_for()
    assert RULE_ID not in rule_ids(stack)
    await page.click("#rule-save")
    await page.locator(f"#rules tr[data-rule='{RULE_ID}']").wait_for()
    assert rule_ids(stack)[0] == RULE_ID
    assert stack.admin("GET", "/api/v1/rules/audit")[1]["entries"][0]["who"] == "token"  # the page's session

    await page.locator(f"#rules tr[data-rule='{RULE_ID}'] [data-action=edit]").click()
    assert await page.input_value("#rule-pattern") == "/rest/opstest/{id}/poll"
    await page.fill("#rule-description", "Polling of the ops test plugin, edited")
    await page.click("#rule-save")
    await page.locator("#rule-impact-text", has_text="blast radius").wait_for()
    await page.click("#rule-save")
    await page.locator(f"#rules tr[data-rule='{RULE_ID}']", has_text="edited").wait_for()
    assert stored_rules(stack)[0]["description"] == "Polling of the ops test plugin, edited"
    assert stored_rules(stack)[0]["path"] == "/rest/opstest/{id}/poll"

    await page.fill("#explain-path", "/rest/opstest/7/poll?since=1")
    await page.click("#explain-submit")
    await page.locator("#explain-rule", has_text=RULE_ID).wait_for()
    assert await page.locator("#explain-verdict").inner_text() == "background"
    await page.fill(
        "#paste-request", "POST /rest/opstest/8/poll HTTP/1.1\nHost: jira.example.com\nCookie: JSESSIONID=abc\n\n{}"
    )
    await page.click("#paste-submit")
    # POST does not match a GET-only rule: the explanation must change with the pasted method.
    await page.locator("#explain-result", has_text="POST /rest/opstest/8/poll").wait_for()
    assert await page.locator("#explain-rule", has_text=RULE_ID).count() == 0
    await page.fill("#paste-request", "GET http://jira.example.com/rest/opstest/8/poll HTTP/1.1\nHost: x\n")
    await page.click("#paste-submit")
    await page.locator("#explain-rule", has_text=RULE_ID).wait_for()
    await page.screenshot(path=str(ARTIFACTS / "admin-page.png"), full_page=True)

    # A rule without path or regex: measured, then saved only once "every path" is confirmed.
    await page.click("#rule-new")
    await page.fill("#rule-id", "ops-test-everything")
    await page.fill("#rule-description", "every HEAD request")
    await page.fill("#rule-methods", "HEAD")
    await page.select_option("#rule-verdict", "passive")
    await page.select_option("#rule-pattern-kind", "any")
    await page.select_option("#rule-position", "__end")
    await page.click("#rule-save")
    await page.locator("#rule-any-path-warning").wait_for()
    await page.click("#rule-save")
    await page.locator("#rules-error", has_text="I mean every path").wait_for()
    assert "ops-test-everything" not in rule_ids(stack)
    await page.check("#rule-any-path-confirm")
    await page.click("#rule-save")
    await page.locator("#rules tr[data-rule='ops-test-everything']").wait_for()
    assert stored_rules(stack)[-1] == {
        "id": "ops-test-everything",
        "description": "every HEAD request",
        "methods": ["HEAD"],
        "any_path": True,
        "verdict": "passive",
    }

    second = rule_ids(stack)[1]
    down = page.locator(f"#rules tr[data-rule='{RULE_ID}'] [data-action=down]")
    await down.click()
    await page.locator("#rules-impact", has_text="blast radius").wait_for()
    assert rule_ids(stack)[0] == RULE_ID
    await down.click()  # the second click confirms
    await page.locator("#rules tbody tr").nth(0).and_(page.locator(f"[data-rule='{second}']")).wait_for()
    assert rule_ids(stack)[:2] == [second, RULE_ID]
    remove = page.locator(f"#rules tr[data-rule='{RULE_ID}'] [data-action=remove]")
    await remove.click()
    await remove.click()  # the second click confirms
    await page.locator(f"#rules tr[data-rule='{RULE_ID}']").wait_for(state="detached")
    assert RULE_ID not in rule_ids(stack)

    # Log out: the API refuses the page from then on.
    await page.click("#logout")
    await page.locator("#login-view").wait_for()
    assert await page.evaluate("fetch('/api/v1/status').then(r => r.status)") == 401

    # Upstream credentials: only an administrator's, and only the right password.
    for user, password in (("admin", "wrong"), ("alice", "alice")):
        await page.evaluate("document.getElementById('login-error').textContent = ''")
        await page.fill("#login-username", user)
        await page.fill("#login-password", password)
        await page.click("#login-upstream-submit")
        await page.locator("#login-error", has_text="not an administrator").wait_for()
    await page.screenshot(path=str(ARTIFACTS / "admin-login.png"))
    await page.fill("#login-username", "admin")
    await page.fill("#login-password", "admin")
    await page.click("#login-upstream-submit")
    await page.locator("#whoami", has_text="logged in as admin").wait_for()
    await page.locator("#licensed td.user", has_text="alice").wait_for()
    assert not problems, problems
