"""Endpoints an open browser tab calls by itself, answered the way the products answer them.

Sources are in docs/atlassian-facts.md: JSM queue polling, the board's ``allData.json``
with ``etag=`` (small answer when nothing changed), Quick Reload (204 when nothing new),
Notifications & Tasks count (with the server's suggested timeouts), analytics bulk publish,
and the editor heartbeat. All need a logged-in user, like the real ones.
Also ``/status`` (load-balancer health check, anonymous) and the Synchrony WebSocket stand-in.
"""

from __future__ import annotations

import hashlib

from aiohttp import WSMsgType, web

from seatgate_simulator.context import json_response, require_user, state_of
from seatgate_simulator.faults import json_body
from seatgate_simulator.pages import PROJECT_KEY

MYWORK_TIMEOUT_S = 30  # mywork.timeout default
MYWORK_MAX_TIMEOUT_S = 300  # mywork.max_timeout default
SYNCHRONY_IDLE_S = 300.0  # an idle WebSocket is closed after this long


def _hash(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


async def jsm_queue_poll(request: web.Request) -> web.StreamResponse:
    require_user(request)
    project = request.match_info["project"]
    if not PROJECT_KEY.match(project):
        return json_response({"errorMessages": [f"No project {project}"], "errors": {}}, 404)
    current = _hash(project, state_of(request).board_version)[:16]
    return json_response({"projectStateHash": current, "changed": request.query.get("projectStateHash") != current})


async def jsm_issuelist_updated(request: web.Request) -> web.StreamResponse:
    require_user(request)
    project = request.match_info["project"]
    current = _hash("issues", project, state_of(request).board_version)
    unchanged = request.query.get("currentIssueHash") == current
    return json_response(
        {
            "currentIssueHash": current,
            "updated": not unchanged,
            "issues": [] if unchanged else [f"{project}-{n}" for n in range(1, 6)],
        }
    )


async def board_all_data(request: web.Request) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    view = request.query.get("rapidViewId", "1")
    etag = f"{view},{state.board_version}"
    if request.query.get("etag") == etag:
        return json_response({"etagData": {"etag": etag}, "issuesData": None})
    issues = [
        {"key": issue.key, "summary": issue.summary, "status": {"name": issue.status}}
        for issue in state.issues.values()
    ]
    return json_response(
        {
            "rapidViewId": view,
            "etagData": {"etag": etag},
            "columnsData": {"columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}]},
            "issuesData": {"issues": issues},
        }
    )


async def mywork_count(request: web.Request) -> web.StreamResponse:
    require_user(request)
    return json_response({"count": 0, "timeout": MYWORK_TIMEOUT_S, "maxTimeout": MYWORK_MAX_TIMEOUT_S})


async def quick_reload(request: web.Request) -> web.StreamResponse:
    require_user(request)
    raw_id, since = request.match_info["page_id"], request.query.get("since", "0")
    if not since.isdigit():
        since = "0"
    page = state_of(request).page(int(raw_id))
    if page.updated_ms <= int(since):
        return web.Response(status=204)  # "nothing happened": the common answer
    return json_response(
        {
            "page": {
                "id": page.page_id,
                "version": page.version,
                "editor": page.last_editor,
                "updated": page.updated_ms,
            },
            "comments": [],
        }
    )


async def analytics_publish(request: web.Request) -> web.StreamResponse:
    require_user(request)
    events = await json_body(request)
    return json_response({"accepted": len(events) if isinstance(events, list) else 0})


async def heartbeat(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await request.post()
    content_id = str(form.get("contentId", ""))
    if not content_id.isdigit():
        return json_response({"message": "contentId is required"}, 400)
    others = state_of(request).heartbeat(int(content_id), user)
    return json_response([{"name": name, "fullName": name.capitalize()} for name in others])


async def stop_heartbeat(request: web.Request) -> web.StreamResponse:
    require_user(request)
    return json_response({})


async def status(_request: web.Request) -> web.StreamResponse:
    return json_response({"state": "RUNNING"})


async def synchrony(request: web.Request) -> web.StreamResponse:
    """WebSocket echo standing in for Synchrony, so a proxy's Upgrade handling can be tested."""
    ws = web.WebSocketResponse(heartbeat=30.0)
    if not ws.can_prepare(request).ok:
        return json_response({"message": "Synchrony expects a WebSocket upgrade"}, 400)
    await ws.prepare(request)
    while not ws.closed:
        try:
            msg = await ws.receive(timeout=SYNCHRONY_IDLE_S)
        except TimeoutError:
            break
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        else:  # close, error, or the idle deadline
            break
    await ws.close()
    return ws


def add_routes(app: web.Application, product: str) -> None:
    r = app.router
    r.add_get("/status", status)
    r.add_post("/rest/analytics/1.0/publish/bulk", analytics_publish)
    r.add_get("/synchrony/v1/bayeux-sync1", synchrony)
    if product == "jira":
        sd = "/rest/servicedesk/1/servicedesk/{project}"
        r.add_get(sd + "/queues/poll", jsm_queue_poll)
        r.add_get(sd + "/issuelist/updated", jsm_issuelist_updated)
        r.add_get("/rest/greenhopper/1.0/xboard/work/allData.json", board_all_data)
    else:
        r.add_get("/rest/mywork/latest/status/notification/count", mywork_count)
        r.add_get("/rest/quickreload/latest/{page_id:\\d{1,12}}", quick_reload)
        r.add_post("/json/startheartbeatactivity.action", heartbeat)
        r.add_post("/json/stopheartbeatactivity.action", stop_heartbeat)
