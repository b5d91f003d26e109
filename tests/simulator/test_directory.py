"""Directory and licence endpoints: Jira REST, Confluence REST / JSON-RPC, Crowd."""

from __future__ import annotations

import pytest

from tests.simulator.conftest import ADMIN, basic, license_user, sim_state, state

ADD = "/rest/api/2/group/user?groupname={}"
APP = basic("seatgate")
CROWD = "/rest/usermanagement/1"


# -- Jira -----------------------------------------------------------------------------------------


async def test_jira_add_and_remove_status_codes(jira) -> None:
    add = await jira.post(ADD.format("jira-software-users"), json={"name": "alice"}, headers=ADMIN)
    assert add.status == 201
    bean = await add.json()
    assert bean["name"] == "jira-software-users" and bean["users"]["size"] == 2
    again = await jira.post(ADD.format("jira-software-users"), json={"name": "alice"}, headers=ADMIN)
    assert again.status == 400 and (await again.json())["errorMessages"]
    assert (await jira.post(ADD.format("jira-software-users"), json={"name": "nobody"}, headers=ADMIN)).status == 404
    assert (await jira.post(ADD.format("no-group"), json={"name": "alice"}, headers=ADMIN)).status == 404
    assert (await jira.post(ADD.format("jira-software-users"), json={}, headers=ADMIN)).status == 400

    remove = "/rest/api/2/group/user?groupname=jira-software-users&username={}"
    assert (await jira.delete(remove.format("alice"), headers=ADMIN)).status == 200
    assert (await jira.delete(remove.format("alice"), headers=ADMIN)).status == 400
    assert (await jira.delete(remove.format("nobody"), headers=ADMIN)).status == 404
    assert (await jira.delete("/rest/api/2/group/user?groupname=nope&username=bob", headers=ADMIN)).status == 404
    own = await jira.delete("/rest/api/2/group/user?groupname=jira-administrators&username=admin", headers=ADMIN)
    assert own.status == 400  # Jira refuses removing the calling admin from the admin group
    calls = (await sim_state(jira))["directory_calls"]
    assert [(c["op"], c["user"], c["group"], c["status"]) for c in calls[:2]] == [
        ("add", "alice", "jira-software-users", 201),
        ("add", "alice", "jira-software-users", 400),
    ]
    assert calls[0]["caller"] == "admin"


async def test_jira_group_api_is_admin_only(jira) -> None:
    await license_user(jira, "bob")
    for method, path, kwargs in (
        ("POST", ADD.format("jira-software-users"), {"json": {"name": "carol"}}),
        ("DELETE", "/rest/api/2/group/user?groupname=jira-software-users&username=admin", {}),
        ("GET", "/rest/api/2/group/member?groupname=staff", {}),
        ("GET", "/rest/api/2/applicationrole/jira-software", {}),
        ("GET", "/rest/api/2/applicationrole", {}),
    ):
        assert (await jira.request(method, path, headers=basic("bob"), **kwargs)).status == 403, path
        jira.session.cookie_jar.clear()  # Basic opened a session: the next call is anonymous again
        assert (await jira.request(method, path, **kwargs)).status == 401, path
    assert state(jira).members("jira-software-users") == ["admin", "bob"]


async def test_jira_members_paging(make_client) -> None:
    client = await make_client(product="jira", users=120)
    url = "/rest/api/2/group/member?groupname=staff&startAt={}&maxResults={}"
    first = await (await client.get(url.format(0, 50), headers=ADMIN)).json()
    assert first["total"] == 125 and first["isLast"] is False and len(first["values"]) == 50
    assert first["startAt"] == 0 and first["maxResults"] == 50 and "startAt=50" in first["nextPage"]
    assert set(first["values"][0]) >= {"name", "key", "displayName", "active", "self"}
    names, start = [], 0
    while True:
        page = await (await client.get(url.format(start, 50), headers=ADMIN)).json()
        names += [v["name"] for v in page["values"]]
        if page["isLast"]:
            assert "nextPage" not in page
            break
        start += page["maxResults"]
    assert len(names) == len(set(names)) == 125
    capped = await (await client.get(url.format(0, 500), headers=ADMIN)).json()
    assert capped["maxResults"] == 50  # Jira caps the page size
    assert (await client.get(url.format(-1, 5), headers=ADMIN)).status == 400
    assert (await client.get("/rest/api/2/group/member?groupname=nope", headers=ADMIN)).status == 404


