"""An in-memory directory and a product runtime on it, for the grant_worker unit tests."""

from __future__ import annotations

from typing import Any

import pytest

from grant_worker.directories import DirectoryError
from grant_worker.product import ProductRuntime
from seatgate.schema import ProductKeys
from seatgate.settings import ProductSettings


class MemoryDirectory:
    """The licence group as a set; records every write; a write can be made to fail."""

    name = "memory"

    def __init__(self, members: set[str] | None = None) -> None:
        self.group: set[str] = set(members or ())
        self.calls: list[tuple[str, str]] = []
        self.fail_writes = False

    async def add(self, user: str) -> None:
        self.calls.append(("add", user))
        if self.fail_writes:
            raise DirectoryError("injected failure", 500)
        self.group.add(user)

    async def remove(self, user: str) -> None:
        self.calls.append(("remove", user))
        if self.fail_writes:
            raise DirectoryError("injected failure", 500)
        self.group.discard(user)

    async def members(self) -> list[str]:
        return sorted(self.group)

    async def is_member(self, user: str) -> bool:
        return user in self.group

    async def user_groups(self, user: str) -> set[str]:
        return set()


def runtime(directory: MemoryDirectory, **settings: Any) -> ProductRuntime:
    product = ProductSettings.model_validate(
        {
            "name": "jira",
            "kind": "jira",
            "upstream": "http://127.0.0.1:8080",
            "license_group": "jira-software-users",
            "inactivity": 600,
            "allow_short_inactivity": True,
            **settings,
        }
    )
    return ProductRuntime(product, ProductKeys("jira"), directory)  # type: ignore[arg-type]


@pytest.fixture
def directory() -> MemoryDirectory:
    return MemoryDirectory()
