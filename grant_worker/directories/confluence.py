"""Confluence Data Center: REST (9.x) and JSON-RPC (7.x/8.x) differ only in how they write.

Reads use the REST API both have: ``/rest/api/group/{g}/member``,
``/rest/api/user/memberof``, ``/rest/api/user``. Writes:
9.x ``PUT|DELETE /rest/api/user/{u}/group/{g}`` → 204, idempotent by contract;
7.x/8.x ``POST /rpc/json-rpc/confluenceservice-v2/addUserToGroup`` with ``["user", "group"]``
→ ``true``, failures as ``{"error": …}`` with status 200.
"""

from __future__ import annotations

from typing import Any

from .base import Directory, Endpoint, Licence, Op, Statuses, WriteOutcome, names, seg
from .errors import DirectoryError, UnknownUser
from .licence import ConfluenceLicence
from .transport import Reply


def _results(body: Any) -> list[Any]:
    results = body.get("results") if isinstance(body, dict) else None
    return results if isinstance(results, list) else []


def _confluence_last(body: Any, asked: int) -> bool:
    links = body.get("_links") if isinstance(body, dict) else None
    if isinstance(links, dict) and links.get("next"):
        return False
    # No next link: a short page is surely the last. A full one may not be if the server
    # omits _links, so read on; the worst case is one extra, empty page.
    limit = body.get("limit") if isinstance(body, dict) else None
    return len(_results(body)) < (limit if isinstance(limit, int) and limit > 0 else asked)


class ConfluenceDirectory(Directory):
    """The reads both Confluence API generations share."""

    page_size = 200

    def _make_licence(self) -> Licence:
        return ConfluenceLicence(self.product, self._admin_get, self.admin)

    async def members(self) -> list[str]:
        found = await self._collect(
            "members",
            self.admin,
            f"/rest/api/group/{seg(self.group)}/member",
            {},
            start_key="start",
            size_key="limit",
            items=lambda body: names(_results(body), "username"),
            last=_confluence_last,
        )
        return list(dict.fromkeys(found))

    async def user_groups(self, user: str) -> set[str]:
        found = await self._collect(
            "user_groups",
            self.admin,
            "/rest/api/user/memberof",
            {"username": user},
            start_key="start",
            size_key="limit",
            items=lambda body: names(_results(body), "name"),
            last=_confluence_last,
            on_missing=lambda: self._no_such_user(user),
        )
        return set(found)

    async def user_exists(self, user: str) -> bool:
        return await self._found("user_exists", self.admin, "/rest/api/user", {"username": user})

    def _group_probe(self) -> tuple[Endpoint, str, dict[str, str]]:
        return self.admin, f"/rest/api/group/{seg(self.group)}/member", {"limit": "1"}

    async def supports_rest_writes(self) -> bool:
        """Whether this Confluence has the 9.x group-membership REST, found without changing anything.

        Sends a write that is a no-op by construction: the admin account into a group it
        already belongs to (or, when it has none, out of the licence group it is then not
        in). Confluence 9.x answers 204; 7.x/8.x have no such resource: 404 or 405.
        """
        admin = self.product.admin_user
        try:
            groups = sorted(await self.user_groups(admin))
        except UnknownUser:
            raise DirectoryError(
                f"admin_user {admin!r} does not exist in {self.admin.label}: correct admin_user", status=404
            ) from None
        method, group = ("PUT", groups[0]) if groups else ("DELETE", self.group)
        reply = await self._call("probe", method, self.admin, f"/rest/api/user/{seg(admin)}/group/{seg(group)}")
        if reply.ok:
            return True
        if reply.status in (404, 405):
            return False
        raise self._refused("probe", reply, self.admin, "the group membership REST")


class ConfluenceRestDirectory(ConfluenceDirectory):
    name = "confluence-rest"
    add_statuses = Statuses(done=frozenset({200, 201, 204}), unknown=frozenset({404}))
    remove_statuses = Statuses(done=frozenset({200, 204}), unknown=frozenset({404}))

    async def _write(self, op: Op, user: str) -> Reply:
        method = "PUT" if op == "add" else "DELETE"
        return await self._call(op, method, self.admin, f"/rest/api/user/{seg(user)}/group/{seg(self.group)}")


class ConfluenceJsonRpcDirectory(ConfluenceDirectory):
    name = "confluence-jsonrpc"
    _RPC = "/rpc/json-rpc/confluenceservice-v2"

    async def _write(self, op: Op, user: str) -> Reply:
        method = "addUserToGroup" if op == "add" else "removeUserFromGroup"
        return await self._call(op, "POST", self.admin, f"{self._RPC}/{method}", json=[user, self.group])

    async def _check_group(self) -> list[str]:
        problems = await super()._check_group()
        if problems:
            return problems
        # A read-only RPC proves the endpoint is there (the plugin can be disabled) and that
        # the admin account may use it, before the first grant depends on it.
        reply = await self._call(
            "check", "POST", self.admin, f"{self._RPC}/getUserGroups", json=[self.product.admin_user]
        )
        if reply.status == 200 and isinstance(reply.body, list):
            return []
        if reply.status == 200 and isinstance(reply.body, dict) and "error" in reply.body:
            error = reply.body["error"]
            message = error.get("message") if isinstance(error, dict) else error
            return [
                f"admin_user {self.product.admin_user} cannot use JSON-RPC on {self.admin.label}: "
                f"{message}; {self.admin.permission}"
            ]
        if reply.status == 404:
            return [
                f"JSON-RPC is not available on {self.admin.label} (404): enable the Confluence "
                "JSON-RPC plugin, or use directory = 'confluence-rest' on Confluence 9"
            ]
        return [str(self._refused("use JSON-RPC", reply, self.admin))]

    def _judge(self, op: Op, reply: Reply) -> WriteOutcome | None:
        if reply.status != 200:
            return None
        body = reply.body
        if body is True or (isinstance(body, dict) and body.get("result") is True):
            return WriteOutcome.DONE
        # `false` or {"error": …}: the message says why (already a member, no such user),
        # but its wording is not a contract, so the membership decides.
        return WriteOutcome.RECHECK
