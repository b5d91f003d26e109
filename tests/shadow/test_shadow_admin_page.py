"""The admin page labels a shadow product and shows its would-be seats, peak and what-if
(headless Chromium against a real worker)."""

from __future__ import annotations

import time

import pytest

from tests.helpers import wait_until
from tests.ops_admin.test_admin_page_browser import WAIT_MS, browser  # noqa: F401 (fixture)
from tests.shadow.test_shadow_worker import ACTIVITY, product_status

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_shadow_product_is_labelled_with_its_would_be_figures(make_stack, redis_client, browser):  # noqa: F811
    stack = make_stack(product_overrides={"mode": "shadow", "inactivity": "10m"}).start(proxies=0)
    await redis_client.zadd(ACTIVITY, {"alice": time.time(), "bob": time.time()})
    assert await wait_until(lambda: product_status(stack)["seats_used"] == 2, 20)

    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"{stack.admin_url}/admin")
    await page.fill("#login-token", stack.admin_token)
    await page.click("#login-token-submit")
    card = page.locator("[data-product=jira]")
    await card.locator(".shadow-label", has_text="SHADOW").wait_for()
    assert await card.get_attribute("data-mode") == "shadow"
    text = await card.inner_text()
    assert "no licence is changed" in text and "would wait" in text
    assert "peak 2" in text and "what-if peak by inactivity: 15m" in text
    await page.locator("#licensed td.user", has_text="alice").wait_for()
    assert problems == []
