"""The product's own licence: how many seats it has, and which groups use them.

Separate from the directories because it always comes from the product (with the admin
account), even when memberships are written to Crowd.
"""

from __future__ import annotations

from typing import Any

from seatgate.settings import ProductSettings

from .base import Endpoint, Getter, Licence, SeatInfo, count, names, refusal, seg


class JiraLicence(Licence):
    """``/rest/api/2/applicationrole/{app_role}``: seats and the groups granting the application."""

    def __init__(self, product: ProductSettings, get: Getter, endpoint: Endpoint):
        self.role = product.app_role
        self.group = product.license_group
        self._get = get
        self._endpoint = endpoint

    @property
    def _path(self) -> str:
        return f"/rest/api/2/applicationrole/{seg(self.role)}"

    async def seats(self) -> SeatInfo:
        reply = await self._get("seats", self._path)
        if not reply.ok or not isinstance(reply.body, dict):
            raise refusal("read application access", reply, self._endpoint)
        body: dict[str, Any] = reply.body
        groups = body.get("groups")
        unlimited = body.get("hasUnlimitedSeats") is True
        total = count(body.get("numberOfSeats"))
        return SeatInfo(
            # Atlassian reports "no limit" as -1 (or a meaningless number next to the flag).
            total=None if unlimited or total is None or total < 0 else total,
            used=count(body.get("userCount")),
            # Negative when the licence already overflows: kept, the cap must see it.
            remaining=None if unlimited else count(body.get("remainingSeats")),
            unlimited=unlimited,
            groups=[g for g in groups if isinstance(g, str)] if isinstance(groups, list) else [],
        )

    async def check(self) -> list[str]:
        reply = await self._get("check", self._path)
        if reply.status == 404:
            listing = await self._get("check", "/rest/api/2/applicationrole")
            keys = names(listing.body, "key") if listing.ok else []
            hint = f"set app_role to one of {', '.join(keys)}" if keys else "check app_role"
            return [f"app_role {self.role!r} is not an application of {self._endpoint.label} (404): {hint}"]
        if not reply.ok:
            return [str(refusal("read application access", reply, self._endpoint))]
        seats = await self.seats()
        if self.group.casefold() not in {g.casefold() for g in seats.groups}:
            granted_by = ", ".join(seats.groups) or "no group"
            return [
                f"licence group {self.group!r} does not grant {self.role} (granted by: {granted_by}): "
                "add it under Applications → Application access"
            ]
        return []


class ConfluenceLicence(Licence):
    """``/rest/license/1.0/license/{maxUsers,remainingSeats}`` (internal, undocumented REST).

    Confluence does not say over REST which groups hold "Can use", so ``groups`` is [] and
    the check cannot verify that the licence group grants the application.
    """

    _BASE = "/rest/license/1.0/license"

    def __init__(self, product: ProductSettings, get: Getter, endpoint: Endpoint):
        self._get = get
        self._endpoint = endpoint

    async def _count(self, name: str) -> int | None:
        reply = await self._get("seats", f"{self._BASE}/{name}")
        if not reply.ok:
            raise refusal("read the licence", reply, self._endpoint)
        return count(reply.body.get("count")) if isinstance(reply.body, dict) else None

    async def seats(self) -> SeatInfo:
        total = await self._count("maxUsers")
        if total is not None and total < 0:  # an unlimited licence reports a negative maximum
            return SeatInfo(total=None, used=None, remaining=None, unlimited=True, groups=[])
        # Negative when the licence already overflows: kept, the cap must see it.
        remaining = await self._count("remainingSeats")
        used = total - remaining if total is not None and remaining is not None else None
        return SeatInfo(total=total, used=used, remaining=remaining, unlimited=False, groups=[])

    async def check(self) -> list[str]:
        reply = await self._get("check", f"{self._BASE}/remainingSeats")
        return [] if reply.ok else [str(refusal("read the licence", reply, self._endpoint))]
