"""The blast radius of a rules edit, measured on the proxy's recent-request sample in Redis.

The proxy's writer (proxy_addon/request_sample.py) fills a real Redis; the CLI reads it
back before saving an edit. The sample must hold no secret: the test scans it.
"""

from __future__ import annotations

import pytest

from proxy_addon.request_sample import RequestSample
from seatgate.keyed_hash import KeyedHasher
from seatgate.rules import Rule, load_builtin_ruleset
from seatgate.rules.blast_radius import blast_radius
from seatgate.rules.sample import SampleLine
from tests.proxy_addon.support import state_of

SECRET = b"s" * 32
CONFIG = """
secret = "ssssssssssssssssssssssssssssssss"
[[products]]
name = "jira"
kind = "jira"
upstream = "http://127.0.0.1:1"
license_group = "jira-software-users"
"""

# (method, path, query, verdict, user): two users work on /rest/acme, one polls.
TRAFFIC = [
    ("GET", "/rest/acme/1/poll", "since=q7x9v&token=abc123", "activity", "alice"),
    ("GET", "/rest/acme/1/poll", "since=18", "activity", "alice"),
    ("GET", "/rest/acme/1/poll", "since=19", "activity", "bob"),
    ("GET", "/browse/ABC-1", "", "activity", "carol"),
    ("GET", "/rest/acme/1/poll", "", "activity", None),
    ("GET", "/display/~carol/Home", "", "activity", "carol"),
]


async def fill(redis_client, traffic=TRAFFIC) -> RequestSample:
    sample = RequestSample(redis_client, KeyedHasher(SECRET), interval=0.05)
    for method, path, query, verdict, user in traffic:
        sample.record("jira", method, path, query, verdict, state_of(user))
    assert await sample.flush()
    return sample


def test_blast_radius_counts_requests_and_users() -> None:
    hasher = KeyedHasher(SECRET)
    lines = [
        SampleLine("jira", m, p, tuple(q.split("=")[0] for q in query.split("&") if q), v, u and hasher.digest("u", u))
        for m, p, query, v, u in TRAFFIC
    ]
    before = load_builtin_ruleset()
    poll = Rule(id="acme.poll", description="d", path="/rest/acme/1/poll", verdict="background")
    after = before.add(poll, before="hidden-tab")
    radius = blast_radius(before, after, lines, {"jira": "jira"})
    assert (radius.requests, radius.changed, radius.users) == (6, 4, 3)
    assert (radius.users_to_background, radius.users_to_activity) == (2, 0)
    assert dict(radius.transitions) == {("activity", "background"): 4}
    back = blast_radius(after, before, lines, {"jira": "jira"})
    assert (back.changed, back.users_to_background, back.users_to_activity) == (4, 0, 2)
    # Only the query parameter present, not its value: the rule is measured as "since" present.
    since = Rule(id="acme.since", description="d", path="/rest/acme/**", query=("present:since",), verdict="passive")
    radius = blast_radius(before, before.add(since, before="hidden-tab"), lines, {"jira": "jira"})
    assert radius.changed == 3 and not radius.unmeasurable
    header = Rule(id="acme.h", description="d", any_path=True, headers=("x-acme=1",), verdict="background")
    radius = blast_radius(before, before.add(header), lines, {"jira": "jira"})
    assert radius.changed == 0 and radius.unmeasurable == ["acme.h"] and "not measurable" in radius.summary()


@pytest.fixture
def cli(rules_cli):
    return rules_cli(CONFIG)


def test_cli_shows_the_blast_radius_before_saving(cli, redis_url, tmp_path) -> None:
    import asyncio

    import redis.asyncio as aioredis

    async def fill_once() -> None:
        client = aioredis.from_url(redis_url)
        await fill(client)
        await client.aclose()

    asyncio.run(fill_once())
    add = ("add", "--id", "acme.poll", "--description", "d", "--path", "/rest/acme/1/poll", "--verdict", "background")
    code, out, err = cli(*add, "--before", "jira.board-poll")
    assert code == 0, err
    first, second = out.splitlines()
    assert first.startswith("blast radius: 4 of 6 requests change verdict (4 activity → background)")
    assert "for 2 of 3 users activity turns into background" in first
    assert second == "added rule acme.poll; rules are now version 2"
    code, out, _ = cli("remove", "acme.poll")
    assert code == 0 and "for 0 of 3 users" in out and "for 2 it turns into activity" in out

    log = tmp_path / "access_log.txt"
    log.write_text(
        '127.0.0.1 1x1x1 alice [21/Nov/2026:10:00:00 +0000] "GET /rest/acme/1/poll?since=1 HTTP/1.1" 200 10 5 "-" "x" "-"\n'  # noqa: E501
        '127.0.0.1 1x2x1 bob [21/Nov/2026:10:00:01 +0000] "GET /browse/A-1 HTTP/1.1" 200 10 5 "-" "x" "-"\n'
    )
    code, out, err = cli(*add, "--sample-log", str(log))
    assert code == 0, err
    assert out.startswith("blast radius: 1 of 2 requests change verdict") and "for 1 of 2 users" in out, out
    code, out, _ = cli("rollback", "3")  # the rules without acme.poll, measured on the sample again
    assert code == 0 and out.startswith("blast radius: 4 of 6 requests change verdict (4 background → activity)")
