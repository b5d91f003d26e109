"""The rules routes of the worker's admin API (on fakeredis: the routes, not Redis, are tested)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from grant_worker.admin_rules import rules_routes
from seatgate.rules import RulesStore

# The worker's token middleware stores the admin's name under this plain string key.
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")

NEW = {"id": "ours.poll", "description": "our poll", "path": "/rest/ours/1/poll", "verdict": "background"}


@pytest.fixture
async def client(fake_redis) -> AsyncIterator[TestClient]:
    @web.middleware
    async def as_alice(request: web.Request, handler):
        request["admin_user"] = "alice"
        return await handler(request)

    app = web.Application(middlewares=[as_alice])
    app.add_routes(
        rules_routes(RulesStore(fake_redis, known_products={"wiki": "confluence"}), defaults={"wiki": "passive"})
    )
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def call(client: TestClient, method: str, path: str, body=None, **kwargs) -> tuple[int, object]:
    response = await client.request(method, f"/api/v1/rules{path}", json=body, **kwargs)
    data = await response.json() if response.content_type == "application/json" else await response.text()
    return response.status, data


async def test_crud_move_and_audit(client) -> None:
    status, doc = await call(client, "GET", "")
    assert status == 200 and doc["version"] == 1 and doc["rules"][0]["id"] == "static.resources"
    status, done = await call(client, "POST", "", {"rule": NEW, "before": "hidden-tab", "expected_version": 1})
    assert (status, done["version"]) == (200, 2)
    status, shown = await call(client, "GET", "/ours.poll")
    assert shown["rule"] == NEW and shown["position"] == [r["id"] for r in doc["rules"]].index("hidden-tab") + 1
    # PUT replaces the whole rule: the path left out of the body is gone
    changed = {"description": "any path now", "verdict": "passive", "products": ["wiki"]}
    status, refused = await call(client, "PUT", "/ours.poll", {"rule": changed, "expected_version": 2})
    assert status == 400 and "no path or regex: the rule would match every request" in refused["error"]
    changed["any_path"] = True
    status, dry = await call(client, "PUT", "/ours.poll", {"rule": changed, "expected_version": 2, "dry_run": True})
    assert status == 200 and dry["dry_run"] and dry["blast_radius"]["requests"] == 0
    assert (await call(client, "GET", "/ours.poll"))[1]["rule"] == NEW  # a dry run saves nothing
    status, done = await call(client, "PUT", "/ours.poll", {"rule": changed, "expected_version": 2})
    assert (
        status == 200
        and "blast_radius" in done
        and (await call(client, "GET", "/ours.poll"))[1]["rule"] == {"id": "ours.poll", **changed}
    )
    assert (await call(client, "POST", "/ours.poll/move", {"before": None}))[0] == 200
    assert (await call(client, "GET", ""))[1]["rules"][-1]["id"] == "ours.poll"
    assert (await call(client, "DELETE", "/ours.poll?expected_version=4"))[0] == 200
    status, audit = await call(client, "GET", "/audit?count=10")
    assert [e["version"] for e in audit["entries"]] == [5, 4, 3, 2, 1]
    assert {e["who"] for e in audit["entries"][:4]} == {"alice"}
    assert audit["entries"][0]["changes"][0]["before"]["description"] == "any path now"
    status, versions = await call(client, "GET", "/versions")
    assert [v["version"] for v in versions["versions"]] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "", {"rule": {**NEW, "regex": "(", "path": None}}, "rule 'ours.poll': regex: invalid regular"),
        ("POST", "", {"rule": {**NEW, "verdict": "never"}}, "rule 'ours.poll': verdict: unknown verdict 'never'"),
        ("POST", "", {"rule": {**NEW, "id": "hidden-tab"}}, "rule 'hidden-tab': id: a rule with this id already"),
        ("POST", "", {"rule": {**NEW, "products": ["bamboo"]}}, "unknown product 'bamboo' (known: confluence, jira"),
        ("POST", "", {"rule": NEW, "expected_version": 7}, "the rules changed meanwhile (now version 1"),
        ("POST", "", {"rule": NEW, "before": "nope"}, "no rule with id 'nope'"),
        ("POST", "", {"rule": NEW, "after": "hiddentab"}, "no rule with id 'hiddentab' (did you mean 'hidden-tab'?)"),
        ("POST", "", {"rule": {**NEW, "methods": ["GTE"]}}, "unknown HTTP method 'GTE' (did you mean 'GET'?)"),
        ("POST", "", {"rule": {**NEW, "path": None}}, "rule 'ours.poll': no path or regex"),
        ("POST", "", {"rule": NEW, "dry_run": True, "before": "x"}, "no rule with id 'x'"),
        ("POST", "", [1, 2], "body must be a JSON object"),
        ("PUT", "/nope", {"rule": NEW}, "no rule with id 'nope'"),
        ("PUT", "/hidden-tab", {"rule": {"description": "d"}}, "rule 'hidden-tab': verdict: is required"),
        ("DELETE", "/nope", None, "no rule with id 'nope'"),
        ("POST", "/hidden-tab/move", {"before": "hidden-tab"}, "cannot move a rule next to itself"),
        ("POST", "/hidden-tab/move", {"before": 3}, "before: must be a rule id, or null"),
        ("GET", "/nope", None, "no rule with id 'nope'"),
        ("POST", "/rollback", {"version": 42}, "no rules version 42 in the history"),
        ("POST", "/rollback", {"version": "1"}, "version: required version number"),
        ("POST", "/explain", {"method": "GET", "path": "nope"}, "path: required, starting with /"),
        ("POST", "/explain", {"method": "GET", "path": "/x", "product": "bamboo"}, "unknown product 'bamboo'"),
        ("GET", "/export?format=xml", None, "format: one of toml, yaml, json, not 'xml'"),
    ],
)
async def test_refusals_are_400_and_change_nothing(client, method, path, body, message) -> None:
    before = await call(client, "GET", "")
    status, answer = await call(client, method, path, body)
    assert status == 400 and message in answer["error"], answer
    assert await call(client, "GET", "") == before


async def test_import_export_rollback(client) -> None:
    status, toml_text = await call(client, "GET", "/export?format=toml")
    assert status == 200 and toml_text.startswith("format = 1")
    status, yaml_text = await call(client, "GET", "/export?format=yaml")
    edited = yaml_text.replace("verdict: static\n", "verdict: passive\n", 1)
    response = await client.post(
        "/api/v1/rules/import?reason=softer", data=edited, headers={"Content-Type": "application/yaml"}
    )
    assert response.status == 200 and (await response.json())["version"] == 2
    assert (await call(client, "GET", "/static.resources"))[1]["rule"]["verdict"] == "passive"
    response = await client.post("/api/v1/rules/import?format=toml", data="rules = [")
    assert response.status == 400 and "invalid TOML" in (await response.json())["error"]
    assert (await call(client, "POST", "/rollback", {"version": 1}))[1]["version"] == 3
    assert (await call(client, "GET", "/static.resources"))[1]["rule"]["verdict"] == "static"


async def test_explain(client) -> None:
    status, answer = await call(
        client, "POST", "/explain", {"method": "GET", "path": "/rest/quickreload/latest/123", "query": "since=1"}
    )
    assert status == 200 and (answer["rule"], answer["verdict"]) == ("confluence.quick-reload", "background")
    status, answer = await call(
        client, "POST", "/explain", {"method": "GET", "path": "/index.action", "product": "wiki"}
    )
    assert (answer["rule"], answer["verdict"]) == (None, "passive")  # the configured default for wiki
    status, answer = await call(
        client,
        "POST",
        "/explain",
        {
            "method": "GET",
            "path": "/rest/greenhopper/1.0/xboard/work/allData.json?etag=1",
            "headers": {"X-Atlassian-Mau-Ignore": "true"},
        },
    )
    assert answer["rule"] == "hidden-tab"


async def test_dry_run_measures_the_sample_and_saves_nothing(client, fake_redis) -> None:
    from proxy_addon.request_sample import RequestSample
    from seatgate.keyed_hash import KeyedHasher
    from tests.proxy_addon.support import state_of

    sample = RequestSample(fake_redis, KeyedHasher(b"k" * 32))
    for user in ("alice", "bob", "alice"):
        sample.record("wiki", "GET", "/rest/ours/1/poll", "since=1", "passive", state_of(user))
    sample.record("wiki", "GET", "/display/X", "", "passive", state_of("carol"))
    assert await sample.flush()
    rule = {**NEW, "products": ["wiki"], "verdict": "activity"}
    status, dry = await call(client, "POST", "", {"rule": rule, "dry_run": True})
    assert status == 200, dry
    radius = dry["blast_radius"]
    assert (radius["requests"], radius["changed"], radius["users"]) == (4, 3, 3)
    assert (radius["users_to_activity"], radius["users_to_background"]) == (2, 0)
    assert radius["summary"].startswith("blast radius: 3 of 4 requests change verdict (3 passive → activity)")
    assert (await call(client, "GET", "/ours.poll"))[0] == 400  # not saved
