"""HTML pages a browser (or a headless-browser test) can use.

Stable element ids, for tests to drive:

* login: ``login-form`` (``login-form-username``, ``login-form-password``, ``login-form-remember-me``,
  ``login-form-submit``, hidden ``login-form-destination``), ``login-error``, ``saml-form``
  (``saml-user``, ``saml-submit``);
* every page: ``header-user``, ``logout-link``, ``home-link``;
* Jira: ``dashboard`` (links ``issue-link-<KEY>``, ``queue-link``, ``board-link``), issue page
  (``issue-key``, ``issue-summary``, ``issue-status``, ``issue-comments``, ``comment-form``,
  ``comment-body``, ``comment-submit``, ``transition-button`` with ``data-transition``),
  ``queue`` (``queue-issues``), ``board``;
* Confluence: ``dashboard`` (links ``page-link-<id>``), ``page-title``, ``main-content``,
  ``edit-page-link``, ``editor-form`` (``editor-content``, ``editor-save``), ``over-licence``.

Pages need a licensed user; anonymous visitors are redirected to the login form with
``os_destination``, a session that lost its licence gets the 403 no-access page.
"""

from __future__ import annotations

import re
from html import escape

from aiohttp import web

from seatgate_simulator.context import (
    dashboard_url,
    identity_of,
    redirect,
    require_user,
    state_of,
)
from seatgate_simulator.state import TRANSITIONS
from seatgate_simulator.templating import layout

ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}-[1-9][0-9]{0,8}$")
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
DEMO_ISSUES = ("SIM-1", "SIM-2", "SIM-3", "SIM-4", "SIM-5")
DEMO_PAGES = (1001, 1002, 1003)
SERVICE_DESK_KEY = "SD"
LOGIN_MESSAGES = {
    "AUTHENTICATED_FAILED": "Sorry, your username and password are incorrect - please try again.",
    "AUTHORISATION_FAILED": (
        "You do not have a permission to log in. If you think this is incorrect, please contact your administrator."
    ),
}


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def safe_destination(destination: str | None) -> str | None:
    """Only same-site paths: ``os_destination`` must not become an open redirect."""
    if destination and destination.startswith("/") and not destination.startswith("//"):
        return destination
    return None


def _page(request: web.Request, title: str, body: str, kind: str, **data: str) -> web.Response:
    state = state_of(request)
    user = identity_of(request).shown_name
    attrs = {"page": kind, "poll-interval": str(state.poll_interval), **data}
    return html(layout(state.config.product, title, body, user=None if user == "anonymous" else user, data=attrs))


def login_page(
    product: str, *, message: str | None = None, destination: str | None = None, username: str = "", status: int = 200
) -> web.Response:
    action = "/login.jsp" if product == "jira" else "/dologin.action"
    error = f'<div id="login-error" class="aui-message error">{escape(message)}</div>' if message else ""
    body = f"""<h1>Log in</h1>
{error}
<form id="login-form" action="{action}" method="post">
<label for="login-form-username">Username</label>
<input id="login-form-username" name="os_username" type="text" value="{escape(username)}" autofocus>
<label for="login-form-password">Password</label>
<input id="login-form-password" name="os_password" type="password">
<label><input id="login-form-remember-me" name="os_cookie" type="checkbox" value="true"> Remember me</label>
<input id="login-form-destination" name="os_destination" type="hidden" value="{escape(destination or "")}">
<input type="hidden" name="login" value="Log in">
<button id="login-form-submit" type="submit">Log in</button>
</form>
<form id="saml-form" action="/plugins/servlet/saml/auth" method="get">
<label for="saml-user">Single sign-on as</label> <input id="saml-user" name="user" type="text">
<input type="hidden" name="os_destination" value="{escape(destination or "")}">
<button id="saml-submit" type="submit">Continue with SSO</button>
</form>"""
    return html(layout(product, "Log in", body, data={"page": "login"}), status)


async def login_form(request: web.Request) -> web.StreamResponse:
    q = request.query
    message = None
    if q.get("permissionViolation") == "true":
        message = "You are not logged in. Log in to continue."
    elif q.get("logout") == "true":
        message = "You are now logged out."
    return login_page(
        state_of(request).config.product, message=message, destination=safe_destination(q.get("os_destination"))
    )


async def root(request: web.Request) -> web.StreamResponse:
    return redirect(dashboard_url(state_of(request).config.product))


# -- Jira ------------------------------------------------------------------------------------------


async def jira_dashboard(request: web.Request) -> web.StreamResponse:
    require_user(request)
    links = "".join(f'<li><a id="issue-link-{k}" href="/browse/{k}">{k}</a></li>' for k in DEMO_ISSUES)
    body = f"""<section id="dashboard"><h1>System dashboard</h1>
<h2>Assigned to me</h2><ul id="dashboard-issues">{links}</ul>
<p><a id="queue-link" href="/jira/servicedesk/projects/{SERVICE_DESK_KEY}/queues/custom/1">Service desk queue</a>
 | <a id="board-link" href="/secure/RapidBoard.jspa?rapidView=1">Board</a></p></section>"""
    return _page(request, "System dashboard", body, "dashboard")


def _not_found_page(request: web.Request, what: str) -> web.Response:
    response = _page(request, "Not found", f'<h1 id="not-found">{escape(what)} does not exist.</h1>', "error")
    response.set_status(404)
    return response


