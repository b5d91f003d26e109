"""The pages' own JavaScript in headless Chromium: login, polls, hidden-tab header, real actions."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from seatgate_simulator import STATE_KEY, SimConfig, create_app
from seatgate_simulator.state import SimState

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, SimState]]:
    app = create_app(SimConfig(product="jira", poll_interval=0.2))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state = app[STATE_KEY]
    state.add_member("alice", state.license_group)
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", state
    await runner.cleanup()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh installs it)")
async def test_pages_poll_and_act_in_a_browser(served) -> None:
    from playwright.async_api import async_playwright

    base, state = served
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{base}/jira/servicedesk/projects/SD/queues/custom/1")
            assert "/login.jsp?os_destination=" in page.url
            await page.fill("#login-form-username", "alice")
            await page.fill("#login-form-password", "alice")
            await page.click("#login-form-submit")
            await page.wait_for_selector("#queue", timeout=10_000)
            await page.wait_for_function("window.seatgateSim.polls >= 6", timeout=10_000)

            await page.goto(f"{base}/browse/SIM-1")
            await page.fill("#comment-body", "from the browser")
            await page.click("#comment-submit")
            await page.wait_for_selector("#issue-comments li", timeout=10_000)
            await page.click("#transition-button")
            await page.wait_for_function(
                "document.getElementById('issue-status').textContent === 'In Progress'", timeout=10_000
            )

            # A hidden tab marks every request it makes, as the analytics client does.
            hidden = await browser.new_page()
            await hidden.context.add_cookies(await page.context.cookies())
            await hidden.add_init_script("Object.defineProperty(document, 'hidden', {get: () => true});")
            await hidden.goto(f"{base}/secure/RapidBoard.jspa?rapidView=1")
            await hidden.wait_for_function("window.seatgateSim.hiddenPolls >= 4", timeout=10_000)
            assert errors == []
        finally:
            await browser.close()

    paths = {r["path"] for r in state.requests if r["user"] == "alice"}
    assert {
        "/rest/servicedesk/1/servicedesk/SD/queues/poll",
        "/rest/servicedesk/1/servicedesk/SD/issuelist/updated",
        "/rest/analytics/1.0/publish/bulk",
        "/secure/AddComment.jspa",
        "/rest/api/2/issue/SIM-1/transitions",
    } <= paths
    board = [r for r in state.requests if r["path"].endswith("allData.json")]
    assert board and all(r["mau_ignore"] for r in board)
    assert "etag=" not in board[0]["query"] and "etag=" in board[-1]["query"]
    assert state.issue("SIM-1").status == "In Progress"
