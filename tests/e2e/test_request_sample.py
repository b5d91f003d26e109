"""The proxy records the recent-request sample, and a rules edit measures itself on it.

Real stack (simulator, Redis, worker, proxy): requests through the proxy land in the
product's sample in Redis, in batches, with no user name, cookie or query value in it;
then `seatgate rules add` run as a process reports how many of them the new rule changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import pytest
import redis

from seatgate.schema import ProductKeys
from tests.e2e.test_core_loop import login, session
from tests.helpers import seatgate_cmd

pytestmark = pytest.mark.slow


async def work_as_alice(base: str) -> None:
    async with session() as client:
        assert (await login(client, base, "alice")).status in (200, 302)
        async with client.get(f"{base}/browse/PRJ-1?focusedCommentId=secretvalue42") as page:
            await page.read()


def test_proxy_fills_the_sample_and_an_edit_measures_itself(make_stack) -> None:
    stack = make_stack(product_overrides={"inactivity": "10m"}).start()
    asyncio.run(work_as_alice(stack.proxy_url))

    store = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    key = ProductKeys(stack.product).request_sample
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = store.lrange(key, 0, -1)
        if any('"/browse/PRJ-1"' in line for line in lines):
            break
        time.sleep(0.2)
    store.close()
    browse = [json.loads(line) for line in lines if '"/browse/PRJ-1"' in line]
    assert browse, lines
    assert browse[0]["q"] == ["focusedCommentId"] and browse[0]["u"].startswith("sampleuser:")
    text = "\n".join(lines)
    for secret in ("alice", "secretvalue42", "JSESSIONID"):
        assert secret not in text

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATGATE_")}
    done = subprocess.run(
        seatgate_cmd(
            "rules", "add", "--id", "browse-bg", "--description", "d", "--path", "/browse/{key}",
            "--verdict", "background", "--config", str(stack.tmp / "worker0.toml"),
        ),
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("blast radius: ") and "(" in first, first
    changed = int(first.split()[2])
    assert changed >= 1 and "activity → background" in first and "for 1 of 1 users" in first, first
