"""A request that comes in while the addon is still starting is not forwarded ungated."""

from __future__ import annotations

import asyncio

from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import tflow

from proxy_addon.addon import SeatGate
from seatgate.settings import Settings


def gate(failure_mode: str) -> SeatGate:
    settings = Settings.model_validate(
        {
            "secret": "s" * 32,
            "proxy": {"grant_timeout": 0.3, "failure_mode": failure_mode},
            "products": [
                {
                    "name": "jira",
                    "kind": "jira",
                    "upstream": "http://127.0.0.1:8080",
                    "license_group": "jira-software-users",
                }
            ],
        }
    )
    addon = SeatGate(settings)
    addon.configure(set())
    return addon


def flow():
    f = tflow.tflow()
    f.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:8080")
    return f


async def test_waits_for_the_start_and_then_fails_closed() -> None:
    addon = gate("closed")
    f = flow()
    waiting = addon.request(f)
    assert waiting is not None  # not forwarded at once
    await asyncio.wait_for(waiting, 2)
    assert f.response is not None and f.response.status_code == 503


async def test_fail_open_forwards_after_the_deadline() -> None:
    addon = gate("open")
    f = flow()
    await asyncio.wait_for(addon.request(f), 2)
    assert f.response is None