async def jira_issue(request: web.Request) -> web.StreamResponse:
    require_user(request)
    key = request.match_info["key"]
    if not ISSUE_KEY.match(key):
        return _not_found_page(request, f"Issue {key}")
    issue = state_of(request).issue(key)
    comments = "".join(
        f'<li class="comment" id="comment-{c.comment_id}"><b>{escape(c.author)}</b>: {escape(c.body)}</li>'
        for c in issue.comments
    )
    buttons = "".join(
        f'<button type="button" class="transition-button" id="transition-{tid}" data-transition="{tid}">'
        f"{escape(name)}</button>"
        for tid, name in TRANSITIONS.items()
    )
    body = f"""<article id="issue">
<h1><span id="issue-key">{escape(key)}</span> <span id="issue-summary">{escape(issue.summary)}</span></h1>
<p>Status: <span id="issue-status">{escape(issue.status)}</span></p>
<p id="transitions">{buttons}
<button type="button" id="transition-button" data-transition="21">Start progress</button></p>
<h2>Comments</h2><ol id="issue-comments">{comments}</ol>
<form id="comment-form" action="/secure/AddComment.jspa" method="post">
<input type="hidden" name="id" value="{escape(key)}">
<textarea id="comment-body" name="comment" rows="4" cols="60"></textarea>
<button id="comment-submit" type="submit">Add</button>
</form></article>"""
    return _page(request, f"[{key}] {issue.summary}", body, "issue", key=key)


async def jira_add_comment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await request.post()
    key, text = str(form.get("id", "")), str(form.get("comment", "")).strip()
    if not ISSUE_KEY.match(key):
        return _not_found_page(request, f"Issue {key}")
    if text:
        state_of(request).add_comment(key, user, text)
    return redirect(f"/browse/{key}")


async def jsm_queue(request: web.Request) -> web.StreamResponse:
    require_user(request)
    project = request.match_info["project"]
    if not PROJECT_KEY.match(project):
        return _not_found_page(request, f"Project {project}")
    rows = "".join(
        f'<li><a id="issue-link-{project}-{n}" href="/browse/{project}-{n}">{project}-{n}</a></li>' for n in range(1, 6)
    )
    body = f'<section id="queue"><h1>{escape(project)}: All open</h1><ul id="queue-issues">{rows}</ul></section>'
    return _page(request, f"{project} queue", body, "queue", project=project)


async def jira_board(request: web.Request) -> web.StreamResponse:
    require_user(request)
    view = request.query.get("rapidView", "1")
    if not view.isdigit():
        return _not_found_page(request, f"Board {view}")
    body = f'<section id="board"><h1>Board {escape(view)}</h1><ul id="board-issues"></ul></section>'
    return _page(request, "Board", body, "board", board=view)


# -- Confluence ------------------------------------------------------------------------------------


def _page_id(request: web.Request) -> int | None:
    raw = request.query.get("pageId", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**12 else None


async def confluence_dashboard(request: web.Request) -> web.StreamResponse:
    require_user(request)
    links = "".join(
        f'<li><a id="page-link-{p}" href="/pages/viewpage.action?pageId={p}">Page {p}</a></li>' for p in DEMO_PAGES
    )
    body = f'<section id="dashboard"><h1>Dashboard</h1><ul id="dashboard-pages">{links}</ul></section>'
    return _page(request, "Dashboard", body, "dashboard")


async def confluence_view(request: web.Request) -> web.StreamResponse:
    require_user(request)
    page_id = _page_id(request)
    if page_id is None:
        return _not_found_page(request, "Page")
    page = state_of(request).page(page_id)
    body = f"""<article id="page"><h1 id="page-title">{escape(page.title)}</h1>
<p id="page-version">Version {page.version}</p>
<div id="main-content">{page.body}</div>
<a id="edit-page-link" href="/pages/editpage.action?pageId={page_id}">Edit</a></article>"""
    return _page(request, page.title, body, "view", **{"page-id": str(page_id)})


async def confluence_edit(request: web.Request) -> web.StreamResponse:
    require_user(request)
    page_id = _page_id(request)
    if page_id is None:
        return _not_found_page(request, "Page")
    page = state_of(request).page(page_id)
    body = f"""<h1 id="page-title">Editing {escape(page.title)}</h1>
<form id="editor-form" action="/pages/doeditpage.action?pageId={page_id}" method="post">
<textarea id="editor-content" name="content" rows="12" cols="80">{escape(page.body)}</textarea>
<button id="editor-save" type="submit">Publish</button>
</form>"""
    return _page(request, f"Edit {page.title}", body, "edit", **{"page-id": str(page_id)})


async def confluence_save(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    page_id = _page_id(request)
    if page_id is None:
        return _not_found_page(request, "Page")
    state = state_of(request)
    if state.over_licence:
        # Over the licence Confluence refuses to create or edit content.
        response = _page(
            request,
            "Licence exceeded",
            '<p id="over-licence" class="aui-message error">Your '
            "licence's user limit has been exceeded: content cannot be edited.</p>",
            "error",
        )
        response.set_status(403)
        return response
    form = await request.post()
    state.edit_page(page_id, user, escape(str(form.get("content", ""))))
    return redirect(f"/pages/viewpage.action?pageId={page_id}")


def add_routes(app: web.Application, product: str) -> None:
    r = app.router
    r.add_get("/", root)
    if product == "jira":
        r.add_get("/login.jsp", login_form)
        r.add_get("/secure/Dashboard.jspa", jira_dashboard)
        r.add_get("/browse/{key}", jira_issue)
        r.add_post("/secure/AddComment.jspa", jira_add_comment)
        r.add_get("/jira/servicedesk/projects/{project}/queues/custom/{queue:\\d+}", jsm_queue)
        r.add_get("/secure/RapidBoard.jspa", jira_board)
    else:
        r.add_get("/login.action", login_form)
        r.add_get("/index.action", confluence_dashboard)
        r.add_get("/dashboard.action", confluence_dashboard)
        r.add_get("/pages/viewpage.action", confluence_view)
        r.add_get("/pages/editpage.action", confluence_edit)
        r.add_post("/pages/doeditpage.action", confluence_save)
