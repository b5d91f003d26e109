"""The `jira` library (pycontribs) through seatgate: an unlicensed user's first call, and the
first call after the sweeper revoked the user, succeed without the client noticing.

Each case runs one operation (search, comment, edit, 2 MiB attachment) with one way of
authenticating (Basic, a cookie session from ``auth=``, a Personal Access Token created as the
user's very first request), asserts the library raised nothing, and asks the simulator whether
the request reached it licensed.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import pytest
import requests
from jira import JIRA

from tests.clients.conftest import assert_reached_licensed, call, new_user, wait_revoked
from tests.e2e.stack import Stack

pytestmark = pytest.mark.slow

UPLOAD_SIZE = 2 * 1024 * 1024  # above the proxy's 1 MiB streaming threshold
AUTHS = ("basic", "cookie", "pat")
# max_retries=0: a retried request would hide a first attempt that failed.
CLIENT_OPTIONS = {"max_retries": 0, "timeout": 60}


def create_token(base: str, user: str) -> str:
    """The user's very first request: create a PAT with Basic credentials."""
    response = requests.post(
        f"{base}/rest/pat/latest/tokens",
        auth=(user, user),
        json={"name": "automation", "expirationDuration": 30},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["rawToken"]


def connect(base: str, auth: str, user: str, token: str | None, first_request_is_operation: bool) -> JIRA:
    if auth == "basic":
        # get_server_info=False makes the operation itself the user's first request.
        return JIRA(base, basic_auth=(user, user), get_server_info=not first_request_is_operation, **CLIENT_OPTIONS)
    if auth == "cookie":
        return JIRA(base, auth=(user, user), **CLIENT_OPTIONS)
    assert token is not None
    return JIRA(base, token_auth=token, **CLIENT_OPTIONS)


Operation = Callable[[JIRA, str], tuple[str, str]]


def search(jira: JIRA, key: str) -> tuple[str, str]:
    found = jira.search_issues(f"key = {key}", maxResults=10)
    assert [issue.key for issue in found] == [key]
    return "GET", "/rest/api/2/search"


def comment(jira: JIRA, key: str) -> tuple[str, str]:
    added = jira.add_comment(key, "Looked at it through seatgate.")
    assert added.body == "Looked at it through seatgate."
    return "POST", f"/rest/api/2/issue/{key}/comment"


def edit(jira: JIRA, key: str) -> tuple[str, str]:
    issue = jira.issue(key)
    issue.update(summary=f"Edited {key}")
    assert jira.issue(key).fields.summary == f"Edited {key}"
    return "PUT", f"/rest/api/2/issue/{key}"


def attach(jira: JIRA, key: str) -> tuple[str, str]:
    attachment = jira.add_attachment(key, io.BytesIO(b"\x00" * UPLOAD_SIZE), filename="capture.bin")
    assert attachment.size == UPLOAD_SIZE
    return "POST", f"/rest/api/2/issue/{key}/attachments"


OPERATIONS: dict[str, Operation] = {"search": search, "comment": comment, "edit": edit, "attach": attach}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("auth", AUTHS)
async def test_first_call_and_first_call_after_revocation(jira_stack: Stack, auth: str, operation: str) -> None:
    stack, user = jira_stack, new_user()
    key = f"CL-{user[4:].lstrip('0')}"
    run = OPERATIONS[operation]
    streamed = operation == "attach"  # cannot be replayed: must reach upstream licensed at once
    token = await call(create_token, stack.proxy_url, user) if auth == "pat" else None

    jira = await call(connect, stack.proxy_url, auth, user, token, streamed)
    method, path = await call(run, jira, key)
    assert_reached_licensed(stack, user, method, path, every=streamed and auth == "basic")

    await wait_revoked(stack, user)
    if auth == "pat":
        # A fresh client with nothing but the token: the proxy must know whose it is.
        jira = await call(connect, stack.proxy_url, auth, user, token, streamed)
    before = len(stack.sim_state()["requests"])
    method, path = await call(run, jira, key)
    assert_reached_licensed(stack, user, method, path)
    if streamed:
        uploads = [r for r in stack.sim_state()["requests"][before:] if r["path"] == path and r["user"] == user]
        assert uploads and all(r["licensed"] for r in uploads), f"upload reached upstream unlicensed: {uploads}"


async def test_upload_as_first_request_of_a_fresh_client_after_revocation(jira_stack: Stack) -> None:
    """A script that starts again after its user was revoked: a Basic upload comes first."""
    stack, user = jira_stack, new_user()
    key = f"CL-{user[4:].lstrip('0')}"
    jira = await call(connect, stack.proxy_url, "basic", user, None, True)
    await call(attach, jira, key)
    await wait_revoked(stack, user)
    jira = await call(connect, stack.proxy_url, "basic", user, None, True)
    _, path = await call(attach, jira, key)
    uploads = [r for r in stack.sim_state()["requests"] if r["path"] == path and r["user"] == user]
    assert len(uploads) == 2 and all(r["licensed"] for r in uploads), f"{uploads}\n{stack.logs()}"


async def test_token_created_by_a_replayed_request_works_after_revocation(jira_stack: Stack) -> None:
    """The token's creation was the user's first request, so it was refused, granted and
    replayed; the token is used for the first time after its owner lost the seat."""
    stack, user = jira_stack, new_user()
    token = await call(create_token, stack.proxy_url, user)
    await wait_revoked(stack, user)
    jira = await call(connect, stack.proxy_url, "pat", user, token, False)
    method, path = await call(search, jira, f"CL-{user[4:].lstrip('0')}")
    assert_reached_licensed(stack, user, method, path)


async def test_streamed_upload_with_a_wrong_password_keeps_no_seat(jira_stack: Stack) -> None:
    """The grant made ahead for a streamed Basic upload is rolled back when upstream rejects
    the password, and the username cools down: a second try is not granted ahead at all."""
    stack, user = jira_stack, new_user()
    key = f"CL-{user[4:].lstrip('0')}"

    def upload_with_wrong_password() -> int:
        response = requests.post(
            f"{stack.proxy_url}/rest/api/2/issue/{key}/attachments",
            auth=(user, "not-the-password"),
            headers={"X-Atlassian-Token": "no-check"},
            files={"file": ("capture.bin", io.BytesIO(b"\x00" * UPLOAD_SIZE))},
            timeout=60,
        )
        return response.status_code

    assert await call(upload_with_wrong_password) == 401
    audit: list[dict] = []
    for _ in range(100):  # the rollback follows the answer within moments
        status, audit = stack.admin("GET", "/api/v1/audit?product=jira&count=1000")
        assert status == 200
        actions = [e["action"] for e in audit if e["user"] == user]
        if "revoke" in actions and user not in stack.sim_state(requests=False)["members"]:
            break
        await asyncio.sleep(0.2)
    actions = [(e["action"], e.get("reason")) for e in audit if e["user"] == user]
    assert "grant:granted" in [action for action, _ in actions] and ("revoke", "rollback") in actions, actions
    assert user not in stack.sim_state(requests=False)["members"]
    assert await call(upload_with_wrong_password) == 401
    later = [e["action"] for e in stack.admin("GET", "/api/v1/audit?product=jira&count=1000")[1] if e["user"] == user]
    assert later.count("grant:granted") == 1, later  # cooling down: not granted ahead again
