"""What the worker holds per product: its settings, its Redis keys and its directory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from grant_worker.directories import Directory, UnknownUser
from seatgate.schema import ProductKeys
from seatgate.settings import ProductSettings

# How long a directory answer about a user's groups or existence is reused.
USER_INFO_TTL = 300.0


@dataclass
class ProductRuntime:
    """What the worker holds per product."""

    settings: ProductSettings
    keys: ProductKeys
    directory: Directory
    _user_info: dict[str, tuple[float, frozenset[str] | None]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.settings.name

    async def user_groups(self, user: str) -> frozenset[str] | None:
        """The user's groups, cached; None when the directory does not know the user."""
        cached = self._user_info.get(user)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            groups: frozenset[str] | None = frozenset(await self.directory.user_groups(user))
        except UnknownUser:
            groups = None
        self._user_info[user] = (time.monotonic() + USER_INFO_TTL, groups)
        return groups
