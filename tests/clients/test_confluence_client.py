"""`atlassian-python-api` against Confluence through seatgate: create a page, read it, comment,
search with CQL, as an unlicensed user's first call and as the first call after revocation."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable

import pytest
from atlassian import Confluence

from tests.clients.conftest import assert_reached_licensed, call, new_user, wait_revoked
from tests.e2e.stack import Stack

pytestmark = pytest.mark.slow

SPACE = "CLI"


def admin_page(stack: Stack, title: str) -> str:
    """A page to work on, made by the (licensed, excluded) admin directly at the product."""
    body = {"type": "page", "title": title, "space": {"key": SPACE}, "body": {"storage": {"value": "<p>x</p>"}}}
    request = urllib.request.Request(
        f"{stack.sim_url}/rest/api/content",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(b"admin:admin").decode(),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["id"]


Operation = Callable[[Confluence, str, str], tuple[str, str]]


def create(confluence: Confluence, user: str, page_id: str) -> tuple[str, str]:
    title = f"Notes of {user} {page_id}"
    created = confluence.create_page(space=SPACE, title=title, body="<p>Written through seatgate.</p>")
    assert created["title"] == title
    return "POST", "/rest/api/content"


def read(confluence: Confluence, user: str, page_id: str) -> tuple[str, str]:
    page = confluence.get_page_by_id(page_id, expand="body.storage")
    assert page["id"] == page_id and page["body"]["storage"]["value"] == "<p>x</p>"
    return "GET", f"/rest/api/content/{page_id}"


def comment(confluence: Confluence, user: str, page_id: str) -> tuple[str, str]:
    added = confluence.add_comment(page_id, f"Comment by {user}")
    assert added["type"] == "comment" and added["container"]["id"] == page_id
    return "POST", "/rest/api/content"


def cql(confluence: Confluence, user: str, page_id: str) -> tuple[str, str]:
    found = confluence.cql(f"space = {SPACE} and type = page and id = {page_id}")
    assert [r["content"]["id"] for r in found["results"]] == [page_id]
    return "GET", "/rest/api/search"


OPERATIONS: dict[str, Operation] = {"create": create, "read": read, "comment": comment, "cql": cql}


def connect(base: str, user: str) -> Confluence:
    return Confluence(url=base, username=user, password=user, timeout=60)


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_first_call_and_first_call_after_revocation(confluence_stack: Stack, operation: str) -> None:
    stack, user = confluence_stack, new_user()
    run = OPERATIONS[operation]
    first_page, second_page = admin_page(stack, f"First {user}"), admin_page(stack, f"Second {user}")
    confluence = await call(connect, stack.proxy_url, user)  # makes no request by itself
    method, path = await call(run, confluence, user, first_page)
    assert_reached_licensed(stack, user, method, path)
    await wait_revoked(stack, user)
    method, path = await call(run, confluence, user, second_page)
    assert_reached_licensed(stack, user, method, path)
