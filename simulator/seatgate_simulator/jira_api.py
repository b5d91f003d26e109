"""Jira 9.x REST that client libraries call besides issues: server info, fields, search, projects, users.

``jira.JIRA(...)`` (pycontribs) reads ``/rest/api/2/serverInfo`` in its constructor and
``/rest/api/2/field`` before its first search; scripts then search with JQL (GET, or POST
for long queries), list projects and look users up. Shapes and codes follow the Jira Server
REST reference (https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/).

JQL: only ``field = value`` and ``field in (a, b)`` clauses on ``project``, ``key``,
``status`` and ``reporter`` joined by ``AND``, plus ``ORDER BY``; anything else answers 400
as Jira does for a query it cannot parse. Results cover the issues touched so far and the
demo issues.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from seatgate_simulator.content_api import issue_json
from seatgate_simulator.context import base_url, int_param, json_response, require_user, rest_error, state_of
from seatgate_simulator.directory_api import jira_user
from seatgate_simulator.faults import json_body
from seatgate_simulator.pages import DEMO_ISSUES, ISSUE_KEY, PROJECT_KEY, SERVICE_DESK_KEY
from seatgate_simulator.state import Issue

VERSION = (9, 12, 2)
BUILD_NUMBER = 9120002
SEARCH_MAX_RESULTS = 1000  # jira.search.views.default.max
USER_SEARCH_MAX_RESULTS = 1000

# The system fields a script can name in JQL or in ``fields=``: (id, name, clause names, schema type).
SYSTEM_FIELDS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("summary", "Summary", ("summary",), "string"),
    ("description", "Description", ("description",), "string"),
    ("status", "Status", ("status",), "status"),
    ("project", "Project", ("project",), "project"),
    ("issuetype", "Issue Type", ("issuetype", "type"), "issuetype"),
    ("issuekey", "Key", ("id", "issue", "issuekey", "key"), "string"),
    ("labels", "Labels", ("labels",), "array"),
    ("comment", "Comment", ("comment",), "comments-page"),
    ("worklog", "Log Work", ("worklog",), "array"),
    ("attachment", "Attachment", ("attachments",), "array"),
    ("reporter", "Reporter", ("reporter",), "user"),
    ("assignee", "Assignee", ("assignee",), "user"),
    ("created", "Created", ("created", "createdDate"), "datetime"),
    ("updated", "Updated", ("updated", "updatedDate"), "datetime"),
)

_CLAUSE = re.compile(r'^\s*(\w+)\s*(=|in)\s*(?:"([^"]*)"|(\w[\w-]*)|\(([^)]*)\))\s*$', re.IGNORECASE)
_ORDER_BY = re.compile(r"\s+order\s+by\s+.*$", re.IGNORECASE | re.DOTALL)
_JQL_FIELDS = {"project", "key", "issuekey", "issue", "id", "status", "reporter"}


async def server_info(request: web.Request) -> web.StreamResponse:
    # Anonymous access is allowed (the login page uses it too), as on a real instance.
    return json_response(
        {
            "baseUrl": base_url(request),
            "version": ".".join(map(str, VERSION)),
            "versionNumbers": list(VERSION),
            "deploymentType": "Server",
            "buildNumber": BUILD_NUMBER,
            "buildDate": "2024-01-15T00:00:00.000+0000",
            "serverTime": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
            "scmInfo": "0000000000000000000000000000000000000000",
            "serverTitle": "Jira (seatgate simulator)",
        }
    )


async def fields(request: web.Request) -> web.StreamResponse:
    require_user(request)
    return json_response(
        [
            {
                "id": fid,
                "name": name,
                "custom": False,
                "orderable": fid not in ("issuekey", "status", "created", "updated"),
                "navigable": True,
                "searchable": True,
                "clauseNames": list(clauses),
                "schema": {"type": schema, "system": fid},
            }
            for fid, name, clauses, schema in SYSTEM_FIELDS
        ]
    )


def parse_jql(jql: str) -> list[tuple[str, set[str]]]:
    """``[(field, accepted values)]``; ValueError with Jira's message for what it cannot parse."""
    text = _ORDER_BY.sub("", jql).strip()
    if not text:
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        m = _CLAUSE.match(part)
        if m is None or m.group(1).lower() not in _JQL_FIELDS:
            raise ValueError(f"Error in the JQL Query: Unable to parse the query '{part.strip()}'.")
        name, _, quoted, bare, listed = m.groups()
        values = [quoted if quoted is not None else bare] if listed is None else listed.split(",")
        clauses.append((name.lower(), {v.strip().strip('"').lower() for v in values if v.strip()}))
    return clauses


