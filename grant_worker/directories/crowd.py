"""Crowd REST ``/rest/usermanagement/1`` (Crowd itself, or Jira acting as user server).

Authenticated as an *application* (crowd_app / crowd_password), not as a user. Without
``crowd_url`` the product's own upstream serves the API (Jira as user server). The seats
still come from the product, read with the admin account: Crowd knows nothing of licences.

Statuses: add → 201, already a member → 409 (unconfirmed), unknown user → 400 or 404;
remove → 204, not a member → 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seatgate.settings import ProductSettings, WorkerSettings

from .base import Directory, Endpoint, Licence, Op, Statuses, names
from .breaker import CircuitBreaker
from .licence import ConfluenceLicence, JiraLicence
from .transport import Observer, Reply, basic_authorization


def _key(key: str) -> Callable[[Any], list[str]]:
    def items(body: Any) -> list[str]:
        return names(body.get(key) if isinstance(body, dict) else None, "name")

    return items


def _short_page(key: str) -> Callable[[Any, int], bool]:
    # Crowd gives no total and no "last" flag: a page shorter than asked is the last.
    def last(body: Any, asked: int) -> bool:
        return len(_key(key)(body)) < asked

    return last


class CrowdDirectory(Directory):
    name = "crowd"
    # 400 may mean "no such user" or something else: re-reading tells which.
    add_statuses = Statuses(done=frozenset({200, 201, 204}), recheck=frozenset({400, 409}), unknown=frozenset({404}))
    remove_statuses = Statuses(done=frozenset({200, 204}), recheck=frozenset({404}))
    page_size = 200

    def __init__(
        self,
        product: ProductSettings,
        worker: WorkerSettings,
        observer: Observer | None = None,
        *,
        breaker: CircuitBreaker | None = None,
    ):
        super().__init__(product, worker, observer, breaker=breaker)
        server = product.crowd_url or product.upstream
        secret = product.crowd_password.get_secret_value() if product.crowd_password else ""
        self.crowd = Endpoint(
            base=f"{server}/rest/usermanagement/1",
            authorization=basic_authorization(product.crowd_app or "", secret),
            label=f"crowd at {server}" if product.crowd_url else f"the user server of {product.upstream}",
            who=f"crowd_app {product.crowd_app}",
            bad_credentials=(
                "check crowd_app and crowd_password, and that the application's remote addresses allow this host"
            ),
            permission="let the application manage the directory that holds the licence group",
        )

    @property
    def directory(self) -> Endpoint:
        return self.crowd

    def _make_licence(self) -> Licence:
        licence = JiraLicence if self.product.kind == "jira" else ConfluenceLicence
        return licence(self.product, self._admin_get, self.admin)

    async def _write(self, op: Op, user: str) -> Reply:
        path = "/user/group/direct"
        if op == "add":
            return await self._call(op, "POST", self.crowd, path, params={"username": user}, json={"name": self.group})
        return await self._call(op, "DELETE", self.crowd, path, params={"username": user, "groupname": self.group})

    async def is_member(self, user: str) -> bool:
        # Crowd answers this one directly: 200 member, 404 not (or no such user or group).
        params = {"groupname": self.group, "username": user}
        return await self._found("is_member", self.crowd, "/group/user/direct", params)

    async def members(self) -> list[str]:
        found = await self._collect(
            "members",
            self.crowd,
            "/group/user/direct",
            {"groupname": self.group},
            start_key="start-index",
            size_key="max-results",
            items=_key("users"),
            last=_short_page("users"),
        )
        return list(dict.fromkeys(found))

    async def user_groups(self, user: str) -> set[str]:
        found = await self._collect(
            "user_groups",
            self.crowd,
            "/user/group/direct",
            {"username": user},
            start_key="start-index",
            size_key="max-results",
            items=_key("groups"),
            last=_short_page("groups"),
            on_missing=lambda: self._no_such_user(user),
        )
        return set(found)

    async def user_exists(self, user: str) -> bool:
        # The user's group list answers 404 for an unknown user: one resource fewer to rely
        # on than GET /user, and one that Crowd and Jira's user server both serve.
        params = {"username": user, "max-results": "1"}
        return await self._found("user_exists", self.crowd, "/user/group/direct", params)

    def _group_probe(self) -> tuple[Endpoint, str, dict[str, str]]:
        return self.crowd, "/group/user/direct", {"groupname": self.group, "max-results": "1"}
