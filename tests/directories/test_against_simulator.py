"""Every directory against the upstream simulator (Jira, Confluence REST / JSON-RPC, Crowd).

The simulator runs in-process on a free 127.0.0.1 port; it is driven and inspected only
through its HTTP introspection API (/__sim/...), as a real upstream would be watched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from grant_worker.directories import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    Directory,
    DirectoryError,
    UnknownUser,
    make_directory,
)
from seatgate_simulator import SimConfig, create_app

from .conftest import Recorder, product, worker

NAMED = ["alice", "bob", "carol", "dave", "erin"]


@dataclass
class Sim:
    url: str
    client: aiohttp.ClientSession

    async def state(self) -> dict[str, Any]:
        async with self.client.get(f"{self.url}/__sim/state?requests=0") as resp:
            return await resp.json()

    async def post(self, what: str, body: dict[str, Any]) -> None:
        async with self.client.post(f"{self.url}/__sim/{what}", json=body) as resp:
            assert resp.status == 200, await resp.text()

    async def members(self) -> list[str]:
        return (await self.state())["members"]


async def start_sim(**config: Any) -> tuple[TestServer, Sim]:
    server = TestServer(create_app(SimConfig(seed=7, **config)), host="127.0.0.1")
    await server.start_server()
    return server, Sim(str(server.make_url("")).rstrip("/"), aiohttp.ClientSession())


@dataclass(frozen=True)
class Variant:
    directory: str  # the `directory` setting
    sim: dict[str, Any]  # SimConfig fields
    expect: str  # Directory.name after make_directory

    def settings(self, url: str, **overrides: Any):
        confluence = self.sim.get("product") == "confluence"
        values: dict[str, Any] = {
            "directory": self.directory,
            "kind": "confluence" if confluence else "jira",
            "name": "wiki" if confluence else "jira",
            "license_group": "confluence-users" if confluence else "jira-software-users",
        }
        if self.directory == "crowd":
            values.update(crowd_app="seatgate", crowd_password="seatgate")
        values.update(overrides)
        return product(url, **values)


VARIANTS = {
    "jira": Variant("jira", {"product": "jira"}, "jira"),
    "confluence-rest": Variant("auto", {"product": "confluence", "confluence_api": "rest"}, "confluence-rest"),
    "confluence-jsonrpc": Variant("auto", {"product": "confluence", "confluence_api": "jsonrpc"}, "confluence-jsonrpc"),
    "crowd-on-jira": Variant("crowd", {"product": "jira"}, "crowd"),
    "crowd-on-confluence": Variant("crowd", {"product": "confluence"}, "crowd"),
}


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Variant:
    return VARIANTS[request.param]


@pytest.fixture
async def sim(variant: Variant, request: pytest.FixtureRequest) -> AsyncIterator[Sim]:
    marker = request.node.get_closest_marker("sim")
    server, handle = await start_sim(**{**variant.sim, **(marker.kwargs if marker else {})})
    yield handle
    await handle.client.close()
    await server.close()


@pytest.fixture
async def directory(variant: Variant, sim: Sim) -> AsyncIterator[Directory]:
    d = await make_directory(variant.settings(sim.url), worker(directory_timeout=2.0, directory_retries=2))
    assert d.name == variant.expect
    yield d
    await d.close()


async def test_add_and_remove_are_idempotent(directory: Directory, sim: Sim) -> None:
    assert not await directory.is_member("alice")
    await directory.add("alice")
    await directory.add("alice")  # already a member: success
    assert await directory.is_member("alice")
    assert (await sim.members()).count("alice") == 1
    await directory.remove("alice")
    await directory.remove("alice")  # not a member: success
    assert not await directory.is_member("alice")
    assert "alice" not in await sim.members()
    await directory.remove("nobody")  # a user who does not exist is in no group


async def test_unknown_user(directory: Directory) -> None:
    with pytest.raises(UnknownUser) as err:
        await directory.add("nobody")
    assert err.value.user == "nobody"
    assert not await directory.user_exists("nobody")
    assert await directory.user_exists("alice")


@pytest.mark.sim(users=260)
async def test_members_reads_every_page(directory: Directory, sim: Sim) -> None:
    everyone = [f"user{i:04d}" for i in range(1, 261)]
    await sim.post("members", {"add": everyone})
    members = await directory.members()
    assert sorted(members) == sorted(await sim.members()) == sorted(["admin", *everyone])
    assert len(members) == len(set(members))


@pytest.mark.sim(seats=10)
async def test_seats(directory: Directory, sim: Sim, variant: Variant) -> None:
    await sim.post("members", {"add": ["alice", "bob"]})
    seats = await directory.seats()
    assert (seats.total, seats.used, seats.remaining, seats.unlimited) == (10, 3, 7, False)
    assert seats.groups == (["jira-software-users"] if variant.sim["product"] == "jira" else [])


async def test_user_groups(directory: Directory, sim: Sim) -> None:
    group = (await sim.state())["license_group"]
    assert "staff" in await directory.user_groups("alice")
    assert group not in await directory.user_groups("alice")
    await directory.add("alice")
    assert group in await directory.user_groups("alice")
    with pytest.raises(UnknownUser):
        await directory.user_groups("nobody")


async def test_check_passes_with_the_admin(directory: Directory) -> None:
    assert await directory.check() == []


async def test_check_with_a_non_admin_account_is_one_line(variant: Variant, sim: Sim) -> None:
    # alice must hold a licence to authenticate at all (else 401): then she lacks admin rights.
    await sim.post("members", {"add": ["alice"]})
    overrides: dict[str, Any] = {"admin_user": "alice", "admin_password": "alice"}
    if variant.directory == "crowd":
        overrides = {"crowd_password": "wrong"}
    elif variant.directory == "auto":
        overrides["directory"] = variant.expect  # the probe itself would need an admin
    d = await make_directory(variant.settings(sim.url, **overrides), worker())
    try:
        problems = await d.check()
    finally:
        await d.close()
    assert len(problems) == 1
    (problem,) = problems
    if variant.directory == "crowd":
        assert problem.startswith("crowd_app seatgate was refused") and "(401)" in problem
    elif variant.sim["product"] == "jira":
        assert problem.startswith("admin_user alice cannot manage group jira-software-users on jira at")
        assert problem.endswith("(403): give it Jira Administrators")
    else:
        assert problem.startswith("admin_user alice cannot manage group confluence-users on confluence at")
        assert problem.endswith("(403): give it Confluence Administrator")


@pytest.mark.sim(users=15)
async def test_no_grant_lost_or_doubled_under_faults(variant: Variant, sim: Sim) -> None:
    users = [*NAMED, *(f"user{i:04d}" for i in range(1, 16))]
    await sim.post("faults", {"fail_rate": 0.3, "latency_ms": 5, "timeout_rate": 0.05, "timeout_s": 0.4})
    # Generous retries and a tolerant breaker: the point here is that retried writes are
    # idempotent (a timed-out add lands later; its retry must not fail or double it).
    d = await make_directory(
        variant.settings(sim.url),
        worker(directory_timeout=0.25, directory_retries=10),
        breaker=CircuitBreaker("test", threshold=1000),
    )
    try:
        await asyncio.gather(*(d.add(u) for u in users))
        await asyncio.gather(*(d.add(u) for u in users[:5]))  # again: all already members
        await asyncio.sleep(1.5)  # let the delayed (timed-out, 0.4 s) calls land, with margin
        members = await sim.members()
        assert sorted(members) == sorted(["admin", *users])
        assert len(members) == len(set(members))
        await asyncio.gather(*(d.remove(u) for u in users))
        await asyncio.sleep(1.5)
        assert await sim.members() == ["admin"]
        failures = [c for c in (await sim.state())["directory_calls"] if c["status"] == 500]
        assert failures, "the fault injection did not fire: the test proves nothing"
    finally:
        await d.close()


async def test_breaker_opens_under_total_failure_and_closes_after_recovery(variant: Variant, sim: Sim) -> None:
    recorder = Recorder()
    breaker = CircuitBreaker("test", threshold=3, cooldown=1.0)
    d = await make_directory(variant.settings(sim.url), worker(directory_retries=5), recorder, breaker=breaker)
    try:
        await sim.post("faults", {"fail_rate": 1.0})
        with pytest.raises(CircuitOpen):
            await d.add("alice")
        assert breaker.state is BreakerState.OPEN
        calls = len((await sim.state())["directory_calls"])
        with pytest.raises(CircuitOpen):
            await d.add("bob")
        with pytest.raises(CircuitOpen):
            await d.seats()
        assert len((await sim.state())["directory_calls"]) == calls  # refused without calling
        assert ("add", "circuit_open") in recorder.events and ("add", "500") in recorder.events
        await sim.post("faults", {"fail_rate": 0.0})
        await asyncio.sleep(1.05)  # past the cooldown
        assert breaker.state is BreakerState.HALF_OPEN
        await d.add("alice")
        assert breaker.state is BreakerState.CLOSED
        assert "alice" in await sim.members()
    finally:
        await d.close()


async def test_unreachable_upstream_fails_at_start(variant: Variant) -> None:
    from tests.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DirectoryError, match="is unreachable") as err:
        await make_directory(variant.settings(url), worker(directory_retries=0))
    assert err.value.status is None
