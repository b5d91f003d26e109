"""How the Jira directory reads Jira's answers, against a scripted stub (no simulator needed)."""

from __future__ import annotations

import pytest

from grant_worker.directories import DirectoryError, SeatInfo, UnknownUser, make_directory
from grant_worker.directories.jira import JiraDirectory

from .conftest import Recorder, Stub, product, worker

GROUP_USER = "/rest/api/2/group/user"
USER = "/rest/api/2/user"


def groups_of(*names: str) -> tuple[int, dict]:
    return 200, {"name": "x", "groups": {"size": len(names), "items": [{"name": n} for n in names]}}


async def jira(stub: Stub, **overrides) -> JiraDirectory:
    stub.on("GET", "/status", (200, {"state": "RUNNING"}))
    directory = await make_directory(product(stub.url, **overrides), worker(), Recorder())
    assert isinstance(directory, JiraDirectory)
    return directory


async def test_add_posts_the_documented_request(stub: Stub) -> None:
    stub.on("POST", GROUP_USER, (201, {"name": "jira-software-users"}))
    async with await jira(stub) as d:
        await d.add("alice")
    (call,) = stub.calls("POST", GROUP_USER)
    assert call.query == {"groupname": "jira-software-users"}
    assert call.body == {"name": "alice"}
    assert call.headers["X-Atlassian-Token"] == "no-check"


async def test_already_a_member_is_success_after_rereading(stub: Stub) -> None:
    stub.on("POST", GROUP_USER, (400, "rest.group.user.already.exists.in.group"))
    stub.on("GET", USER, groups_of("jira-users", "Jira-Software-Users"))
    async with await jira(stub) as d:
        await d.add("alice")
    assert stub.calls("GET", USER)[0].query == {"username": "alice", "expand": "groups"}


async def test_a_400_that_did_not_add_is_an_error(stub: Stub) -> None:
    stub.on("POST", GROUP_USER, (400, {"errorMessages": ["Cannot edit groups: external user management"]}))
    stub.on("GET", USER, groups_of("jira-users"))
    async with await jira(stub) as d:
        with pytest.raises(DirectoryError, match="external user management") as err:
            await d.add("alice")
    assert not isinstance(err.value, UnknownUser)


async def test_unknown_user_on_add(stub: Stub) -> None:
    stub.on("POST", GROUP_USER, (404, {"errorMessages": ["The user 'zed' does not exist"]}))
    async with await jira(stub) as d:
        with pytest.raises(UnknownUser) as err:
            await d.add("zed")
    assert err.value.user == "zed"


async def test_remove_not_a_member_and_unknown_user_are_success(stub: Stub) -> None:
    stub.on("DELETE", GROUP_USER, (400, None), (404, None))
    stub.on("GET", USER, groups_of("jira-users"), (404, None))
    async with await jira(stub) as d:
        await d.remove("alice")
        await d.remove("ghost")
    assert stub.calls("DELETE", GROUP_USER)[0].query == {"groupname": "jira-software-users", "username": "alice"}


async def test_forbidden_add_names_the_fix(stub: Stub) -> None:
    stub.on("POST", GROUP_USER, (403, {"errorMessages": ["rest.authorization.admin.required"]}))
    async with await jira(stub) as d:
        with pytest.raises(
            DirectoryError, match=r"admin_user admin cannot add alice .*\(403\): give it Jira Administrators"
        ):
            await d.add("alice")


async def test_members_reads_every_page(stub: Stub) -> None:
    def page(start: int, names: list[str], last: bool) -> tuple[int, dict]:
        values = [{"name": n} for n in names]
        return 200, {"startAt": start, "maxResults": 2, "isLast": last, "values": values}

    # The server caps pages at 2 although 50 are asked for: paging must follow what came back.
    stub.on(
        "GET", "/rest/api/2/group/member", page(0, ["a", "b"], False), page(2, ["c", "d"], False), page(4, ["e"], True)
    )
    async with await jira(stub) as d:
        assert await d.members() == ["a", "b", "c", "d", "e"]
    starts = [c.query["startAt"] for c in stub.calls("GET", "/rest/api/2/group/member")]
    assert starts == ["0", "2", "4"]


async def test_seats_from_the_application_role(stub: Stub) -> None:
    stub.on(
        "GET",
        "/rest/api/2/applicationrole/jira-software",
        (
            200,
            {
                "key": "jira-software",
                "numberOfSeats": 100,
                "remainingSeats": 7,
                "userCount": 93,
                "hasUnlimitedSeats": False,
                "groups": ["jira-software-users", "jira-administrators"],
            },
        ),
    )
    async with await jira(stub) as d:
        assert await d.seats() == SeatInfo(100, 93, 7, False, ["jira-software-users", "jira-administrators"])


async def test_user_groups_and_exists(stub: Stub) -> None:
    stub.on("GET", USER, groups_of("jira-users", "jira-software-users"), (404, None))
    async with await jira(stub) as d:
        assert await d.user_groups("alice") == {"jira-users", "jira-software-users"}
        with pytest.raises(UnknownUser):
            await d.user_groups("ghost")


async def test_check_reports_one_line_with_the_fix(stub: Stub) -> None:
    role = "/rest/api/2/applicationrole/jira-software"
    stub.on("GET", "/rest/api/2/group/member", (403, None), (200, {"values": [], "isLast": True}))
    stub.on("GET", role, (200, {"groups": ["jira-users"]}))
    async with await jira(stub) as d:
        (problem,) = await d.check()
        assert problem.startswith("admin_user admin cannot manage group jira-software-users on jira at")
        assert problem.endswith("(403): give it Jira Administrators")
        (problem,) = await d.check()
        assert problem == (
            "licence group 'jira-software-users' does not grant jira-software (granted by: jira-users): "
            "add it under Applications → Application access"
        )


async def test_check_lists_the_application_keys_for_a_wrong_app_role(stub: Stub) -> None:
    stub.on("GET", "/rest/api/2/group/member", (200, {"values": [], "isLast": True}))
    stub.on("GET", "/rest/api/2/applicationrole", (200, [{"key": "jira-core"}, {"key": "jira-servicedesk"}]))
    async with await jira(stub, app_role="jira-softwre") as d:
        (problem,) = await d.check()
    assert "app_role 'jira-softwre' is not an application" in problem
    assert problem.endswith("set app_role to one of jira-core, jira-servicedesk")


async def test_check_reports_a_refused_password(stub: Stub) -> None:
    stub.on("GET", "/rest/api/2/group/member", (401, None))
    async with await jira(stub) as d:
        (problem,) = await d.check()
    assert problem.startswith("admin_user admin was refused by jira at")
    assert problem.endswith("(401): check admin_password or admin_password_file")
    assert "admin:admin" not in problem


async def test_make_directory_fails_clearly_when_unreachable() -> None:
    from tests.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DirectoryError, match=rf"^jira at {url} is unreachable: ping: GET {url}/status failed"):
        await make_directory(product(url), worker(directory_retries=0))


async def test_make_directory_refuses_a_directory_that_does_not_fit(stub: Stub) -> None:
    with pytest.raises(
        DirectoryError, match=r"^directory = 'confluence-rest' cannot serve a jira product: use auto, crowd or jira$"
    ):
        await make_directory(product(stub.url, directory="confluence-rest"), worker())
