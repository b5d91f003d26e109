"""The Crowd directory against a scripted stub: application auth, statuses, seats from the product."""

from __future__ import annotations

import pytest

from grant_worker.directories import DirectoryError, UnknownUser, make_directory
from grant_worker.directories.crowd import CrowdDirectory
from grant_worker.directories.transport import basic_authorization

from .conftest import Stub, product, worker

UM = "/rest/usermanagement/1"


def crowd(url: str, crowd_url: str | None = None, **overrides):
    values = {"directory": "crowd", "crowd_app": "seatgate", "crowd_password": "app-secret", "crowd_url": crowd_url}
    values.update(overrides)
    return product(url, **values)


async def test_writes_use_application_auth_and_reads_seats_as_admin(stub: Stub) -> None:
    stub.on("GET", "/status", (200, {}))
    stub.on("POST", f"{UM}/user/group/direct", (201, None))
    stub.on("DELETE", f"{UM}/user/group/direct", (204, None))
    stub.on("GET", "/rest/api/2/applicationrole/jira-software", (200, {"numberOfSeats": 10, "groups": []}))
    async with await make_directory(crowd(stub.url), worker()) as d:
        assert isinstance(d, CrowdDirectory)
        await d.add("alice")
        await d.remove("alice")
        assert (await d.seats()).total == 10
    add, remove = stub.calls("POST", f"{UM}/user/group/direct") + stub.calls("DELETE", f"{UM}/user/group/direct")
    assert add.query == {"username": "alice"} and add.body == {"name": "jira-software-users"}
    assert remove.query == {"username": "alice", "groupname": "jira-software-users"}
    assert add.headers["Authorization"] == basic_authorization("seatgate", "app-secret")
    (seats,) = stub.calls("GET", "/rest/api/2/applicationrole/jira-software")
    assert seats.headers["Authorization"] == basic_authorization("admin", "admin")


async def test_crowd_url_is_used_for_memberships(stub: Stub) -> None:
    stub.on("POST", f"/crowd{UM}/user/group/direct", (201, None))
    async with CrowdDirectory(crowd("http://127.0.0.1:9", crowd_url=stub.url + "/crowd"), worker()) as d:
        await d.add("alice")
        assert d.crowd.label == f"crowd at {stub.url}/crowd"


async def test_409_and_404_are_idempotent(stub: Stub) -> None:
    stub.on("POST", f"{UM}/user/group/direct", (409, {"reason": "MEMBERSHIP_ALREADY_EXISTS"}))
    stub.on("DELETE", f"{UM}/user/group/direct", (404, {"reason": "MEMBERSHIP_NOT_FOUND"}))
    stub.on("GET", f"{UM}/group/user/direct", (200, {"name": "alice"}), (404, {"reason": "MEMBERSHIP_NOT_FOUND"}))
    async with CrowdDirectory(crowd(stub.url), worker()) as d:
        await d.add("alice")
        await d.remove("alice")


async def test_unknown_user_and_unknown_group(stub: Stub) -> None:
    stub.on(
        "POST", f"{UM}/user/group/direct", (404, {"reason": "USER_NOT_FOUND"}), (400, {"reason": "GROUP_NOT_FOUND"})
    )
    stub.on("GET", f"{UM}/group/user/direct", (404, {"reason": "GROUP_NOT_FOUND"}))
    stub.on("GET", f"{UM}/user/group/direct", (200, {"groups": []}))
    async with CrowdDirectory(crowd(stub.url), worker()) as d:
        with pytest.raises(UnknownUser):
            await d.add("zed")
        with pytest.raises(DirectoryError, match="GROUP_NOT_FOUND") as err:
            await d.add("alice")
        assert not isinstance(err.value, UnknownUser)


async def test_members_page_until_a_short_page(stub: Stub) -> None:
    stub.on(
        "GET",
        f"{UM}/group/user/direct",
        (200, {"users": [{"name": "a"}, {"name": "b"}]}),
        (200, {"users": [{"name": "c"}]}),
    )
    async with CrowdDirectory(crowd(stub.url), worker()) as d:
        d.page_size = 2
        assert await d.members() == ["a", "b", "c"]
    assert [c.query["start-index"] for c in stub.calls("GET", f"{UM}/group/user/direct")] == ["0", "2"]


async def test_check_names_the_application_fix(stub: Stub) -> None:
    stub.on("GET", f"{UM}/group/user/direct", (401, {"reason": "APPLICATION_ACCESS_DENIED"}))
    async with CrowdDirectory(crowd(stub.url), worker()) as d:
        (problem,) = await d.check()
    assert problem.startswith("crowd_app seatgate was refused by the user server of")
    assert "check crowd_app and crowd_password" in problem and "app-secret" not in problem