async def test_jira_application_role_seats(make_client) -> None:
    client = await make_client(product="jira", seats=2)
    role = await (await client.get("/rest/api/2/applicationrole/jira-software", headers=ADMIN)).json()
    assert role["groups"] == ["jira-software-users"] and role["numberOfSeats"] == 2
    assert role["userCount"] == 1 and role["remainingSeats"] == 1 and role["hasUnlimitedSeats"] is False
    for user in ("alice", "bob"):  # the second add overflows the licence: not refused
        assert (await client.post(ADD.format("jira-software-users"), json={"name": user}, headers=ADMIN)).status == 201
    role = await (await client.get("/rest/api/2/applicationrole/jira-software", headers=ADMIN)).json()
    assert role["userCount"] == 3 and role["remainingSeats"] == -1
    roles = await (await client.get("/rest/api/2/applicationrole", headers=ADMIN)).json()
    assert {r["key"] for r in roles} == {"jira-software", "jira-core"}
    assert (await client.get("/rest/api/2/applicationrole/nope", headers=ADMIN)).status == 404
    snapshot = await sim_state(client, requests=0)
    assert snapshot["max_members"] == 3 and snapshot["seats"]["over_licence"] is True
    assert "requests" not in snapshot
    # Over the licence, Jira blocks issue creation.
    created = await client.post(
        "/rest/api/2/issue", headers=ADMIN, json={"fields": {"project": {"key": "SIM"}, "summary": "x"}}
    )
    assert created.status == 403


async def test_jira_myself_and_user_lookup(jira) -> None:
    me = await (await jira.get("/rest/api/2/myself?expand=groups", headers=ADMIN)).json()
    assert me["name"] == "admin" and {"jira-administrators", "jira-software-users"} <= {
        g["name"] for g in me["groups"]["items"]
    }
    user = await jira.get("/rest/api/2/user?username=alice&expand=groups", headers=ADMIN)
    body = await user.json()
    assert user.status == 200 and body["displayName"] == "Alice"
    assert [g["name"] for g in body["groups"]["items"]] == ["staff"]
    by_key = await jira.get(f"/rest/api/2/user?key={body['key']}", headers=ADMIN)
    assert (await by_key.json())["name"] == "alice"
    assert (await jira.get("/rest/api/2/user?username=nobody", headers=ADMIN)).status == 404
    jira.session.cookie_jar.clear()
    assert (await jira.get("/rest/api/2/user?username=alice")).status == 401


# -- Confluence -------------------------------------------------------------------------------------


async def test_confluence_rest_membership_is_idempotent(confluence) -> None:
    url = "/rest/api/user/{}/group/{}"
    for _ in range(2):
        assert (await confluence.put(url.format("alice", "confluence-users"), headers=ADMIN)).status == 204
    assert "alice" in state(confluence).groups["confluence-users"]
    for _ in range(2):
        assert (await confluence.delete(url.format("alice", "confluence-users"), headers=ADMIN)).status == 204
    assert "alice" not in state(confluence).groups["confluence-users"]
    assert (await confluence.put(url.format("nobody", "confluence-users"), headers=ADMIN)).status == 404
    assert (await confluence.put(url.format("alice", "nope"), headers=ADMIN)).status == 404
    await license_user(confluence, "bob")
    confluence.session.cookie_jar.clear()  # else admin's session (opened by Basic) wins over bob's Basic
    assert (await confluence.put(url.format("carol", "confluence-users"), headers=basic("bob"))).status == 403
    confluence.session.cookie_jar.clear()
    assert (await confluence.put(url.format("carol", "confluence-users"))).status == 401
    # Group names with spaces travel URL-encoded in the path.
    assert (await confluence.put(url.format("carol", "service-accounts"), headers=ADMIN)).status == 204


async def test_confluence_group_members_paging(make_client) -> None:
    client = await make_client(product="confluence", users=7)
    page = await (await client.get("/rest/api/group/staff/member?start=0&limit=5", headers=ADMIN)).json()
    assert page["size"] == 5 and page["start"] == 0 and page["limit"] == 5 and "next" in page["_links"]
    assert page["results"][0]["type"] == "known" and "username" in page["results"][0]
    rest = await (await client.get("/rest/api/group/staff/member?start=10&limit=5", headers=ADMIN)).json()
    assert rest["size"] == 2 and "next" not in rest["_links"]
    assert (await client.get("/rest/api/group/nope/member", headers=ADMIN)).status == 404


async def test_confluence_licence_counts(make_client) -> None:
    client = await make_client(product="confluence", seats=3)
    await license_user(client, "alice")
    assert await (await client.get("/rest/license/1.0/license/remainingSeats", headers=ADMIN)).json() == {"count": 1}
    assert await (await client.get("/rest/license/1.0/license/maxUsers", headers=ADMIN)).json() == {"count": 3}
    assert await (await client.get("/rest/license/1.0/license/userCount", headers=ADMIN)).json() == {"count": 2}
    client.session.cookie_jar.clear()
    assert (await client.get("/rest/license/1.0/license/remainingSeats", headers=basic("alice"))).status == 403


async def test_confluence_users(confluence) -> None:
    anonymous = await confluence.get("/rest/api/user/current")
    assert anonymous.status == 200 and (await anonymous.json())["type"] == "anonymous"
    admin = await (await confluence.get("/rest/api/user/current", headers=ADMIN)).json()
    assert admin["username"] == "admin" and admin["type"] == "known"
    alice = await (await confluence.get("/rest/api/user?username=alice", headers=ADMIN)).json()
    assert alice["displayName"] == "Alice" and alice["userKey"] != "alice"
    member_of = await (await confluence.get("/rest/api/user/memberof?username=admin", headers=ADMIN)).json()
    assert {g["name"] for g in member_of["results"]} == {"confluence-administrators", "confluence-users"}
    assert (await confluence.get("/rest/api/user?username=nobody", headers=ADMIN)).status == 404


