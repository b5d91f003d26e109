"""Jira issue REST used by the issue page's buttons: read, comment, transition, create.

Any key of the form ``PROJ-123`` exists (created on first touch). Over the licence Jira
blocks issue creation, so ``POST /rest/api/2/issue`` answers 403 while the licence group
holds more users than there are seats.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from seatgate_simulator.context import base_url, json_response, require_user, rest_error, state_of
from seatgate_simulator.faults import json_body
from seatgate_simulator.pages import ISSUE_KEY, PROJECT_KEY
from seatgate_simulator.state import TRANSITIONS, Comment, Issue

OVER_LICENCE = (
    "You have exceeded the number of users allowed to use Jira applications under your license. "
    "Issue creation is disabled."
)


def _issue_key(request: web.Request) -> str | None:
    key = request.match_info["key"]
    return key if ISSUE_KEY.match(key) else None


def _missing(key: str) -> web.Response:
    return rest_error("jira", 404, f"Issue Does Not Exist: {key}")


def comment_json(request: web.Request, key: str, c: Comment) -> dict[str, Any]:
    return {
        "id": str(c.comment_id),
        "self": f"{base_url(request)}/rest/api/2/issue/{key}/comment/{c.comment_id}",
        "author": {"name": c.author},
        "body": c.body,
        "created": c.created_ms,
    }


def issue_json(request: web.Request, issue: Issue) -> dict[str, Any]:
    number = int(issue.key.rsplit("-", 1)[1])
    return {
        "id": str(10000 + number),
        "key": issue.key,
        "self": f"{base_url(request)}/rest/api/2/issue/{issue.key}",
        "fields": {
            "summary": issue.summary,
            "status": {"name": issue.status},
            "comment": {
                "comments": [comment_json(request, issue.key, c) for c in issue.comments],
                "total": len(issue.comments),
            },
        },
    }


async def get_issue(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = _issue_key(request)
    if key is None:
        return _missing(request.match_info["key"])
    return json_response(issue_json(request, state_of(request).issue(key)))


async def add_comment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    key = _issue_key(request)
    if key is None:
        return _missing(request.match_info["key"])
    body = await json_body(request)
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return rest_error("jira", 400, "Comment body can not be empty!")
    comment = state_of(request).add_comment(key, user, text)
    return json_response(comment_json(request, key, comment), 201)


async def get_transitions(request: web.Request) -> web.StreamResponse:
    require_user(request)
    if _issue_key(request) is None:
        return _missing(request.match_info["key"])
    return json_response(
        {
            "expand": "transitions",
            "transitions": [{"id": tid, "name": name, "to": {"name": name}} for tid, name in TRANSITIONS.items()],
        }
    )


async def do_transition(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = _issue_key(request)
    if key is None:
        return _missing(request.match_info["key"])
    body = await json_body(request)
    transition = body.get("transition") if isinstance(body, dict) else None
    tid = str(transition.get("id", "")) if isinstance(transition, dict) else ""
    if tid not in TRANSITIONS:
        return rest_error("jira", 400, f"Transition id '{tid}' is not valid for this issue.")
    state_of(request).transition(key, tid)
    return web.Response(status=204)


async def create_issue(request: web.Request) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    if state.over_licence:
        return rest_error("jira", 403, OVER_LICENCE)
    body = await json_body(request)
    fields = body.get("fields") if isinstance(body, dict) else None
    fields = fields if isinstance(fields, dict) else {}
    project_field = fields.get("project")
    project = project_field.get("key") if isinstance(project_field, dict) else None
    summary = fields.get("summary")
    if not isinstance(project, str) or not PROJECT_KEY.match(project) or not isinstance(summary, str):
        return rest_error("jira", 400, "fields.project.key and fields.summary are required.")
    number = 1 + sum(1 for k in state.issues if k.startswith(project + "-"))
    issue = state.issue(f"{project}-{number}")
    issue.summary = summary
    return json_response(
        {
            "id": issue_json(request, issue)["id"],
            "key": issue.key,
            "self": f"{base_url(request)}/rest/api/2/issue/{issue.key}",
        },
        201,
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/rest/api/2/issue", create_issue)
    r.add_get("/rest/api/2/issue/{key}", get_issue)
    r.add_post("/rest/api/2/issue/{key}/comment", add_comment)
    r.add_get("/rest/api/2/issue/{key}/transitions", get_transitions)
    r.add_post("/rest/api/2/issue/{key}/transitions", do_transition)
