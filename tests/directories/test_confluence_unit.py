"""Confluence REST and JSON-RPC directories against a scripted stub."""

from __future__ import annotations

import pytest

from grant_worker.directories import DirectoryError, SeatInfo, UnknownUser, make_directory
from grant_worker.directories.confluence import ConfluenceJsonRpcDirectory, ConfluenceRestDirectory

from .conftest import Stub, product, worker

RPC = "/rpc/json-rpc/confluenceservice-v2"


def confluence(url: str, **overrides):
    values = {"name": "wiki", "kind": "confluence", "license_group": "confluence-users", "directory": "auto"}
    values.update(overrides)
    return product(url, **values)


def memberof(*groups: str) -> tuple[int, dict]:
    results = [{"type": "group", "name": g} for g in groups]
    return 200, {"results": results, "start": 0, "limit": 200, "size": len(results), "_links": {}}


async def test_auto_picks_rest_with_a_no_op_write(stub: Stub) -> None:
    stub.on("GET", "/rest/api/user/memberof", memberof("confluence-users", "confluence-administrators"))
    stub.on("PUT", "/rest/api/user/admin/group/confluence-administrators", (204, None))
    async with await make_directory(confluence(stub.url), worker()) as d:
        assert isinstance(d, ConfluenceRestDirectory) and d.name == "confluence-rest"
    # the admin was put into a group it was already in: nothing changed
    assert [c.method for c in stub.seen] == ["GET", "PUT"]


async def test_auto_falls_back_to_json_rpc_on_404_or_405(stub: Stub) -> None:
    stub.on("GET", "/rest/api/user/memberof", memberof())
    # no groups at all: the probe removes the admin from the licence group it is not in
    stub.on("DELETE", "/rest/api/user/admin/group/confluence-users", (405, None))
    async with await make_directory(confluence(stub.url), worker()) as d:
        assert isinstance(d, ConfluenceJsonRpcDirectory) and d.name == "confluence-jsonrpc"


async def test_auto_with_a_refused_password_is_one_clear_line(stub: Stub) -> None:
    stub.on("GET", "/rest/api/user/memberof", (401, None))
    with pytest.raises(DirectoryError, match=r"^directory = 'auto' could not tell .*admin_user admin was refused"):
        await make_directory(confluence(stub.url), worker())


async def test_rest_writes_quote_path_segments(stub: Stub) -> None:
    stub.on("PUT", "/rest/api/user/o'brien/group/team a/b", (204, None))
    stub.on("GET", "/status", (200, {}))
    async with await make_directory(
        confluence(stub.url, directory="confluence-rest", license_group="team a/b"), worker()
    ) as d:
        await d.add("o'brien")
    (call,) = stub.calls("PUT", "/rest/api/user/o'brien/group/team a/b")
    assert call.raw_path == "/rest/api/user/o%27brien/group/team%20a%2Fb"
    assert call.headers["X-Atlassian-Token"] == "no-check"


async def test_rest_add_of_an_unknown_user(stub: Stub) -> None:
    stub.on("PUT", "/rest/api/user/zed/group/confluence-users", (404, {"message": "No user found"}))
    async with ConfluenceRestDirectory(confluence(stub.url), worker()) as d:
        with pytest.raises(UnknownUser):
            await d.add("zed")


async def test_json_rpc_true_false_and_error(stub: Stub) -> None:
    stub.on("POST", f"{RPC}/addUserToGroup", (200, True), (200, {"error": {"message": "already"}}))
    stub.on("POST", f"{RPC}/removeUserFromGroup", (200, {"error": {"message": "No user with username"}}))
    stub.on("GET", "/rest/api/user/memberof", memberof("confluence-users"), (404, None))
    async with ConfluenceJsonRpcDirectory(confluence(stub.url), worker()) as d:
        await d.add("alice")  # true
        await d.add("alice")  # error, but the membership says it is done
        await d.remove("ghost")  # error, and the user does not exist: not a member either
    assert stub.calls("POST", f"{RPC}/addUserToGroup")[0].body == ["alice", "confluence-users"]


async def test_json_rpc_error_that_did_nothing_is_reported(stub: Stub) -> None:
    stub.on("POST", f"{RPC}/addUserToGroup", (200, {"error": {"message": "Remote API disabled"}}))
    stub.on("GET", "/rest/api/user/memberof", memberof("staff"))
    stub.on("GET", "/rest/api/user", (200, {"username": "alice"}))
    async with ConfluenceJsonRpcDirectory(confluence(stub.url), worker()) as d:
        with pytest.raises(DirectoryError, match="Remote API disabled"):
            await d.add("alice")


async def test_members_follow_next_links(stub: Stub) -> None:
    path = "/rest/api/group/confluence-users/member"
    stub.on(
        "GET", path,
        (200, {"results": [{"username": "a"}, {"username": "b"}], "size": 2, "limit": 2,
               "_links": {"next": "/rest/api/group/confluence-users/member?start=2&limit=2"}}),
        (200, {"results": [{"username": "c"}], "size": 1, "limit": 2, "_links": {}}),
    )  # fmt: skip
    async with ConfluenceRestDirectory(confluence(stub.url), worker()) as d:
        assert await d.members() == ["a", "b", "c"]
    assert [c.query["start"] for c in stub.calls("GET", path)] == ["0", "2"]


async def test_seats_from_the_licence_counts(stub: Stub) -> None:
    stub.on("GET", "/rest/license/1.0/license/maxUsers", (200, {"count": 50}), (200, {"count": -1}))
    stub.on("GET", "/rest/license/1.0/license/remainingSeats", (200, {"count": -2}))
    async with ConfluenceRestDirectory(confluence(stub.url), worker()) as d:
        assert await d.seats() == SeatInfo(total=50, used=52, remaining=-2, unlimited=False, groups=[])
        assert await d.seats() == SeatInfo(total=None, used=None, remaining=None, unlimited=True, groups=[])


async def test_json_rpc_check_reports_a_missing_endpoint(stub: Stub) -> None:
    stub.on("GET", "/rest/api/group/confluence-users/member", (200, {"results": [], "size": 0}))
    async with ConfluenceJsonRpcDirectory(confluence(stub.url), worker()) as d:
        (problem,) = await d.check()
    assert problem.startswith("JSON-RPC is not available on confluence at")