async def test_confluence_jsonrpc_mode(make_client) -> None:
    client = await make_client(product="confluence", confluence_api="jsonrpc")
    assert (await client.put("/rest/api/user/alice/group/confluence-users", headers=ADMIN)).status == 404
    assert (await client.delete("/rest/api/user/alice/group/confluence-users", headers=ADMIN)).status == 404
    rpc = "/rpc/json-rpc/confluenceservice-v2/"
    added = await client.post(rpc + "addUserToGroup", json=["alice", "confluence-users"], headers=ADMIN)
    assert added.status == 200 and await added.json() is True
    assert state(client).is_licensed("alice")
    groups = await (await client.post(rpc + "getUserGroups", json=["alice"], headers=ADMIN)).json()
    assert "confluence-users" in groups
    removed = await client.post(rpc + "removeUserFromGroup", json=["alice", "confluence-users"], headers=ADMIN)
    assert await removed.json() is True and not state(client).is_licensed("alice")
    for args, method in (
        (["nobody", "confluence-users"], "addUserToGroup"),
        (["alice", "nope"], "addUserToGroup"),
        (["alice", "staff"], "noSuchMethod"),
    ):
        error = await client.post(rpc + method, json=args, headers=ADMIN)
        assert error.status == 200 and "message" in (await error.json())["error"]
    await license_user(client, "bob")
    client.session.cookie_jar.clear()
    denied = await client.post(rpc + "addUserToGroup", json=["carol", "confluence-users"], headers=basic("bob"))
    assert (await denied.json())["error"]["name"] == "NotPermittedException"
    client.session.cookie_jar.clear()
    assert (await client.post(rpc + "addUserToGroup", json=["carol", "confluence-users"])).status == 401
    # The mode can be switched at run time (a probe of an upgraded instance).
    await client.post("/__sim/config", json={"confluence_api": "rest"})
    assert (await client.put("/rest/api/user/alice/group/confluence-users", headers=ADMIN)).status == 204


# -- Crowd ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("product", ["jira", "confluence"])
async def test_crowd_membership(make_client, product: str) -> None:
    client = await make_client(product=product)
    group = state(client).license_group
    add = f"{CROWD}/user/group/direct?username={{}}"
    assert (await client.post(add.format("alice"), json={"name": group})).status == 401  # no app auth
    assert (await client.post(add.format("alice"), json={"name": group}, headers=ADMIN)).status == 401
    assert (await client.post(add.format("alice"), json={"name": group}, headers=APP)).status == 201
    assert (await client.post(add.format("alice"), json={"name": group}, headers=APP)).status == 409
    assert (await client.post(add.format("nobody"), json={"name": group}, headers=APP)).status == 404
    assert (await client.post(add.format("alice"), json={"name": "nope"}, headers=APP)).status == 400
    mirror = f"{CROWD}/group/user/direct?groupname={{}}"
    assert (await client.post(mirror.format(group), json={"name": "bob"}, headers=APP)).status == 201
    assert (await client.post(mirror.format("nope"), json={"name": "bob"}, headers=APP)).status == 404
    assert (await client.post(mirror.format(group), json={"name": "nobody"}, headers=APP)).status == 400

    check = f"{CROWD}/group/user/direct?groupname={group}&username={{}}"
    assert (await client.get(check.format("alice"), headers=APP)).status == 200
    assert (await client.get(check.format("carol"), headers=APP)).status == 404
    groups = await (await client.get(f"{CROWD}/user/group/direct?username=alice", headers=APP)).json()
    assert {"name": group} in groups["groups"]
    users = await (await client.get(f"{CROWD}/group/user/direct?groupname={group}", headers=APP)).json()
    assert {u["name"] for u in users["users"]} == {"admin", "alice", "bob"}

    remove = f"{CROWD}/user/group/direct?username={{}}&groupname={group}"
    assert (await client.delete(remove.format("alice"), headers=APP)).status == 204
    assert (await client.delete(remove.format("alice"), headers=APP)).status == 404
    assert (await client.delete(remove.format("nobody"), headers=APP)).status == 404
    ops = [c["op"] for c in (await sim_state(client))["directory_calls"]]
    assert "crowd_add" in ops and "crowd_remove" in ops


async def test_crowd_application_credentials_are_configurable(make_client) -> None:
    client = await make_client(crowd_app_name="confluence", crowd_app_password="s3cret")
    url = f"{CROWD}/user/group/direct?username=alice"
    assert (await client.get(url, headers=APP)).status == 401
    assert (await client.get(url, headers=basic("confluence", "s3cret"))).status == 200
