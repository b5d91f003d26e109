"""RulesStore on fakeredis: seeding, versions, audit, conflicts, rollback."""

from __future__ import annotations

import asyncio

import pytest

from seatgate.rules import Rule, RuleError, RulesStore, load_builtin_ruleset
from seatgate.schema import GlobalKeys

EXTRA = Rule(id="custom.poll", description="our plugin's poll", path="/rest/ours/1/poll", verdict="background")


async def test_load_seeds_builtin_once(fake_redis) -> None:
    store = RulesStore(fake_redis)
    version, ruleset = await store.load()
    assert (version, ruleset) == (1, load_builtin_ruleset())
    assert (await store.load())[0] == 1
    [entry] = await store.audit()
    assert (entry["version"], entry["who"], entry["reason"]) == (1, "seatgate", "built-in catalogue")


async def test_save_bumps_version_audits_and_publishes(fake_redis) -> None:
    store = RulesStore(fake_redis)
    version, ruleset = await store.load()
    pubsub = fake_redis.pubsub()
    await pubsub.subscribe(GlobalKeys.rules_changed)
    await pubsub.get_message(timeout=1)  # subscribe confirmation
    new_version = await store.save(
        ruleset.add(EXTRA, before="hidden-tab"), who="alice", reason="add poll", expected_version=version
    )
    assert new_version == 2
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
    assert message is not None and message["data"] == "2"
    await pubsub.aclose()
    assert (await store.read())[1].get("custom.poll") == EXTRA
    latest = (await store.audit())[0]
    assert latest["who"] == "alice" and latest["reason"] == "add poll" and latest["previous_version"] == 1
    assert {"rule": "custom.poll", "before": None, "after": EXTRA.to_dict()} in latest["changes"]
    assert [v["version"] for v in await store.versions()] == [2, 1]


async def test_stale_edit_is_refused_and_nothing_changes(fake_redis) -> None:
    store = RulesStore(fake_redis)
    version, ruleset = await store.load()
    await store.save(ruleset.remove("static.favicon"), who="bob")
    with pytest.raises(RuleError, match=r"the rules changed meanwhile \(now version 2"):
        await store.save(ruleset.add(EXTRA), who="alice", expected_version=version)
    assert (await store.read())[0] == 2 and "custom.poll" not in (await store.read())[1].ids()


async def test_identical_save_is_a_no_op(fake_redis) -> None:
    store = RulesStore(fake_redis)
    version, ruleset = await store.load()
    assert await store.save(ruleset, who="alice") == version
    assert len(await store.audit()) == 1


async def test_rollback_makes_a_new_version_with_the_old_rules(fake_redis) -> None:
    store = RulesStore(fake_redis)
    _, original = await store.load()
    await store.save(original.add(EXTRA), who="alice")
    assert await store.rollback(1, who="bob") == 3
    assert (await store.read())[1] == original
    assert (await store.audit())[0]["reason"] == "rollback to version 1"
    with pytest.raises(RuleError, match="no rules version 9 in the history"):
        await store.rollback(9, who="bob")


async def test_unknown_products_refused(fake_redis) -> None:
    _, ruleset = await RulesStore(fake_redis).load()
    named = ruleset.add(EXTRA.model_copy(update={"products": ("wiki",)}))
    with pytest.raises(RuleError, match="unknown product 'wiki'"):
        await RulesStore(fake_redis).save(named, who="alice")
    assert await RulesStore(fake_redis, known_products=["wiki"]).save(named, who="alice") == 2


async def test_invalid_stored_document_is_reported(fake_redis) -> None:
    await fake_redis.hset(GlobalKeys.rules, mapping={"version": 7, "doc": '{"rules": [{"id": "x"}]}'})
    with pytest.raises(RuleError, match="stored rules version 7 are invalid: rule 'x': description: is required"):
        await RulesStore(fake_redis).read()
    # ...and a save repairs it
    assert await RulesStore(fake_redis).save(load_builtin_ruleset(), who="admin") == 8


async def test_concurrent_saves_get_distinct_versions(fake_redis) -> None:
    store = RulesStore(fake_redis)
    _, base = await store.load()
    rules = [EXTRA.model_copy(update={"id": f"r{i}"}) for i in range(8)]
    versions = await asyncio.gather(*(store.save(base.add(r), who=f"u{i}") for i, r in enumerate(rules)))
    assert sorted(versions) == list(range(2, 10))
    assert len(await store.audit(count=50)) == 9
