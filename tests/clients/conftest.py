"""A seatgate deployment per product for the client-library conformance suite.

One stack (real redis-server, simulator, worker and proxy processes) serves a whole module:
every case uses users of its own, so the cases do not see each other's seats. The client
libraries are synchronous; :func:`call` runs them in a thread with a deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests.e2e.stack import Stack

T = TypeVar("T")

CALL_DEADLINE = 90.0  # one library call, grants and replays included, on a loaded machine
REVOCATION_DEADLINE = 40.0  # inactivity (2 s) + sweep interval + revoke grace, with a wide margin
_user_numbers = itertools.count(1)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), CALL_DEADLINE)


def new_user() -> str:
    """A user nobody else in the session has touched (the simulator has user0001…user0200)."""
    return f"user{next(_user_numbers):04d}"


def _stack(product: str, tmp_path_factory, redis_server) -> Iterator[Stack]:
    redis_server.cli("FLUSHALL")
    stack = Stack(
        tmp=tmp_path_factory.mktemp(f"clients-{product}"),
        redis_url=redis_server.url,
        product=product,
        sim_args=["--users", "200"],
        # Short inactivity so that "the first call after revocation" comes within seconds.
        product_overrides={"inactivity": "2s"},
        # A 2 MiB upload crosses the 1 MiB streaming threshold; give grants room on a busy machine.
        proxy_overrides={"grant_timeout": 20},
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def jira_stack(tmp_path_factory, redis_server) -> Iterator[Stack]:
    yield from _stack("jira", tmp_path_factory, redis_server)


@pytest.fixture(scope="module")
def confluence_stack(tmp_path_factory, redis_server) -> Iterator[Stack]:
    yield from _stack("confluence", tmp_path_factory, redis_server)


def requests_of(stack: Stack, user: str, method: str, path: str) -> list[dict[str, Any]]:
    return [
        r
        for r in stack.sim_state()["requests"]
        if r["user"] == user and r["method"] == method and r["path"].rstrip("/") == path.rstrip("/")
    ]


def assert_reached_licensed(stack: Stack, user: str, method: str, path: str, *, every: bool = False) -> None:
    """Upstream answered the request for ``user`` licensed. With ``every``, no attempt of it
    reached upstream unlicensed either (a request that cannot be replayed must be granted first)."""
    seen = requests_of(stack, user, method, path)
    assert seen, f"upstream never saw {method} {path} of {user}\n{stack.logs()}"
    last = seen[-1]
    assert last["licensed"] and last["status"] < 400, f"{method} {path} of {user}: {seen}\n{stack.logs()}"
    if every:
        assert all(r["licensed"] for r in seen), f"{method} {path} of {user} reached upstream unlicensed: {seen}"


async def wait_revoked(stack: Stack, user: str) -> None:
    """Until the sweeper has taken the seat back (no request of ``user`` meanwhile)."""
    end = time.monotonic() + REVOCATION_DEADLINE
    while time.monotonic() < end:
        if user not in stack.sim_state(requests=False)["members"]:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{user} kept the seat for {REVOCATION_DEADLINE}s of inactivity\n{stack.logs()}")
