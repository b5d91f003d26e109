"""Shared fixtures: a real redis-server per test session, fakeredis for unit tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, Process, free_port, wait_for_port

# The real Jira access logs (sebkouba/jala, Nov 2015), outside the repository: the folder
# named by SEATGATE_REAL_LOGS, else shared/data/jira-access-logs next to the clone.
REAL_LOGS_ENV = "SEATGATE_REAL_LOGS"


class RedisServer:
    """A private redis-server on a free 127.0.0.1 port, in a temporary directory."""

    def __init__(self, tmp_dir, appendonly: bool = False, port: int | None = None):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run scripts/test.sh, which installs it")
        self.port = port or free_port()
        self.dir = tmp_dir
        self.args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if appendonly else "no",
            "--protected-mode",
            "no",
        ]
        self.proc: Process | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = Process(self.args, self.dir / f"redis-{self.port}.log")
        wait_for_port(self.port, 10, self.proc.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of the session's real Redis, emptied for this test."""
    redis_server.cli("FLUSHALL")
    return redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url, decode_responses=True, max_connections=1000)
    yield client
    await client.aclose()


@pytest.fixture
async def fake_redis() -> AsyncIterator:
    """In-process fakeredis for fast unit tests (never for integration tests)."""
    import fakeredis

    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def make_stack(tmp_path, redis_url) -> Iterator:
    """Factory for whole deployments (simulator, workers, proxies) as real processes."""
    from tests.e2e.stack import Stack

    stacks: list[Stack] = []

    def make(**kwargs) -> Stack:
        kwargs.setdefault("redis_url", redis_url)
        stack = Stack(tmp=tmp_path, **kwargs)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def real_logs() -> Path:
    """The folder of the real Jira access logs. Skipped with the reason when it is missing,
    except under CI (CI=true), where a missing folder is a failure: CI must run these."""
    folder = Path(os.environ.get(REAL_LOGS_ENV) or REPO.parent / "shared" / "data" / "jira-access-logs")
    if folder.is_dir() and any(folder.glob("access_log.*")):
        return folder
    reason = f"the real Jira access logs are not at {folder} (set {REAL_LOGS_ENV} to their folder)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)
