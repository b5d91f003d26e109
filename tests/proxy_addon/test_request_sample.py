"""request_sample.py: the recent-request sample is bounded, newest first, secret-free, and
best-effort (static requests left out, a refused batch dropped, never raised)."""

from __future__ import annotations

import json

from proxy_addon.request_sample import RequestSample
from seatgate.keyed_hash import KeyedHasher
from seatgate.rules.sample import read_sample
from seatgate.schema import REQUEST_SAMPLE_MAXLEN, ProductKeys
from tests.proxy_addon.support import state_of
from tests.rules.test_blast_radius import SECRET, TRAFFIC, fill


async def test_sample_is_bounded_newest_first_and_secret_free(redis_client) -> None:
    await fill(redis_client)
    raw = await redis_client.lrange(ProductKeys("jira").request_sample, 0, -1)
    assert len(raw) == len(TRAFFIC)
    text = "\n".join(raw)
    for secret in ("alice", "bob", "carol", "abc123", "q7x9v", "token=", "since="):
        assert secret not in text, (secret, text)
    anonymous = json.loads(raw[1])
    assert anonymous["p"] == "/rest/acme/1/poll" and "u" not in anonymous and anonymous["v"] == "activity"
    assert json.loads(raw[-1])["q"] == ["since", "token"]  # names only, in order
    assert json.loads(raw[0])["p"] == "/display/~user/Home"  # a personal space names its user
    lines = await read_sample(redis_client, ["jira"])
    assert len({line.user for line in lines if line.user}) == 3  # three users, told apart by keyed hash

    many = [("GET", f"/browse/X-{i}", "", "activity", state_of("dave")) for i in range(REQUEST_SAMPLE_MAXLEN + 10)]
    sample = RequestSample(redis_client, KeyedHasher(SECRET), buffer_max=len(many))
    for line in many:
        sample.record("jira", *line)
    assert await sample.flush()
    assert await redis_client.llen(ProductKeys("jira").request_sample) == REQUEST_SAMPLE_MAXLEN
    newest = json.loads(await redis_client.lindex(ProductKeys("jira").request_sample, 0))
    assert newest["p"] == f"/browse/X-{len(many) - 1}"


async def test_static_is_left_out_and_the_user_is_read_at_flush(redis_client) -> None:
    sample = RequestSample(redis_client, KeyedHasher(SECRET))
    state = state_of(None)
    sample.record("jira", "GET", "/s/1/_/x.js", "", "static", state_of("alice"))
    sample.record("jira", "GET", "/browse/A-1", "", "activity", state)
    state.identity = state_of("alice").identity  # the gate learns the user after classifying
    assert await sample.flush()
    (line,) = await read_sample(redis_client, ["jira"])
    assert line.path == "/browse/A-1" and line.user == KeyedHasher(SECRET).digest("sampleuser", "alice")


async def test_sample_writer_survives_an_unreachable_redis() -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    sample = RequestSample(client, KeyedHasher(SECRET))
    sample.record("jira", "GET", "/x", "", "activity", state_of("alice"))
    assert await sample.flush() is False  # dropped, not raised
    await client.aclose()
