"""Jira issue REST: read, edit, comment, transition, create, worklogs, attachments.

Any key of the form ``PROJ-123`` exists (created on first touch). Over the licence Jira
blocks issue creation, so ``POST /rest/api/2/issue`` answers 403 while the licence group
holds more users than there are seats. Edits (``PUT``) accept ``fields`` and ``update`` (``set``)
for summary, description and labels and answer 204; any other field answers 400 naming it,
as Jira does for a field that is not on the edit screen.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from seatgate_simulator.context import Refused, base_url, int_param, json_response, require_user, rest_error, state_of
from seatgate_simulator.faults import json_body
from seatgate_simulator.pages import ISSUE_KEY, PROJECT_KEY
from seatgate_simulator.state import TRANSITIONS, Comment, Issue, Worklog, now_ms

OVER_LICENCE = (
    "You have exceeded the number of users allowed to use Jira applications under your license. "
    "Issue creation is disabled."
)


def _issue_key(request: web.Request) -> str | None:
    key = request.match_info["key"]
    return key if ISSUE_KEY.match(key) else None


def _missing(key: str) -> web.Response:
    return rest_error("jira", 404, f"Issue Does Not Exist: {key}")


def issue_key_or_404(request: web.Request) -> str:
    key = _issue_key(request)
    if key is None:
        raise Refused(_missing(request.match_info["key"]))
    return key


def comment_json(request: web.Request, key: str, c: Comment) -> dict[str, Any]:
    return {
        "id": str(c.comment_id),
        "self": f"{base_url(request)}/rest/api/2/issue/{key}/comment/{c.comment_id}",
        "author": {"name": c.author},
        "body": c.body,
        "created": c.created_ms,
    }


EDITABLE_FIELDS = ("summary", "description", "labels")


def page_of(items: list[dict[str, Any]], start: int, size: int, key: str) -> dict[str, Any]:
    """Jira's paged list: ``startAt``, ``maxResults``, ``total`` and the items under ``key``."""
    return {"startAt": start, "maxResults": size, "total": len(items), key: items[start : start + size]}


def worklog_json(request: web.Request, key: str, w: Worklog) -> dict[str, Any]:
    return {
        "self": f"{base_url(request)}/rest/api/2/issue/{key}/worklog/{w.worklog_id}",
        "id": str(w.worklog_id),
        "issueId": issue_id(key),
        "author": {"name": w.author},
        "comment": w.comment,
        "started": w.started,
        "timeSpentSeconds": w.seconds,
        "timeSpent": _duration(w.seconds),
        "created": w.created_ms,
    }


def issue_id(key: str) -> str:
    return str(10000 + int(key.rsplit("-", 1)[1]))


def issue_json(request: web.Request, issue: Issue) -> dict[str, Any]:
    base = base_url(request)
    project = issue.key.rsplit("-", 1)[0]
    comments = [comment_json(request, issue.key, c) for c in issue.comments]
    worklogs = [worklog_json(request, issue.key, w) for w in issue.worklogs]
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue_id(issue.key),
        "key": issue.key,
        "self": f"{base}/rest/api/2/issue/{issue.key}",
        "fields": {
            "summary": issue.summary,
            "description": issue.description,
            "labels": issue.labels,
            "status": {"name": issue.status},
            "project": {"key": project, "self": f"{base}/rest/api/2/project/{project}"},
            "issuetype": {"name": "Task", "subtask": False},
            "comment": {**page_of(comments, 0, len(comments), "comments"), "maxResults": len(comments)},
            "worklog": {**page_of(worklogs, 0, len(worklogs), "worklogs"), "maxResults": len(worklogs)},
            "attachment": [
                {
                    "id": str(a.attachment_id),
                    "filename": a.filename,
                    "size": a.size,
                    "mimeType": a.mime_type,
                    "author": {"name": a.author},
                }
                for a in issue.attachments
            ],
        },
    }


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    parts = [f"{hours}h"] if hours else []
    if rest // 60 or not parts:
        parts.append(f"{rest // 60}m")
    return " ".join(parts)


