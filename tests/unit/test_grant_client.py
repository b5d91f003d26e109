"""Waits for a grant end when the seat is seen after the events channel comes back."""

from __future__ import annotations

import asyncio

from fakeredis import FakeAsyncRedis

from proxy_addon.grant_client import TIMEOUT, GrantClient
from seatgate.schema import Event, ProductKeys


async def test_reconnecting_settles_the_waits_of_users_licensed_meanwhile() -> None:
    client = GrantClient(FakeAsyncRedis(decode_responses=True), inflight_ttl=30)

    def ask(user: str, deadline: float) -> asyncio.Task:
        return asyncio.create_task(
            client.request("jira", user, source="basic", confirmed=True, client="192.0.2.1", deadline=deadline)
        )

    alice, bob = ask("alice", 10), ask("bob", 1)
    await asyncio.sleep(0.2)  # both asked; their replies were published while nobody listened
    assert not alice.done() and not bob.done()
    client.settle_licensed(lambda product, user: user == "alice")
    async with asyncio.timeout(5):
        granted = await alice
    assert granted.status == Event.GRANTED and granted.request_id
    assert (await bob).status == TIMEOUT  # no seat seen: waits out its deadline as before


async def test_a_wait_that_hears_nothing_looks_for_the_seat_once() -> None:
    redis = FakeAsyncRedis(decode_responses=True)
    client = GrantClient(redis, inflight_ttl=30, check_after=0.2)
    waiting = asyncio.create_task(
        client.request("jira", "alice", source="basic", confirmed=True, client="192.0.2.1", deadline=5)
    )
    await asyncio.sleep(0.05)
    # The worker granted, but its reply went out before this proxy listened.
    await redis.hset(ProductKeys("jira").licensed, "alice", "1")
    async with asyncio.timeout(2):
        outcome = await waiting
    assert outcome.status == Event.GRANTED and outcome.detail == "licensed (checked)"
    started = asyncio.get_running_loop().time()
    nobody = await client.request("jira", "bob", source="basic", confirmed=True, client="192.0.2.1", deadline=0.6)
    assert nobody.status == TIMEOUT  # no seat: the wait still ends at its deadline
    assert asyncio.get_running_loop().time() - started >= 0.55
