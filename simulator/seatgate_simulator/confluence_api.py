"""Confluence 8-9 content REST that scripts use: content (pages and comments), spaces, CQL search.

``atlassian-python-api`` creates pages and comments with ``POST /rest/api/content/`` (200 with
the new content, not 201), reads them with ``GET /rest/api/content/{id}?expand=...`` or by
``spaceKey`` + ``title``, and searches with ``GET /rest/api/search?cql=...``. Collections are
pages of ``results`` with ``start``, ``limit``, ``size`` and ``_links`` (``next`` while more
remain). Errors use Confluence's ``{"statusCode", "data", "message", "reason"}`` body. Shapes
follow https://docs.atlassian.com/ConfluenceServer/rest/8.5.0/.

Ids below ``FIRST_CREATED_PAGE_ID`` always exist (the simulator's "any page id exists"); ids
of created content exist once created. Any space key exists. CQL: ``AND``-joined clauses on
``type``, ``space``, ``title``, ``text``, ``id`` and ``creator`` with ``=``, ``~`` or ``in``;
anything else answers 400.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from seatgate_simulator.context import (
    Refused,
    base_url,
    int_param,
    json_response,
    require_user,
    rest_error,
    state_of,
)
from seatgate_simulator.directory_api import CONFLUENCE_MAX_LIMIT
from seatgate_simulator.faults import json_body
from seatgate_simulator.pages import DEMO_PAGES
from seatgate_simulator.state import DEFAULT_SPACE, FIRST_CREATED_PAGE_ID, Page, SimState

DEFAULT_LIMIT = 25
SPACE_KEY = re.compile(r"^(~[\w.@-]+|[A-Za-z0-9]{1,255})$")
OVER_LICENCE = "Your licence's user limit has been exceeded: content cannot be created or edited."
_CQL_CLAUSE = re.compile(r'^\s*([\w.]+)\s*(=|~|in)\s*(?:"([^"]*)"|([\w~.-]+)|\(([^)]*)\))\s*$', re.IGNORECASE)
_CQL_FIELDS = {"type", "space", "space.key", "title", "text", "id", "content", "creator"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def space_json(request: web.Request, key: str) -> dict[str, Any]:
    base = base_url(request)
    return {
        "id": 98000 + sum(map(ord, key)),
        "key": key,
        "name": f"Space {key}",
        "type": "personal" if key.startswith("~") else "global",
        "_links": {"webui": f"/display/{key}", "self": f"{base}/rest/api/space/{key}"},
        "_expandable": {"homepage": "", "description": "", "metadata": ""},
    }


def content_json(request: web.Request, page: Page, expand: set[str]) -> dict[str, Any]:
    base = base_url(request)
    author = {"type": "known", "username": page.creator or "admin"}
    data: dict[str, Any] = {
        "id": str(page.page_id),
        "type": page.kind,
        "status": "current",
        "title": page.title,
        "space": space_json(request, page.space),
        "version": {"by": author, "when": _iso(page.updated_ms), "number": page.version, "minorEdit": False},
        "history": {"latest": True, "createdBy": author, "createdDate": _iso(page.updated_ms)},
        "extensions": {"position": "none"},
        "_links": {
            "webui": f"/pages/viewpage.action?pageId={page.container or page.page_id}",
            "tinyui": f"/x/{page.page_id}",
            "collection": "/rest/api/content",
            "base": base,
            "context": "",
            "self": f"{base}/rest/api/content/{page.page_id}",
        },
        "_expandable": {"children": "", "descendants": "", "ancestors": "", "body": "", "metadata": ""},
    }
    if page.container is not None:
        data["container"] = {"id": str(page.container), "type": "page", "status": "current"}
    representations = {e.split(".", 1)[1] for e in expand if e.startswith("body.")}
    if representations:
        data["body"] = {r: {"value": page.body, "representation": r} for r in representations}
        del data["_expandable"]["body"]
    return data


def _expand(request: web.Request) -> set[str]:
    return {e.strip() for e in request.query.get("expand", "").split(",") if e.strip()}


def _not_found(content_id: str) -> Refused:
    return Refused(rest_error("confluence", 404, f"No content found with id: ContentId{{id={content_id}}}"))


def existing_page(state: SimState, raw_id: object) -> Page:
    text = str(raw_id)
    if not text.isdigit():
        raise _not_found(text)
    page_id = int(text)
    if page_id in state.pages or 0 < page_id < FIRST_CREATED_PAGE_ID:
        return state.page(page_id)
    raise _not_found(text)


def collection(request: web.Request, items: list[dict[str, Any]], start: int, limit: int) -> dict[str, Any]:
    """Confluence's paged collection; ``_links.next`` (relative, with the same query) while more remain."""
    base = base_url(request)
    body: dict[str, Any] = {
        "results": items[start : start + limit],
        "start": start,
        "limit": limit,
        "size": len(items[start : start + limit]),
        "_links": {"self": f"{base}{request.path}", "base": base, "context": ""},
    }
    if start + limit < len(items):
        query = {**request.query, "start": str(start + limit), "limit": str(limit)}
        body["_links"]["next"] = f"{request.path}?{urlencode(query)}"
    return body


def _paging(request: web.Request) -> tuple[int, int]:
    start = int_param(request, "start", 0)
    limit = int_param(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=CONFLUENCE_MAX_LIMIT)
    return start, limit


def _known_pages(state: SimState) -> list[Page]:
    for page_id in DEMO_PAGES:
        state.page(page_id)
    return sorted(state.pages.values(), key=lambda p: p.page_id)