_DURATION_PART = re.compile(r"^(\d+)([wdhm])$")
_UNIT_SECONDS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}  # Jira's default 8h day, 5d week


def parse_duration(text: str) -> int | None:
    """Jira's ``timeSpent`` ("1h 30m", "2d"); None when it is not one."""
    total = 0
    for part in text.split():
        m = _DURATION_PART.match(part)
        if m is None:
            return None
        total += int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    return total or None


async def get_issue(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = issue_key_or_404(request)
    return json_response(issue_json(request, state_of(request).issue(key)))


async def add_comment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    key = issue_key_or_404(request)
    body = await json_body(request)
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return rest_error("jira", 400, "Comment body can not be empty!")
    comment = state_of(request).add_comment(key, user, text)
    return json_response(comment_json(request, key, comment), 201)


async def list_comments(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = issue_key_or_404(request)
    comments = [comment_json(request, key, c) for c in state_of(request).issue(key).comments]
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", max(len(comments), 1), minimum=1)
    return json_response(page_of(comments, start, size, "comments"))


async def edit_issue(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = issue_key_or_404(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        return rest_error("jira", 400, "Can not deserialize the request body: it is not a JSON object.")
    changes = dict(body.get("fields") or {})
    for name, operations in (body.get("update") or {}).items():
        for op in operations if isinstance(operations, list) else []:
            if isinstance(op, dict) and "set" in op:
                changes[name] = op["set"]
    errors = {
        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name in changes
        if name not in EDITABLE_FIELDS
    }
    summary = changes.get("summary")
    if "summary" in changes and (not isinstance(summary, str) or not summary.strip()):
        errors["summary"] = "You must specify a summary of the issue."
    labels = changes.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        errors["labels"] = "Labels must be a list of strings."
    if errors:  # all or nothing, as Jira validates the whole edit first
        return json_response({"errorMessages": [], "errors": errors}, 400)
    issue = state_of(request).issue(key)
    issue.summary = changes.get("summary", issue.summary)
    issue.description = changes.get("description", issue.description)
    issue.labels = changes.get("labels", issue.labels)
    state_of(request).board_version += 1
    return web.Response(status=204)


async def list_worklogs(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = issue_key_or_404(request)
    worklogs = [worklog_json(request, key, w) for w in state_of(request).issue(key).worklogs]
    return json_response(page_of(worklogs, 0, len(worklogs), "worklogs"))


async def add_worklog(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    key = issue_key_or_404(request)
    body = await json_body(request)
    body = body if isinstance(body, dict) else {}
    seconds = body.get("timeSpentSeconds")
    if seconds is None and isinstance(body.get("timeSpent"), str):
        seconds = parse_duration(body["timeSpent"])
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        return json_response(
            {"errorMessages": [], "errors": {"timeLogged": "You must indicate the time spent working."}}, 400
        )
    state = state_of(request)
    started, comment = body.get("started"), body.get("comment")
    if not isinstance(started, str):
        started = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
    if not isinstance(comment, str):
        comment = ""
    worklog = Worklog(state.next_id(), user, comment, seconds, started, now_ms())
    state.issue(key).worklogs.append(worklog)
    return json_response(worklog_json(request, key, worklog), 201)


async def get_transitions(request: web.Request) -> web.StreamResponse:
    require_user(request)
    issue_key_or_404(request)
    return json_response(
        {
            "expand": "transitions",
            "transitions": [{"id": tid, "name": name, "to": {"name": name}} for tid, name in TRANSITIONS.items()],
        }
    )


async def do_transition(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = issue_key_or_404(request)
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
    r.add_put("/rest/api/2/issue/{key}", edit_issue)
    r.add_get("/rest/api/2/issue/{key}/comment", list_comments)
    r.add_post("/rest/api/2/issue/{key}/comment", add_comment)
    r.add_get("/rest/api/2/issue/{key}/worklog", list_worklogs)
    r.add_post("/rest/api/2/issue/{key}/worklog", add_worklog)
    r.add_get("/rest/api/2/issue/{key}/transitions", get_transitions)
    r.add_post("/rest/api/2/issue/{key}/transitions", do_transition)
