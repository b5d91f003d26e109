"""What every directory shares: the interface the worker codes against, and its plumbing.

A subclass only knows its URLs, its paging scheme and what its status codes mean; the
HTTP, the retries, the breaker and the idempotence rule live here once.

Idempotence rule: a write either succeeds outright, or is refused with a status that may
mean "already so" ("already a member", "not a member"). Those refusals are never trusted
by their text (it differs between versions and is not documented); the membership is read
again and decides. That also makes a retried write safe when its first attempt did land
but the answer was lost.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import quote

import yarl

from seatgate import logs
from seatgate.settings import ProductSettings, WorkerSettings

from .breaker import CircuitBreaker
from .errors import DirectoryError, UnknownUser
from .transport import Observer, Reply, Transport, basic_authorization

Op = Literal["add", "remove"]


@dataclass(frozen=True)
class SeatInfo:
    """The upstream licence as the product reports it; ``None`` where it does not say."""

    total: int | None
    used: int | None
    remaining: int | None
    unlimited: bool
    groups: list[str] = field(default_factory=list)  # groups granting the application; [] if unknown


class WriteOutcome(enum.Enum):
    DONE = "done"  # the write took effect
    RECHECK = "recheck"  # refused in a way that may mean "already so": the membership decides
    UNKNOWN = "unknown"  # the user or the group does not exist


@dataclass(frozen=True)
class Statuses:
    """How one write's HTTP statuses read; a status in none of the sets is a plain refusal."""

    done: frozenset[int]
    recheck: frozenset[int] = frozenset()
    unknown: frozenset[int] = frozenset()

    def judge(self, status: int) -> WriteOutcome | None:
        for outcome, codes in (
            (WriteOutcome.DONE, self.done),
            (WriteOutcome.RECHECK, self.recheck),
            (WriteOutcome.UNKNOWN, self.unknown),
        ):
            if status in codes:
                return outcome
        return None


def seg(value: str) -> str:
    """Quote one path segment completely (a group named ``a/b`` or ``x y`` stays one segment)."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Endpoint:
    """A base URL and who we are there; ``who``/``fixes`` make error messages actionable."""

    base: str
    authorization: str | None  # the Authorization header value: a secret
    label: str  # "jira at https://jira.example.com"
    who: str  # "admin_user admin", "crowd_app seatgate"
    bad_credentials: str  # what to fix after a 401
    permission: str  # what to grant after a 403

    def url(self, path: str) -> yarl.URL:
        # encoded=True: the path segments are already quoted by seg(), and must not be
        # re-quoted (a %2F inside a group name has to stay %2F).
        return yarl.URL(self.base + path, encoded=True)

    def __repr__(self) -> str:  # never show the password, even in a debugger or a traceback
        return f"Endpoint({self.label!r}, {self.who!r})"


class Getter(Protocol):
    """A GET on the product's admin REST, as the licence readers need it."""

    def __call__(self, op: str, path: str, params: Mapping[str, str] | None = None) -> Awaitable[Reply]: ...


class Licence(ABC):
    """Reads the product's licence seats and checks the licence group grants the application."""

    @abstractmethod
    async def seats(self) -> SeatInfo: ...

    @abstractmethod
    async def check(self) -> list[str]: ...


def names(items: Any, key: str) -> list[str]:
    """The ``key`` field of each object in a list, skipping anything malformed."""
    if not isinstance(items, list):
        return []
    return [item[key] for item in items if isinstance(item, dict) and isinstance(item.get(key), str)]


