"""The REST that client libraries call: shapes, paging, status codes and error bodies."""

from __future__ import annotations

import aiohttp

from tests.simulator.conftest import ADMIN, basic, license_user, state

NO_CHECK = {"X-Atlassian-Token": "no-check"}


def _upload(size: int, name: str = "file") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(name, b"x" * size, filename="report.bin", content_type="application/octet-stream")
    return form


async def test_jira_server_info_and_fields(jira) -> None:
    info = await jira.get("/rest/api/2/serverInfo")  # anonymous is allowed
    body = await info.json()
    assert info.status == 200 and body["versionNumbers"][0] == 9 and body["deploymentType"] == "Server"
    assert (await jira.get("/rest/api/2/field")).status == 401
    fields = await (await jira.get("/rest/api/2/field", headers=ADMIN)).json()
    summary = next(f for f in fields if f["id"] == "summary")
    assert summary["clauseNames"] == ["summary"] and summary["custom"] is False


async def test_jira_search_pages_and_rejects_bad_jql(jira) -> None:
    for key in ("ABC-1", "ABC-2", "ABC-3"):
        state(jira).issue(key)
    page = await (await jira.get("/rest/api/2/search?jql=project = ABC&startAt=1&maxResults=1", headers=ADMIN)).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 1, 3)
    assert [i["key"] for i in page["issues"]] == ["ABC-2"]  # newest first
    posted = await jira.post(
        "/rest/api/2/search", json={"jql": 'key in (ABC-1, "ABC-3") ORDER BY key', "maxResults": 10}, headers=ADMIN
    )
    assert sorted(i["key"] for i in (await posted.json())["issues"]) == ["ABC-1", "ABC-3"]
    named = await (await jira.get("/rest/api/2/search?jql=key = XYZ-9", headers=ADMIN)).json()
    assert [i["key"] for i in named["issues"]] == ["XYZ-9"]  # any key exists
    bad = await jira.get("/rest/api/2/search?jql=summary ~ foo", headers=ADMIN)
    error = await bad.json()
    assert bad.status == 400 and error["errors"] == {} and "Error in the JQL Query" in error["errorMessages"][0]
    assert (await jira.get("/rest/api/2/search?maxResults=x", headers=ADMIN)).status == 400
    jira.session.cookie_jar.clear()
    assert (await jira.get("/rest/api/2/search")).status == 401


async def test_jira_edit_comments_worklogs(jira) -> None:
    await license_user(jira, "alice")
    alice = basic("alice")
    edited = await jira.put("/rest/api/2/issue/ABC-7", json={"fields": {"summary": "New title"}}, headers=alice)
    assert edited.status == 204 and state(jira).issue("ABC-7").summary == "New title"
    refused = await jira.put("/rest/api/2/issue/ABC-7", json={"fields": {"summary": "Other", "nope": 1}}, headers=alice)
    assert refused.status == 400 and "nope" in (await refused.json())["errors"]
    assert state(jira).issue("ABC-7").summary == "New title"  # all or nothing
    await jira.post("/rest/api/2/issue/ABC-7/comment", json={"body": "one"}, headers=alice)
    await jira.post("/rest/api/2/issue/ABC-7/comment", json={"body": "two"}, headers=alice)
    comments = await (await jira.get("/rest/api/2/issue/ABC-7/comment?startAt=1&maxResults=1", headers=alice)).json()
    assert comments["total"] == 2 and [c["body"] for c in comments["comments"]] == ["two"]
    logged = await jira.post("/rest/api/2/issue/ABC-7/worklog", json={"timeSpent": "1h 30m"}, headers=alice)
    assert logged.status == 201 and (await logged.json())["timeSpentSeconds"] == 5400
    bad = await jira.post("/rest/api/2/issue/ABC-7/worklog", json={"timeSpent": "soon"}, headers=alice)
    assert bad.status == 400 and "timeLogged" in (await bad.json())["errors"]
    worklogs = await (await jira.get("/rest/api/2/issue/ABC-7/worklog", headers=alice)).json()
    assert worklogs["total"] == 1 and worklogs["worklogs"][0]["author"]["name"] == "alice"
    missing = await jira.get("/rest/api/2/issue/abc/comment", headers=alice)
    assert missing.status == 404 and missing.content_type == "application/json"


async def test_jira_projects_and_user_search(jira) -> None:
    projects = await (await jira.get("/rest/api/2/project", headers=ADMIN)).json()
    assert {"SIM", "SD"} <= {p["key"] for p in projects}
    assert (await (await jira.get("/rest/api/2/project/ABC", headers=ADMIN)).json())["key"] == "ABC"
    missing = await jira.get("/rest/api/2/project/abc", headers=ADMIN)
    assert missing.status == 404 and "No project could be found" in (await missing.json())["errorMessages"][0]
    users = await (await jira.get("/rest/api/2/user/search?username=al", headers=ADMIN)).json()
    assert [u["name"] for u in users] == ["alice"]
    assert (await jira.get("/rest/api/2/user/search", headers=ADMIN)).status == 400


