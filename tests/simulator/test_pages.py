"""Browser pages, their actions, the background endpoints they poll, static assets, Synchrony."""

from __future__ import annotations

import re

import aiohttp

from tests.simulator.conftest import ADMIN, form_login, license_user, state


async def logged_in(client, user: str = "alice") -> None:
    await license_user(client, user)
    assert (await form_login(client, user)).status == 302


async def test_jira_login_page_ids(jira) -> None:
    page = await jira.get("/login.jsp?os_destination=%2Fbrowse%2FSIM-1")
    text = await page.text()
    for element in (
        "login-form",
        "login-form-username",
        "login-form-password",
        "login-form-remember-me",
        "login-form-submit",
        "saml-form",
    ):
        assert f'id="{element}"' in text
    assert 'name="os_username"' in text and 'name="os_cookie"' in text and 'value="/browse/SIM-1"' in text
    assert (await jira.get("/", allow_redirects=False)).headers["Location"] == "/secure/Dashboard.jspa"


async def test_open_redirect_is_refused(jira) -> None:
    await license_user(jira, "alice")
    login = await form_login(jira, "alice", destination="//evil.example/x")
    assert login.headers["Location"] == "/secure/Dashboard.jspa"


async def test_jira_dashboard_issue_comment_and_transition(make_client) -> None:
    jira = await make_client(product="jira", poll_interval=2)
    await logged_in(jira)
    dashboard = await (await jira.get("/secure/Dashboard.jspa")).text()
    assert 'id="dashboard"' in dashboard and 'id="issue-link-SIM-1"' in dashboard
    assert 'data-poll-interval="2' in dashboard and 'id="queue-link"' in dashboard
    issue = await (await jira.get("/browse/SIM-1")).text()
    for element in (
        "issue-summary",
        "issue-status",
        "comment-form",
        "comment-body",
        "comment-submit",
        "transition-button",
    ):
        assert f'id="{element}"' in issue
    posted = await jira.post(
        "/secure/AddComment.jspa", data={"id": "SIM-1", "comment": "hello <b>"}, allow_redirects=False
    )
    assert posted.status == 302 and posted.headers["Location"] == "/browse/SIM-1"
    assert "hello &lt;b&gt;" in await (await jira.get("/browse/SIM-1")).text()
    rest = await jira.post("/rest/api/2/issue/SIM-1/comment", json={"body": "via REST"})
    assert rest.status == 201 and (await rest.json())["body"] == "via REST"
    transitions = await (await jira.get("/rest/api/2/issue/SIM-1/transitions")).json()
    assert {t["id"] for t in transitions["transitions"]} == {"11", "21", "31"}
    assert (await jira.post("/rest/api/2/issue/SIM-1/transitions", json={"transition": {"id": "21"}})).status == 204
    assert (await jira.post("/rest/api/2/issue/SIM-1/transitions", json={"transition": {"id": "99"}})).status == 400
    issue_json = await (await jira.get("/rest/api/2/issue/SIM-1")).json()
    assert issue_json["fields"]["status"]["name"] == "In Progress"
    assert issue_json["fields"]["comment"]["total"] == 2
    assert (await jira.get("/browse/not-a-key")).status == 404
    created = await jira.post("/rest/api/2/issue", json={"fields": {"project": {"key": "NEW"}, "summary": "s"}})
    assert created.status == 201 and (await created.json())["key"] == "NEW-1"


async def test_jira_polling_endpoints(jira) -> None:
    assert (await jira.get("/rest/servicedesk/1/servicedesk/SD/queues/poll?projectStateHash=x")).status == 401
    await logged_in(jira)
    queue = await (await jira.get("/jira/servicedesk/projects/SD/queues/custom/1")).text()
    assert 'id="queue"' in queue and 'data-project="SD"' in queue
    queue_poll = "/rest/servicedesk/1/servicedesk/SD/queues/poll?projectStateHash={}"
    poll = await (await jira.get(queue_poll.format("undefined"))).json()
    assert poll["changed"] is True
    again = await jira.get(queue_poll.format(poll["projectStateHash"]))
    assert (await again.json())["changed"] is False
    updated = await jira.get("/rest/servicedesk/1/servicedesk/SD/issuelist/updated?asc=false&currentIssueHash=")
    assert (await updated.json())["updated"] is True

    board = "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=1"
    full = await (await jira.get(board)).json()
    etag = full["etagData"]["etag"]
    small = await jira.get(f"{board}&etag={etag}")
    assert (await small.json())["issuesData"] is None
    await jira.post("/rest/api/2/issue/SIM-2/transitions", json={"transition": {"id": "31"}})
    changed = await (await jira.get(f"{board}&etag={etag}")).json()
    assert changed["issuesData"]["issues"]
    analytics = await jira.post(
        "/rest/analytics/1.0/publish/bulk", json=[{"name": "x"}], headers={"x-atlassian-mau-ignore": "true"}
    )
    assert analytics.status == 200 and (await analytics.json())["accepted"] == 1
    assert 'id="board"' in await (await jira.get("/secure/RapidBoard.jspa?rapidView=1")).text()