def count(value: Any) -> int | None:
    """An integer field of a JSON answer, or None when it is missing or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def refusal(op: str, reply: Reply, endpoint: Endpoint, subject: str = "") -> DirectoryError:
    """A one-line error for an answer we cannot use, with the fix when we know it."""
    what = f"{op} {subject}".strip()
    if reply.status == 401:
        text = f"{endpoint.who} was refused by {endpoint.label} (401): {endpoint.bad_credentials}"
    elif reply.status == 403:
        text = f"{endpoint.who} cannot {what} on {endpoint.label} (403): {endpoint.permission}"
    else:
        text = f"{what}: {endpoint.label} answered {reply.status}: {reply.excerpt()}"
    return DirectoryError(text, status=reply.status)


class Directory(ABC):
    """The licence group in one user directory. Build one with ``make_directory``."""

    name: ClassVar[str]
    add_statuses: ClassVar[Statuses]
    remove_statuses: ClassVar[Statuses]
    page_size: ClassVar[int] = 50

    def __init__(
        self,
        product: ProductSettings,
        worker: WorkerSettings,
        observer: Observer | None = None,
        *,
        breaker: CircuitBreaker | None = None,
    ):
        self.product = product
        self.group = product.license_group
        self.breaker = breaker or CircuitBreaker(
            self.name,
            threshold=worker.directory_breaker_threshold,
            cooldown=worker.directory_breaker_cooldown,
        )
        self.log = logs.get("seatgate.directory", directory=self.name, product=product.name)
        self.transport = Transport(
            timeout=worker.directory_timeout,
            retries=worker.directory_retries,
            breaker=self.breaker,
            observer=observer,
            log=self.log,
        )
        admin_hint = {
            "jira": "give it Jira Administrators",
            "confluence": "give it Confluence Administrator",
        }[product.kind]
        self.admin = Endpoint(
            base=product.upstream,
            authorization=basic_authorization(product.admin_user, product.password()),
            label=f"{product.kind} at {product.upstream}",
            who=f"admin_user {product.admin_user}",
            bad_credentials="check admin_password or admin_password_file",
            permission=admin_hint,
        )
        self.licence = self._make_licence()

    # -- what a subclass provides ----------------------------------------------------
    @property
    def directory(self) -> Endpoint:
        """Where memberships are written (the product itself, or Crowd)."""
        return self.admin

    @abstractmethod
    def _make_licence(self) -> Licence: ...

    @abstractmethod
    async def _write(self, op: Op, user: str) -> Reply:
        """Send the add or remove request; interpretation is left to :meth:`_judge`."""

    def _judge(self, op: Op, reply: Reply) -> WriteOutcome | None:
        return (self.add_statuses if op == "add" else self.remove_statuses).judge(reply.status)

    async def is_member(self, user: str) -> bool:
        """From the user's own group list: one call, where scanning the group's pages is many."""
        try:
            groups = await self.user_groups(user)
        except UnknownUser:
            return False
        return self.group.casefold() in {g.casefold() for g in groups}

    @abstractmethod
    async def members(self) -> list[str]:
        """Usernames in the licence group, all pages."""

    @abstractmethod
    async def user_groups(self, user: str) -> set[str]:
        """The user's groups; raises :class:`UnknownUser` for a user who does not exist."""

    @abstractmethod
    async def user_exists(self, user: str) -> bool: ...

    @abstractmethod
    def _group_probe(self) -> tuple[Endpoint, str, dict[str, str]]:
        """A cheap GET on the licence group (endpoint, path, query) needing the rights to manage it."""

    async def _check_group(self) -> list[str]:
        """Problems reaching and managing the licence group with our credentials."""
        endpoint, path, params = self._group_probe()
        reply = await self._call("check", "GET", endpoint, path, params=params)
        if reply.status == 404:
            return [
                f"licence group {self.group!r} does not exist in {endpoint.label} (404): "
                "create it or correct license_group"
            ]
        if not reply.ok:
            return [str(self._refused("manage", reply, endpoint, f"group {self.group}"))]
        return []

    # -- the interface ---------------------------------------------------------------
    async def add(self, user: str) -> None:
        """Put the user in the licence group; success when they already are."""
        await self._change("add", user)

    async def remove(self, user: str) -> None:
        """Take the user out of the licence group; success when they are not in it (or do not exist)."""
        await self._change("remove", user)

    async def seats(self) -> SeatInfo:
        return await self.licence.seats()

    async def check(self) -> list[str]:
        """Start-up problems, one line each with its fix; [] when all is well.

        Stops at the first step that finds something: later steps would mostly repeat
        it (a refused password fails every one of them).
        """
        for step in (self._check_group, self.licence.check):
            try:
                problems = await step()
            except DirectoryError as exc:
                return [str(exc)]
            if problems:
                return problems
        return []

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Directory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing for subclasses -----------------------------------------------------
    async def _call(
        self,
        op: str,
        method: str,
        endpoint: Endpoint,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Reply:
        return await self.transport.call(
            op, method, endpoint.url(path), authorization=endpoint.authorization, params=params, json=json
        )

    async def _admin_get(self, op: str, path: str, params: Mapping[str, str] | None = None) -> Reply:
        return await self._call(op, "GET", self.admin, path, params=params)

    def _refused(self, op: str, reply: Reply, endpoint: Endpoint, subject: str = "") -> DirectoryError:
        return refusal(op, reply, endpoint, subject)

    def _no_such_user(self, user: str) -> UnknownUser:
        return UnknownUser(f"{self.name}: user {user!r} does not exist", user=user)

    def _unknown(self, user: str) -> UnknownUser:
        return UnknownUser(f"{self.name}: user {user!r} or group {self.group!r} does not exist", user=user)

    async def _found(self, op: str, endpoint: Endpoint, path: str, params: Mapping[str, str]) -> bool:
        """Whether a resource exists: 2xx yes, 404 no, anything else is an error."""
        reply = await self._call(op, "GET", endpoint, path, params=params)
        if reply.status == 404:
            return False
        self._body(op, reply, endpoint)
        return True

    def _body(self, op: str, reply: Reply, endpoint: Endpoint, subject: str = "") -> Any:
        """The body of a successful answer, else the error that explains the failure."""
        if not reply.ok:
            raise self._refused(op, reply, endpoint, subject)
        return reply.body

    async def _collect(
        self,
        op: str,
        endpoint: Endpoint,
        path: str,
        params: Mapping[str, str],
        *,
        start_key: str,
        size_key: str,
        items: Callable[[Any], list[Any]],
        last: Callable[[Any, int], bool],
        page_size: int | None = None,
        on_missing: Callable[[], DirectoryError] | None = None,
    ) -> list[Any]:
        """Every item of a paged listing.

        Advances by the number of items actually received, so a server that caps the page
        below what was asked for still gets read completely.
        """
        size = page_size or self.page_size
        start, found = 0, []
        while True:
            query = {**params, start_key: str(start), size_key: str(size)}
            reply = await self._call(op, "GET", endpoint, path, params=query)
            if reply.status == 404 and on_missing is not None:
                raise on_missing()
            body = self._body(op, reply, endpoint)
            page = items(body)
            found.extend(page)
            if not page or last(body, size):
                return found
            start += len(page)

    async def _change(self, op: Op, user: str) -> None:
        reply = await self._write(op, user)
        outcome = self._judge(op, reply)
        if outcome is WriteOutcome.DONE:
            self.log.info("directory_membership_changed", op=op, user=user, group=self.group)
            return
        if outcome is None:
            raise self._refused(op, reply, self.directory, f"{user} in group {self.group}")
        if outcome is WriteOutcome.UNKNOWN and op == "add":
            raise self._unknown(user)
        # RECHECK, or UNKNOWN on remove (a user who does not exist is in no group).
        wanted = op == "add"
        if await self.is_member(user) == wanted:
            self.log.info("directory_membership_already", op=op, user=user, group=self.group, status=reply.status)
            return
        if wanted and not await self.user_exists(user):
            raise self._unknown(user)
        raise DirectoryError(
            f"{self.name}: {op} {user!r} in group {self.group!r} was refused "
            f"({reply.status}: {reply.excerpt()}) and the membership did not change",
            status=reply.status,
        )
