"""Jira Data Center's own REST: ``/rest/api/2/group/user`` and friends (admin Basic auth).

Statuses (docs/atlassian-facts.md): add → 201, already a member → 400, unknown user
or group → 404; remove → 200, not a member → 400 (most likely; undocumented), unknown → 404.
"""

from __future__ import annotations

from typing import Any

from .base import Directory, Endpoint, Licence, Op, Statuses, names
from .licence import JiraLicence
from .transport import Reply


def _jira_last(body: Any, asked: int) -> bool:
    is_last = body.get("isLast") if isinstance(body, dict) else None
    if isinstance(is_last, bool):
        return is_last
    values = body.get("values") if isinstance(body, dict) else None
    return not isinstance(values, list) or len(values) < asked


def _values(body: Any) -> list[str]:
    return names(body.get("values") if isinstance(body, dict) else None, "name")


class JiraDirectory(Directory):
    name = "jira"
    add_statuses = Statuses(done=frozenset({200, 201}), recheck=frozenset({400}), unknown=frozenset({404}))
    remove_statuses = Statuses(done=frozenset({200, 204}), recheck=frozenset({400}), unknown=frozenset({404}))
    page_size = 50  # Jira caps /group/member pages at 50

    def _make_licence(self) -> Licence:
        return JiraLicence(self.product, self._admin_get, self.admin)

    async def _write(self, op: Op, user: str) -> Reply:
        if op == "add":
            return await self._call(
                op,
                "POST",
                self.admin,
                "/rest/api/2/group/user",
                params={"groupname": self.group},
                json={"name": user},
            )
        return await self._call(
            op,
            "DELETE",
            self.admin,
            "/rest/api/2/group/user",
            params={"groupname": self.group, "username": user},
        )

    async def user_groups(self, user: str) -> set[str]:
        reply = await self._admin_get("user_groups", "/rest/api/2/user", {"username": user, "expand": "groups"})
        if reply.status == 404:
            raise self._no_such_user(user)
        body = self._body("user_groups", reply, self.admin, f"user {user}")
        groups = body.get("groups") if isinstance(body, dict) else None
        return set(names(groups.get("items") if isinstance(groups, dict) else None, "name"))

    async def user_exists(self, user: str) -> bool:
        return await self._found("user_exists", self.admin, "/rest/api/2/user", {"username": user})

    async def members(self) -> list[str]:
        found = await self._collect(
            "members",
            self.admin,
            "/rest/api/2/group/member",
            {"groupname": self.group},
            start_key="startAt",
            size_key="maxResults",
            items=_values,
            last=_jira_last,
        )
        return list(dict.fromkeys(found))

    def _group_probe(self) -> tuple[Endpoint, str, dict[str, str]]:
        return self.admin, "/rest/api/2/group/member", {"groupname": self.group, "maxResults": "1"}
