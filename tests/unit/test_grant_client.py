"""Waits for a grant end when the seat is seen after the events channel comes back."""

from __future__ import annotations

import asyncio

from fakeredis import FakeAsyncRedis

from proxy_addon.grant_client import TIMEOUT, GrantClient
from seatgate.schema import Event


async def test_reconnecting_settles_the_waits_of_users_licensed_meanwhile() -> None:
    client = GrantClient(FakeAsyncRedis(decode_responses=True), inflight_ttl=30)

    def ask(user: str, deadline: float) -> asyncio.Task:
        return asyncio.create_task(client.request("jira", user, source="basic", confirmed=True,
                                                  client="192.0.2.1", deadline=deadline))

    alice, bob = ask("alice", 10), ask("bob", 1)
    await asyncio.sleep(0.2)  # both asked; their replies were published while nobody listened
    assert not alice.done() and not bob.done()
    client.settle_licensed(lambda product, user: user == "alice")
    async with asyncio.timeout(5):
        granted = await alice
    assert granted.status == Event.GRANTED and granted.request_id
    assert (await bob).status == TIMEOUT  # no seat seen: waits out its deadline as before