async def list_content(request: web.Request) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    start, limit = _paging(request)
    kind = request.query.get("type", "page")
    space, title = request.query.get("spaceKey"), request.query.get("title")
    found = [
        p
        for p in _known_pages(state)
        if p.kind == kind and (space is None or p.space == space) and (title is None or p.title == title)
    ]
    expand = _expand(request)
    return json_response(collection(request, [content_json(request, p, expand) for p in found], start, limit))


async def get_content(request: web.Request) -> web.StreamResponse:
    require_user(request)
    page = existing_page(state_of(request), request.match_info["content_id"])
    return json_response(content_json(request, page, _expand(request)))


def _storage_value(body: dict[str, Any]) -> str | None:
    content = body.get("body")
    for representation in ("storage", "wiki", "editor"):
        part = content.get(representation) if isinstance(content, dict) else None
        if isinstance(part, dict) and isinstance(part.get("value"), str):
            return part["value"]
    return None


async def create_content(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    state = state_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        return rest_error("confluence", 400, "Could not read the content: the body is not a JSON object.")
    if state.over_licence:
        return rest_error("confluence", 403, OVER_LICENCE)
    kind = body.get("type")
    value = _storage_value(body)
    if value is None:
        return rest_error("confluence", 400, "Content body is required (body.storage.value).")
    if kind == "comment":
        container = body.get("container")
        page = existing_page(state, container.get("id") if isinstance(container, dict) else None)
        comment = state.create_content("comment", f"Re: {page.title}", value, user, page.space, page.page_id)
        return json_response(content_json(request, comment, {"body.storage"}))
    if kind not in ("page", "blogpost"):
        return rest_error("confluence", 400, f"Unsupported content type: {kind!r}.")
    space = body.get("space")
    space_key = space.get("key") if isinstance(space, dict) else None
    title = body.get("title")
    if not isinstance(space_key, str) or not SPACE_KEY.match(space_key):
        return rest_error("confluence", 400, "A space key is required to create content (space.key).")
    if not isinstance(title, str) or not title.strip():
        return rest_error("confluence", 400, "A title is required to create a page.")
    if state.find_page(space_key, title) is not None:
        return rest_error(
            "confluence", 400, f"A page with this title already exists: A page already exists with the title {title}"
        )
    page = state.create_content("page", title, value, user, space_key)
    return json_response(content_json(request, page, {"body.storage"}))


async def list_spaces(request: web.Request) -> web.StreamResponse:
    require_user(request)
    start, limit = _paging(request)
    keys = sorted({DEFAULT_SPACE} | {p.space for p in state_of(request).pages.values()})
    return json_response(collection(request, [space_json(request, k) for k in keys], start, limit))


async def get_space(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = request.match_info["key"]
    if not SPACE_KEY.match(key):
        return rest_error("confluence", 404, f"No space with key : {key}")
    return json_response(space_json(request, key))


def parse_cql(cql: str) -> list[tuple[str, str, set[str]]]:
    """``[(field, operator, values)]``; ValueError with Confluence's message when it cannot parse."""
    clauses = []
    for part in re.split(r"\s+and\s+", cql.strip(), flags=re.IGNORECASE):
        m = _CQL_CLAUSE.match(part)
        if m is None or m.group(1).lower() not in _CQL_FIELDS:
            raise ValueError(f"Could not parse cql : {cql}")
        name, op, quoted, bare, listed = m.groups()
        values = [quoted if quoted is not None else bare] if listed is None else listed.split(",")
        clauses.append((name.lower(), op.lower(), {v.strip().strip('"').lower() for v in values if v.strip()}))
    return clauses


def _cql_matches(page: Page, clauses: list[tuple[str, str, set[str]]]) -> bool:
    for name, op, values in clauses:
        field = {
            "type": page.kind,
            "space": page.space,
            "space.key": page.space,
            "title": page.title,
            "text": f"{page.title} {page.body}",
            "id": str(page.page_id),
            "content": str(page.page_id),
            "creator": page.creator or "admin",
        }[name].lower()
        if op == "~":
            if not any(v in field for v in values):
                return False
        elif field not in values:
            return False
    return True


async def search(request: web.Request) -> web.StreamResponse:
    require_user(request)
    state = state_of(request)
    cql = request.query.get("cql", "")
    if not cql.strip():
        return rest_error("confluence", 400, "cql query parameter is required")
    try:
        clauses = parse_cql(cql)
    except ValueError as exc:
        return rest_error("confluence", 400, str(exc))
    start, limit = _paging(request)
    found = [p for p in _known_pages(state) if _cql_matches(p, clauses)]
    results = [
        {
            "content": content_json(request, p, set()),
            "title": p.title,
            "excerpt": re.sub(r"<[^>]+>", "", p.body)[:200],
            "url": f"/pages/viewpage.action?pageId={p.container or p.page_id}",
            "resultGlobalContainer": {"title": f"Space {p.space}", "displayUrl": f"/display/{p.space}"},
            "entityType": "content",
            "iconCssClass": f"aui-icon content-type-{p.kind}",
            "lastModified": _iso(p.updated_ms),
            "friendlyLastModified": "just a moment ago",
            "score": 1.0,
        }
        for p in found
    ]
    body = collection(request, results, start, limit)
    body.update({"totalSize": len(results), "cqlQuery": cql, "searchDuration": 1})
    return json_response(body)


def add_routes(app: web.Application) -> None:
    r = app.router
    for path in ("/rest/api/content", "/rest/api/content/"):  # the client posts with a trailing slash
        r.add_get(path, list_content)
        r.add_post(path, create_content)
    r.add_get("/rest/api/content/{content_id}", get_content)
    r.add_get("/rest/api/space", list_spaces)
    r.add_get("/rest/api/space/{key}", get_space)
    r.add_get("/rest/api/search", search)