def _matches(issue: Issue, clauses: list[tuple[str, set[str]]]) -> bool:
    for name, values in clauses:
        if name == "project":
            value = issue.key.rsplit("-", 1)[0]
        elif name == "status":
            value = issue.status
        elif name == "reporter":
            value = "admin"
        else:
            value = issue.key
        if value.lower() not in values:
            return False
    return True


async def search(request: web.Request) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    if request.method == "POST":
        body = await json_body(request)
        if not isinstance(body, dict):
            return rest_error("jira", 400, "The request body is not a JSON search request.")
        jql, start_raw, size_raw = body.get("jql") or "", body.get("startAt", 0), body.get("maxResults", 50)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (start_raw, size_raw)):
            return rest_error("jira", 400, "startAt and maxResults must be non-negative integers.")
        start, size = start_raw, min(size_raw, SEARCH_MAX_RESULTS)
    else:
        jql = request.query.get("jql", "")
        start = int_param(request, "startAt", 0)
        size = int_param(request, "maxResults", 50, maximum=SEARCH_MAX_RESULTS)
    if not isinstance(jql, str):
        return rest_error("jira", 400, "jql must be a string.")
    try:
        clauses = parse_jql(jql)
    except ValueError as exc:
        return rest_error("jira", 400, str(exc))
    named = [v.upper() for name, values in clauses if name in ("key", "issuekey", "issue", "id") for v in values]
    for key in (*DEMO_ISSUES, *(k for k in named if ISSUE_KEY.match(k))):
        state.issue(key)  # any issue key exists, as on the pages
    found = sorted((i for i in state.issues.values() if _matches(i, clauses)), key=_issue_order)
    return json_response(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(found),
            "issues": [issue_json(request, i) for i in found[start : start + size]],
        }
    )


def _issue_order(issue: Issue) -> tuple[str, int]:
    project, number = issue.key.rsplit("-", 1)
    return project, -int(number)  # Jira's default: newest (highest number) first


def project_json(request: web.Request, key: str) -> dict[str, Any]:
    return {
        "expand": "description,lead,url,projectKeys",
        "self": f"{base_url(request)}/rest/api/2/project/{key}",
        "id": str(10000 + sum(map(ord, key))),
        "key": key,
        "name": f"Project {key}",
        "projectTypeKey": "service_desk" if key == SERVICE_DESK_KEY else "software",
    }


async def projects(request: web.Request) -> web.StreamResponse:
    require_user(request)
    keys = {"SIM", SERVICE_DESK_KEY} | {k.rsplit("-", 1)[0] for k in state_of(request).issues}
    return json_response([project_json(request, k) for k in sorted(keys)])


async def project(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = request.match_info["key"]
    if not PROJECT_KEY.match(key):
        return rest_error("jira", 404, f"No project could be found with key '{key}'.")
    return json_response({**project_json(request, key), "lead": {"name": "admin"}, "issueTypes": []})


async def user_search(request: web.Request) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    needle = request.query.get("username")
    if not needle:
        return rest_error("jira", 400, "The username query parameter was not provided")
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", 50, minimum=1, maximum=USER_SEARCH_MAX_RESULTS)
    needle = needle.lower()
    found = [
        u
        for u in state.users.values()
        if u.name.lower().startswith(needle)
        or u.email.lower().startswith(needle)
        or any(w.lower().startswith(needle) for w in u.display_name.split())
    ]
    # A bare list, not a page: Jira's user search pages with startAt/maxResults but reports no total.
    return json_response([jira_user(request, u) for u in found[start : start + size]])


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/rest/api/2/serverInfo", server_info)
    r.add_get("/rest/api/2/field", fields)
    r.add_get("/rest/api/2/search", search)
    r.add_post("/rest/api/2/search", search)
    r.add_get("/rest/api/2/project", projects)
    r.add_get("/rest/api/2/project/{key}", project)
    r.add_get("/rest/api/2/user/search", user_search)
