"""`seatgate status` of a shadow product: would-be figures under their own keys, labelled SHADOW."""

from __future__ import annotations

from grant_worker import status
from seatgate.schema import ProductKeys
from seatgate.settings import load_settings

NOW = 1_700_000_000.0


def settings(redis_url: str, mode: str):
    product = {
        "name": "jira",
        "kind": "jira",
        "upstream": "http://127.0.0.1:1",
        "license_group": "jira-software-users",
        "mode": mode,
    }
    return load_settings(None, {"redis_url": redis_url, "products": [product]})


async def seed(redis_client) -> None:
    shadow, real = ProductKeys("jira", shadow=True), ProductKeys("jira")
    await redis_client.hset(shadow.licensed, mapping={"alice": NOW - 100, "dave": NOW - 50})
    await redis_client.zadd(shadow.queue, {"erin": NOW - 5})
    await redis_client.hset(shadow.peak, mapping={"peak": 3, "peak_at": NOW - 60, "since": NOW - 3600})
    await redis_client.zadd(real.activity, {"alice": NOW - 30, "dave": NOW - 10})
    await redis_client.hset(real.whatif, mapping={"since": NOW - 3600, "900:peak": 4, "900:now": 2})
    await redis_client.hset(real.licensed, "carol", NOW)  # a real grant, from enforce mode


async def test_shadow_status_reads_the_would_be_state(redis_client, redis_url):
    await seed(redis_client)
    doc = await status.collect(redis_client, settings(redis_url, "shadow"), NOW)
    p = doc["products"][0]
    assert p["mode"] == "shadow" and p["seats_used"] == 2
    assert [(u["user"], u["idle_seconds"]) for u in p["users"]] == [("dave", 10.0), ("alice", 30.0)]
    assert [q["user"] for q in p["queue"]] == ["erin"]
    assert (p["peak_seats"], p["peak_at"], p["peak_since"]) == (3, NOW - 60, NOW - 3600)
    what_if = {w["inactivity_minutes"]: (w["peak_seats"], w["seats_now"]) for w in p["what_if"]["periods"]}
    assert what_if == {15: (4, 2), 30: (0, 0), 60: (0, 0)}
    text = status.render(doc)
    assert text.startswith("SHADOW (observing only: would-be seats, no licence changed) jira")
    assert "2 / no cap seats would be used, 1 would be waiting, peak 3 at" in text
    assert "would be waiting: erin" in text and "15m: 4 (now 2)" in text


async def test_enforce_status_never_shows_the_would_be_state(redis_client, redis_url):
    await seed(redis_client)
    p = (await status.collect(redis_client, settings(redis_url, "enforce"), NOW))["products"][0]
    assert p["mode"] == "enforce" and [u["user"] for u in p["users"]] == ["carol"]
    assert p["queue"] == [] and p["peak_seats"] == 0
    assert "SHADOW" not in status.render({"products": [p]})
