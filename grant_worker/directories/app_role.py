"""Jira's application access: which groups an application role grants, read and changed.

``GET /rest/api/2/applicationrole/{key}`` answers the role (``groups``, ``defaultGroups``,
seat figures) and an ``ETag`` carrying the version hash of the roles;
``PUT /rest/api/2/applicationrole/{key}`` changes only ``groups`` and ``defaultGroups``
("requests to change the key or the name of the role will be silently ignored") and,
with ``If-Match``, only if the version hash is still the server's.
``POST /rest/api/2/group`` ``{"name": G}`` creates a group (201). Sources:
docs/atlassian-facts.md (Jira application access).

Calls go through the product directory's transport: same retries, deadline and breaker
as every other directory call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import Directory, refusal, seg
from .transport import Reply


@dataclass(frozen=True)
class RoleGroups:
    """The part of an application role that ``seatgate setup`` changes and can restore."""

    key: str
    groups: tuple[str, ...]
    default_groups: tuple[str, ...]
    etag: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "groups": list(self.groups), "defaultGroups": list(self.default_groups)}

    @classmethod
    def from_json(cls, body: Any, etag: str | None = None) -> RoleGroups:
        if not isinstance(body, dict) or not isinstance(body.get("key"), str):
            raise ValueError("not an application role: no key")
        groups, defaults = body.get("groups"), body.get("defaultGroups", [])
        if not _names(groups) or not _names(defaults):
            raise ValueError("not an application role: groups and defaultGroups must be lists of names")
        return cls(body["key"], tuple(groups or ()), tuple(defaults or ()), etag)

    def same_groups(self, other: RoleGroups) -> bool:
        return set(self.groups) == set(other.groups) and set(self.default_groups) == set(other.default_groups)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class ApplicationAccess:
    """Application roles and groups of one Jira, through its directory's transport."""

    def __init__(self, directory: Directory):
        self._directory = directory
        self._admin = directory.admin

    async def _call(self, op: str, method: str, path: str, **kwargs: Any) -> Reply:
        admin = self._admin
        return await self._directory.transport.call(
            op, method, admin.url(path), authorization=admin.authorization, **kwargs
        )

    async def role(self, key: str) -> RoleGroups:
        reply = await self._call("read_role", "GET", f"/rest/api/2/applicationrole/{seg(key)}")
        if not reply.ok:
            raise refusal("read application access", reply, self._admin, f"role {key}")
        etag = reply.headers.get("ETag")
        if etag is None:
            # The version hash is documented on the list of roles; read it there.
            listing = await self._call("read_roles", "GET", "/rest/api/2/applicationrole")
            etag = listing.headers.get("ETag") if listing.ok else None
        return RoleGroups.from_json(reply.body, etag)

    async def put_role(self, wanted: RoleGroups, if_match: str | None) -> RoleGroups:
        """Set the role's groups and default groups; refused (412) if it changed since ``if_match``."""
        headers = {"If-Match": if_match} if if_match else None
        # Not retried: a PUT that timed out may have landed, and a second one would meet
        # a new version hash. The caller reads the role again instead.
        reply = await self._call(
            "update_role",
            "PUT",
            f"/rest/api/2/applicationrole/{seg(wanted.key)}",
            json=wanted.as_json(),
            headers=headers,
            retries=0,
        )
        if not reply.ok:
            raise refusal("change application access", reply, self._admin, f"role {wanted.key}")
        return RoleGroups.from_json(reply.body, reply.headers.get("ETag"))

    async def group_exists(self, group: str) -> bool:
        reply = await self._call(
            "group_exists", "GET", "/rest/api/2/group/member", params={"groupname": group, "maxResults": "1"}
        )
        if reply.status == 404:
            return False
        if not reply.ok:
            raise refusal("read group", reply, self._admin, f"group {group}")
        return True

    async def create_group(self, group: str) -> None:
        reply = await self._call("create_group", "POST", "/rest/api/2/group", json={"name": group}, retries=0)
        if reply.ok:
            return
        if await self.group_exists(group):  # created meanwhile, or by a first attempt that timed out
            return
        raise refusal("create group", reply, self._admin, f"group {group}")