async def test_confluence_pages_and_polls(confluence) -> None:
    redirect = await confluence.get("/pages/viewpage.action?pageId=1001", allow_redirects=False)
    assert redirect.headers["Location"].startswith("/login.action?os_destination=%2Fpages%2Fviewpage.action")
    assert 'id="login-form-username"' in await (await confluence.get("/login.action")).text()
    await logged_in(confluence)
    assert 'id="dashboard"' in await (await confluence.get("/index.action")).text()
    view = await (await confluence.get("/pages/viewpage.action?pageId=1001")).text()
    assert 'id="page-title"' in view and 'data-page-id="1001"' in view and 'id="edit-page-link"' in view
    edit = await (await confluence.get("/pages/editpage.action?pageId=1001")).text()
    assert 'id="editor-content"' in edit and 'id="editor-save"' in edit

    reload_url = "/rest/quickreload/latest/1001?since={}"
    assert (await confluence.get(reload_url.format(0))).status == 204  # nothing new
    saved = await confluence.post(
        "/pages/doeditpage.action?pageId=1001", data={"content": "new text"}, allow_redirects=False
    )
    assert saved.status == 302
    assert (await confluence.get(reload_url.format(0))).status == 200
    assert (await confluence.get(reload_url.format(10**13))).status == 204
    count = await (await confluence.get("/rest/mywork/latest/status/notification/count?pageid=1001")).json()
    assert count == {"count": 0, "timeout": 30, "maxTimeout": 300}
    beat = await confluence.post(
        "/json/startheartbeatactivity.action", data={"contentId": "1001", "draftType": "page", "spaceKey": "SIM"}
    )
    assert beat.status == 200 and await beat.json() == []
    assert (await confluence.post("/json/stopheartbeatactivity.action", data={})).status == 200


async def test_confluence_refuses_edits_over_the_licence(make_client) -> None:
    client = await make_client(product="confluence", seats=1)
    await logged_in(client)
    saved = await client.post("/pages/doeditpage.action?pageId=5", data={"content": "x"}, allow_redirects=False)
    assert saved.status == 403 and 'id="over-licence"' in await saved.text()


async def test_static_assets_referenced_by_pages(confluence) -> None:
    text = await (await confluence.get("/login.action")).text()
    assets = re.findall(r'(?:src|href)="(/(?:s|download|images|favicon)[^"]*)"', text)
    assert len(assets) >= 3
    for url in assets:
        response = await confluence.get(url)
        assert response.status == 200, url
    js = next(u for u in assets if u.endswith(".js"))
    script = await (await confluence.get(js)).text()
    for endpoint in (
        "x-atlassian-mau-ignore",
        "document.hidden",
        "/rest/quickreload/latest/",
        "/rest/mywork/latest/status/notification/count",
        "/rest/analytics/1.0/publish/bulk",
        "/json/startheartbeatactivity.action",
        "/queues/poll",
        "/issuelist/updated",
        "allData.json",
        "etag=",
    ):
        assert endpoint in script, endpoint
    icon = await confluence.get("/favicon.ico")
    assert icon.status == 200 and (await icon.read())[:4] == b"\x00\x00\x01\x00"
    assert (await confluence.get("/images/icons/profilepics/default.svg")).status == 200


async def test_synchrony_websocket_echo(confluence) -> None:
    async with confluence.ws_connect("/synchrony/v1/bayeux-sync1") as ws:
        await ws.send_str('{"channel":"/meta/handshake"}')
        message = await ws.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.TEXT and message.data == '{"channel":"/meta/handshake"}'
        await ws.send_bytes(b"\x01\x02")
        assert (await ws.receive(timeout=5)).data == b"\x01\x02"
    assert (await confluence.get("/synchrony/v1/bayeux-sync1")).status == 400


async def test_status_endpoint_is_anonymous(jira) -> None:
    response = await jira.get("/status")
    assert response.status == 200 and await response.json() == {"state": "RUNNING"}
    assert state(jira).requests[-1]["path"] == "/status"


async def test_admin_sees_pages_without_a_grant(jira) -> None:
    assert (await jira.get("/secure/Dashboard.jspa", headers=ADMIN)).status == 200
