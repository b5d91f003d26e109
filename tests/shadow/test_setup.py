"""`seatgate setup` against the simulator's application role: plan, --apply, --revert."""

from __future__ import annotations

import json
import subprocess

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from tests.helpers import seatgate_cmd

pytestmark = pytest.mark.slow

FLOATING = "seatgate-floating"
WRITES = ("add", "remove", "create_group", "update_role")


@pytest.fixture
def legacy(make_stack):
    """A Jira where everyone has access through the groups jira-software-users and staff, and
    the floating group does not exist yet."""
    stack = make_stack(
        sim_args=["--access-groups", "jira-software-users,staff"],
        product_overrides={"license_group": FLOATING, "exclude_users": ["admin"]},
    )
    stack.start_simulator()
    stack.config_path = stack.write_config("setup")[0]
    return stack


def setup_cli(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        seatgate_cmd("setup", "--config", str(stack.config_path), "--product", "jira", *args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=stack.tmp,
    )


def role(stack) -> dict:
    return stack.sim_state(requests=False)["application_role"]


def writes(stack) -> list[dict]:
    return [c for c in stack.sim_state(requests=False)["directory_calls"] if c["op"] in WRITES]


def can_use_jira(stack, user: str) -> bool:
    """A scripted user's view, through the real client library."""
    try:
        JIRA(stack.sim_url, basic_auth=(user, user), max_retries=0, get_server_info=False).myself()
    except JIRAError as exc:
        assert exc.status_code in (401, 403), exc
        return False
    return True


def test_plan_changes_nothing(legacy):
    before = role(legacy)
    done = setup_cli(legacy)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "jira-software-users, staff" in out
    assert f"create the licence group {FLOATING!r}" in out
    assert f"add admin (exclude_users) to {FLOATING!r}" in out
    assert f"groups → {FLOATING}; default groups → none" in out
    assert "plan only: nothing changed" in out
    assert role(legacy) == before and writes(legacy) == []
    assert FLOATING not in legacy.sim_state(requests=False)["groups"]


def test_apply_then_revert_leaves_the_role_exactly_as_it_was(legacy):
    before = role(legacy)
    assert before == {"groups": ["jira-software-users", "staff"], "defaultGroups": ["jira-software-users"]}
    assert can_use_jira(legacy, "alice")

    done = setup_cli(legacy, "--apply", "--snapshot-file", "snap.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert role(legacy) == {"groups": [FLOATING], "defaultGroups": []}
    state = legacy.sim_state(requests=False)
    assert state["groups"][FLOATING] == 1  # admin, so the service account keeps access
    assert state["groups"]["staff"] == 5  # the old groups keep their members
    snapshot = json.loads((legacy.tmp / "snap.json").read_text())
    assert snapshot["role"] == {"key": "jira-software", **before}
    assert not can_use_jira(legacy, "alice")  # until seatgate grants her a seat
    assert can_use_jira(legacy, "admin")

    # A second apply keeps the first snapshot: a revert must bring back the state before the first.
    again = setup_cli(legacy, "--apply")
    assert again.returncode == 0 and "nothing to do" in again.stdout

    done = setup_cli(legacy, "--revert")
    assert done.returncode == 0, done.stdout + done.stderr
    assert role(legacy) == before
    assert can_use_jira(legacy, "alice")

    # The snapshot is used up: a second revert has nothing to restore and says so.
    done = setup_cli(legacy, "--revert")
    assert done.returncode == 2 and "no snapshot stored" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    # ... but the file still restores it.
    assert setup_cli(legacy, "--revert", "--snapshot-file", "snap.json").returncode == 0
    assert role(legacy) == before


def test_a_role_changed_since_it_was_read_is_not_overwritten(legacy):
    """If-Match: a PUT carrying an old version hash is refused and nothing changes."""
    import urllib.request

    def put(etag: str | None, groups: list[str]) -> int:
        request = urllib.request.Request(
            f"{legacy.sim_url}/rest/api/2/applicationrole/jira-software",
            data=json.dumps({"groups": groups, "defaultGroups": []}).encode(),
            method="PUT",
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic YWRtaW46YWRtaW4=",
                **({"If-Match": etag} if etag else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with urllib.request.urlopen(
        urllib.request.Request(
            f"{legacy.sim_url}/rest/api/2/applicationrole/jira-software",
            headers={"Authorization": "Basic YWRtaW46YWRtaW4="},
        ),
        timeout=10,
    ) as response:
        etag = response.headers["ETag"]
    assert put(etag, ["jira-software-users"]) == 200
    assert put(etag, ["staff"]) == 412  # stale
    assert role(legacy)["groups"] == ["jira-software-users"]
    assert put(None, ["jira-software-users", "no-such-group"]) == 400
    assert role(legacy)["groups"] == ["jira-software-users"]


def test_bad_input_is_one_line_and_changes_nothing(legacy):
    before = role(legacy)
    done = setup_cli(legacy, "--apply", "--revert")
    assert done.returncode == 2 and "not allowed with" in done.stderr
    done = subprocess.run(
        seatgate_cmd("setup", "--config", str(legacy.config_path), "--product", "nope"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "no product named 'nope'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    (legacy.tmp / "bad.json").write_text('{"product": "jira", "role": {"key": "jira-software", "groups": 3}}')
    done = setup_cli(legacy, "--revert", "--snapshot-file", "bad.json")
    assert done.returncode == 2 and "not a seatgate setup snapshot" in done.stderr
    assert role(legacy) == before and writes(legacy) == []
