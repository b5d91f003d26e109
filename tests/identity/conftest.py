"""One deployment per test module (starting processes is the slow part); users are not shared
between tests, so the tests of a module stay independent of each other's order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory, redis_server) -> Iterator:
    stacks: list[Stack] = []

    def make(**kwargs) -> Stack:
        redis_server.cli("FLUSHALL")
        stack = Stack(tmp=tmp_path_factory.mktemp("stack"), redis_url=redis_server.url, **kwargs)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
