"""The /__sim API and fault injection."""

from __future__ import annotations

import time

from tests.simulator.conftest import ADMIN, basic, form_login, license_user, sim_state, state

ADD = "/rest/api/2/group/user?groupname=jira-software-users"


async def test_state_shape_and_request_log(jira) -> None:
    await jira.get("/rest/api/2/myself", headers=basic("alice"))
    await jira.get("/rest/api/2/myself", headers=ADMIN)
    jira.session.cookie_jar.clear()  # Basic opened a session, which would win over the next credentials
    await jira.get("/rest/api/2/myself", headers=basic("bob", "wrong"))
    await jira.get("/status", headers={"x-atlassian-mau-ignore": "true"})
    snapshot = await sim_state(jira)
    assert snapshot["license_group"] == "jira-software-users" and snapshot["members"] == ["admin"]
    assert snapshot["max_members"] == 1 and snapshot["seats"]["total"] == 10000
    records = snapshot["requests"]
    assert all(not r["path"].startswith("/__sim") for r in records)
    assert [(r["method"], r["path"], r["user"], r["licensed"]) for r in records] == [
        ("GET", "/rest/api/2/myself", "alice", False),  # authenticated but not authorised
        ("GET", "/rest/api/2/myself", "admin", True),
        ("GET", "/rest/api/2/myself", None, False),
        ("GET", "/status", None, False),
    ]
    assert records[2]["claimed"] == "bob" and records[2]["status"] == 401
    assert records[3]["mau_ignore"] is True
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    later = await sim_state(jira, since=2)
    assert [r["seq"] for r in later["requests"]] == [3, 4]
    assert [r["seq"] for r in (await sim_state(jira, requests=1))["requests"]] == [4]
    assert (await jira.get("/__sim/state?requests=x")).status == 400


async def test_licensed_flag_is_taken_when_the_request_arrives(jira) -> None:
    await license_user(jira, "alice")
    await form_login(jira, "alice")
    await jira.get("/rest/api/2/myself")
    await jira.post("/__sim/members", json={"remove": ["alice"]})
    await jira.get("/rest/api/2/myself")
    records = (await sim_state(jira))["requests"]
    assert [(r["user"], r["licensed"], r["status"]) for r in records[-2:]] == [
        ("alice", True, 200),
        ("alice", False, 403),
    ]


async def test_members_endpoint(jira) -> None:
    response = await jira.post("/__sim/members", json={"add": ["alice", "bob"], "remove": ["admin"]})
    body = await response.json()
    assert body["members"] == ["alice", "bob"] and body["max_members"] == 3
    assert (await jira.post("/__sim/members", json={"add": ["nobody"]})).status == 400
    assert (await jira.post("/__sim/members", json={"add": "alice"})).status == 400
    assert (await jira.post("/__sim/members", json={"other": []})).status == 400


async def test_reset_restores_everything(jira) -> None:
    await license_user(jira, "alice")
    await form_login(jira, "alice", remember=True)
    await jira.post("/rest/pat/latest/tokens", json={"name": "t"})
    await jira.post("/__sim/faults", json={"latency_ms": 5})
    await jira.post("/__sim/config", json={"ausername": False, "seats": 3})
    assert (await jira.post("/__sim/reset")).status == 200
    snapshot = await sim_state(jira)
    assert snapshot["members"] == ["admin"] and snapshot["max_members"] == 1
    assert snapshot["sessions"] == 0 and snapshot["tokens"] == 0 and snapshot["requests"] == []
    assert snapshot["directory_calls"] == [] and snapshot["faults"]["latency_ms"] == 0
    assert snapshot["config"]["ausername"] is True and snapshot["seats"]["total"] == 10000
    assert not state(jira).remember_me


async def test_config_endpoint_validation(jira) -> None:
    for bad in ({"ausername": "yes"}, {"seats": -1}, {"confluence_api": "soap"}, {"colour": 1}, {"poll_interval": 0}):
        assert (await jira.post("/__sim/config", json=bad)).status == 400, bad
    ok = await jira.post("/__sim/config", json={"seats": 5, "poll_interval": 1.5})
    assert (await ok.json())["seats"] == 5 and state(jira).poll_interval == 1.5


async def test_fail_rate_breaks_directory_calls_only(jira) -> None:
    assert (await jira.post("/__sim/faults", json={"fail_rate": 1.0})).status == 200
    failed = await jira.post(ADD, json={"name": "alice"}, headers=ADMIN)
    assert failed.status == 500 and not state(jira).is_licensed("alice")
    assert (await jira.get("/rest/api/2/myself", headers=ADMIN)).status == 200  # not a directory call
    calls = (await sim_state(jira))["directory_calls"]
    assert calls[-1] == calls[-1] | {"op": "add", "user": "alice", "status": 500}
    assert (await jira.post("/__sim/faults", json={"fail_rate": 2})).status == 400


async def test_partial_fail_rate_is_random(make_client) -> None:
    client = await make_client(product="jira", fail_rate=0.5, seed=7)
    statuses = [(await client.get("/rest/api/2/group/member?groupname=staff", headers=ADMIN)).status for _ in range(40)]
    assert {200, 500} == set(statuses)


async def test_latency_and_timeout_apply_to_directory_calls(jira) -> None:
    # A latency long enough that a loaded machine cannot blur directory and other calls.
    await jira.post("/__sim/faults", json={"latency_ms": 1500})
    started = time.monotonic()
    assert (await jira.get("/rest/api/2/group/member?groupname=staff", headers=ADMIN)).status == 200
    assert time.monotonic() - started >= 1.49
    started = time.monotonic()
    await jira.get("/rest/api/2/myself", headers=ADMIN)
    assert time.monotonic() - started < 1.0

    # A "timeout" hangs, then performs the call: the client cannot know whether it landed.
    await jira.post("/__sim/faults", json={"latency_ms": 0, "timeout_rate": 1.0, "timeout_s": 0.3})
    started = time.monotonic()
    response = await jira.post(ADD, json={"name": "bob"}, headers=ADMIN)
    assert time.monotonic() - started >= 0.29 and response.status == 201
    assert state(jira).is_licensed("bob")


async def test_request_log_bounded_and_cheap_to_skip(make_client) -> None:
    client = await make_client(product="jira", request_log_size=5)
    for _ in range(8):
        await client.get("/status")
    snapshot = await sim_state(client)
    assert len(snapshot["requests"]) == 5 and snapshot["request_seq"] == 8
    assert snapshot["requests"][0]["seq"] == 4