async def test_jira_attachments_need_the_xsrf_header(jira) -> None:
    await license_user(jira, "alice")
    alice = basic("alice")
    blocked = await jira.post("/rest/api/2/issue/ABC-1/attachments", data=_upload(10), headers=alice)
    assert blocked.status == 403 and await blocked.text() == "XSRF check failed"
    size = 3 * 1024 * 1024  # above the app's client_max_size for ordinary bodies: streamed, counted
    ok = await jira.post("/rest/api/2/issue/ABC-1/attachments", data=_upload(size), headers={**alice, **NO_CHECK})
    body = await ok.json()
    assert ok.status == 200 and body[0]["filename"] == "report.bin" and body[0]["size"] == size
    assert state(jira).issue("ABC-1").attachments[0].size == size
    wrong_field = await jira.post(
        "/rest/api/2/issue/ABC-1/attachments", data=_upload(5, name="upload"), headers={**alice, **NO_CHECK}
    )
    assert wrong_field.status == 400 and len(state(jira).issue("ABC-1").attachments) == 1
    jira.session.cookie_jar.clear()
    anonymous = await jira.post("/rest/api/2/issue/ABC-1/attachments", data=_upload(5), headers=NO_CHECK)
    assert anonymous.status == 401


async def test_basic_answers_set_session_and_xsrf_cookies(jira) -> None:
    ok = await jira.get("/rest/api/2/myself", headers=ADMIN)
    cookies = ok.headers.getall("Set-Cookie")
    assert any(c.startswith("JSESSIONID=") for c in cookies)
    xsrf = next(c for c in cookies if c.startswith("atlassian.xsrf.token="))
    assert xsrf.split(";")[0].endswith("_lin") and "HttpOnly" not in xsrf
    # From the second call on a cookie-keeping client sends cookie and Basic: the session wins.
    again = await jira.get("/rest/api/2/myself", headers=ADMIN)
    assert not any(
        c.startswith(("JSESSIONID=", "atlassian.xsrf.token=")) for c in again.headers.getall("Set-Cookie", [])
    )
    assert (await jira.get("/__sim/state")).status == 200
    assert [r["via"] for r in state(jira).requests] == ["basic", "session"]


async def test_confluence_pages_comments_and_cql(confluence) -> None:
    await license_user(confluence, "alice")
    alice = basic("alice")
    page = {"type": "page", "title": "Plan", "space": {"key": "ENG"}, "body": {"storage": {"value": "<p>hello</p>"}}}
    created = await confluence.post("/rest/api/content/", json=page, headers=alice)
    content = await created.json()
    assert created.status == 200 and content["type"] == "page" and content["space"]["key"] == "ENG"
    duplicate = await confluence.post("/rest/api/content", json=page, headers=alice)
    error = await duplicate.json()
    assert duplicate.status == 400 and error["statusCode"] == 400 and "already exists" in error["message"]
    read = await (await confluence.get(f"/rest/api/content/{content['id']}?expand=body.storage", headers=alice)).json()
    assert read["body"]["storage"]["value"] == "<p>hello</p>"
    assert "body" not in await (await confluence.get(f"/rest/api/content/{content['id']}", headers=alice)).json()
    by_title = await (await confluence.get("/rest/api/content?spaceKey=ENG&title=Plan", headers=alice)).json()
    assert by_title["size"] == 1 and by_title["results"][0]["id"] == content["id"]
    comment = {
        "type": "comment",
        "container": {"id": content["id"], "type": "page"},
        "body": {"storage": {"value": "ok"}},
    }
    commented = await confluence.post("/rest/api/content/", json=comment, headers=alice)
    assert commented.status == 200 and (await commented.json())["container"]["id"] == content["id"]
    orphan = {**comment, "container": {"id": "999999999"}}
    missing = await confluence.post("/rest/api/content/", json=orphan, headers=alice)
    assert missing.status == 404 and (await missing.json())["statusCode"] == 404
    found = await (await confluence.get("/rest/api/search?cql=type = page and space = ENG", headers=alice)).json()
    assert [r["content"]["id"] for r in found["results"]] == [content["id"]] and found["totalSize"] == 1
    text = await (await confluence.get('/rest/api/search?cql=text ~ "hello"', headers=alice)).json()
    assert text["size"] == 1
    bad = await confluence.get("/rest/api/search?cql=nonsense", headers=alice)
    assert bad.status == 400 and "Could not parse cql" in (await bad.json())["message"]
    assert (await confluence.get("/rest/api/search", headers=alice)).status == 400


async def test_confluence_spaces_and_paging(confluence) -> None:
    for n in range(3):
        body = {"type": "page", "title": f"P{n}", "space": {"key": "PG"}, "body": {"storage": {"value": "x"}}}
        assert (await confluence.post("/rest/api/content", json=body, headers=ADMIN)).status == 200
    first = await (await confluence.get("/rest/api/content?spaceKey=PG&limit=2", headers=ADMIN)).json()
    assert first["size"] == 2 and first["limit"] == 2 and "next" in first["_links"]
    following = await (await confluence.get(first["_links"]["next"], headers=ADMIN)).json()
    assert following["start"] == 2 and "next" not in following["_links"]
    spaces = await (await confluence.get("/rest/api/space", headers=ADMIN)).json()
    assert {"DS", "PG"} <= {s["key"] for s in spaces["results"]}
    assert (await (await confluence.get("/rest/api/space/ENG", headers=ADMIN)).json())["key"] == "ENG"
    missing = await confluence.get("/rest/api/space/no%20such", headers=ADMIN)
    assert missing.status == 404 and "No space with key" in (await missing.json())["message"]


async def test_confluence_refuses_new_content_over_the_licence(make_client) -> None:
    client = await make_client(product="confluence", seats=1)
    await license_user(client, "alice")
    body = {"type": "page", "title": "T", "space": {"key": "DS"}, "body": {"storage": {"value": "x"}}}
    refused = await client.post("/rest/api/content", json=body, headers=basic("alice"))
    assert refused.status == 403 and not [p for p in state(client).pages.values() if p.title == "T"]
