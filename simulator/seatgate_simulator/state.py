"""Everything the simulated product remembers: users, groups, seats, sessions, tokens, content, logs.

Pure logic with no HTTP in it, so each rule (who is licensed, what an add to a group
does, how the licence group's high-water mark moves) can be unit-tested directly.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from seatgate_simulator.config import SimConfig, check_faults

NAMED_USERS = ("alice", "bob", "carol", "dave", "erin")
ADMIN = "admin"
SERVICE_ACCOUNTS_GROUP = "service-accounts"
STAFF_GROUP = "staff"
DEFAULT_SPACE = "DS"  # Confluence's demonstration space: home of the simulated pages
FIRST_CREATED_PAGE_ID = 65537  # ids of content created through REST; below are the "any id exists" pages

# Jira's stock workflow, enough for a transition button: id → target status.
TRANSITIONS: dict[str, str] = {"11": "To Do", "21": "In Progress", "31": "Done"}


class DirectoryError(Exception):
    """A membership change the product refuses; subclasses name the reason."""


class UnknownUser(DirectoryError):
    pass


class UnknownGroup(DirectoryError):
    pass


class AlreadyMember(DirectoryError):
    pass


class NotMember(DirectoryError):
    pass


@dataclass(frozen=True, slots=True)
class User:
    name: str
    key: str
    display_name: str
    email: str


@dataclass(slots=True)
class Session:
    sid: str  # the JSESSIONID cookie value
    user: str
    short_id: str  # what X-ASESSIONID and the access log show instead of the cookie
    created: float


@dataclass(slots=True)
class Token:
    token_id: int
    user: str
    name: str
    created: float
    expires: float | None


@dataclass(slots=True)
class Faults:
    fail_rate: float = 0.0
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 30.0

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, all or nothing; ValueError names the bad field."""
        unknown = set(changes) - {"fail_rate", "latency_ms", "timeout_rate", "timeout_s"}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        merged = {
            "fail_rate": self.fail_rate,
            "latency_ms": self.latency_ms,
            "timeout_rate": self.timeout_rate,
            "timeout_s": self.timeout_s,
        }
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            merged[name] = float(value)
        check_faults(**merged)
        for name, value in merged.items():
            setattr(self, name, value)


@dataclass(slots=True)
class Comment:
    comment_id: int
    author: str
    body: str
    created_ms: int


@dataclass(slots=True)
class Worklog:
    worklog_id: int
    author: str
    comment: str
    seconds: int
    started: str
    created_ms: int


@dataclass(slots=True)
class Attachment:
    attachment_id: int
    author: str
    filename: str
    mime_type: str
    size: int
    created_ms: int


@dataclass(slots=True)
class Issue:
    key: str
    summary: str
    status: str = "To Do"
    description: str | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    worklogs: list[Worklog] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(slots=True)
class Page:
    page_id: int
    title: str
    body: str
    version: int = 1
    updated_ms: int = 0
    last_editor: str | None = None
    space: str = DEFAULT_SPACE
    kind: str = "page"  # page | comment (Confluence comments are content too)
    container: int | None = None  # the page a comment belongs to
    creator: str | None = None
    heartbeats: dict[str, float] = field(default_factory=dict)  # user → last editor heartbeat


def now_ms() -> int:
    return int(time.time() * 1000)


def _user_key(product: str, name: str, index: int) -> str:
    # Jira gives users created since 8.x keys like JIRAUSER10100 while old accounts kept their
    # name as key; Confluence keys are opaque hex. Clients must not assume key == name.
    if product == "confluence":
        return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    return name if index < len(NAMED_USERS) + 1 else f"JIRAUSER{10100 + index}"


def build_users(config: SimConfig) -> dict[str, User]:
    names = [ADMIN, *NAMED_USERS] + [f"user{i:04d}" for i in range(1, config.users + 1)]
    users = {}
    for index, name in enumerate(names):
        display = "Administrator" if name == ADMIN else name.capitalize()
        users[name] = User(name, _user_key(config.product, name, index), display, f"{name}@example.com")
    return users


class SimState:
    """One product instance. :meth:`reset` returns everything but the user list to the start."""

    def __init__(self, config: SimConfig):
        self.config = config
        self.users = build_users(config)
        self.rng = random.Random(config.seed)
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        cfg = self.config
        staff = {name for name in self.users if name != ADMIN}
        self.groups: dict[str, set[str]] = {
            cfg.group: {ADMIN},
            cfg.admin_group: {ADMIN},
            SERVICE_ACCOUNTS_GROUP: set(),
            STAFF_GROUP: staff,
        }
        self.seats = cfg.seats
        self.ausername = cfg.ausername
        self.name_refused = cfg.name_refused
        self.confluence_api = cfg.confluence_api
        self.poll_interval = cfg.poll_interval
        self.faults = Faults(cfg.fail_rate, cfg.latency_ms, cfg.timeout_rate, cfg.timeout_s)
        # Application access (Jira's application role): the groups whose members may log in.
        self.role_groups: list[str] = list(cfg.access_groups or (cfg.group,))
        for group in self.role_groups:
            self.groups.setdefault(group, {*staff, ADMIN})
        self.role_default_groups: list[str] = self.role_groups[:1]
        self.max_members = len(self.groups[cfg.group])
        self.sessions: dict[str, Session] = {}
        self.remember_me: dict[str, str] = {}  # cookie value → user
        self.tokens: dict[str, Token] = {}  # raw PAT → token
        self.next_token_id = 1
        self.login_counts: dict[str, int] = {}
        self.failed_logins: dict[str, int] = {}
        self.issues: dict[str, Issue] = {}
        self.pages: dict[int, Page] = {}
        self.board_version = 1  # bumps on any issue change: the board's etag
        self.next_comment_id = 10000
        self.next_page_id = FIRST_CREATED_PAGE_ID
        self.requests: deque[dict[str, Any]] = deque(maxlen=cfg.request_log_size)
        self.request_seq = 0
        self.directory_calls: deque[dict[str, Any]] = deque(maxlen=cfg.request_log_size)
        self.started = time.time()

    # -- users and groups --------------------------------------------------------------------

    @property
    def license_group(self) -> str:
        return self.config.group

    def check_password(self, name: str, password: str) -> bool:
        # The documented convention of the simulator: every password equals its username.
        return name in self.users and secrets.compare_digest(name.encode(), password.encode())

    def is_licensed(self, name: str | None) -> bool:
        """Whether the user has application access: a member of a group the role grants."""
        return name is not None and any(name in self.groups.get(g, ()) for g in self.role_groups)

    def licensed_users(self) -> set[str]:
        if len(self.role_groups) == 1:  # the usual case: no copy
            return self.groups.get(self.role_groups[0], set())
        return set().union(*(self.groups.get(g, set()) for g in self.role_groups))

    def create_group(self, group: str) -> None:
        if group in self.groups or group in self.users:
            raise AlreadyMember(group)  # Jira: "A group or user with this name already exists."
        self.groups[group] = set()

    def set_role_groups(self, groups: list[str], default_groups: list[str]) -> None:
        """Jira's application role update: only groups and default groups change."""
        unknown = [g for g in [*groups, *default_groups] if g not in self.groups]
        if unknown:
            raise UnknownGroup(unknown[0])
        if not set(default_groups) <= set(groups):
            raise ValueError("default groups must be among the role's groups")
        self.role_groups, self.role_default_groups = list(dict.fromkeys(groups)), list(dict.fromkeys(default_groups))

    def is_admin(self, name: str | None) -> bool:
        return name is not None and name in self.groups[self.config.admin_group]

    def members(self, group: str) -> list[str]:
        if group not in self.groups:
            raise UnknownGroup(group)
        return sorted(self.groups[group])

    def groups_of(self, name: str) -> list[str]:
        if name not in self.users:
            raise UnknownUser(name)
        return sorted(group for group, members in self.groups.items() if name in members)

    def _check(self, name: str, group: str) -> set[str]:
        # Jira looks the user up before the group (GroupResource: "to get 404 if the user does not
        # exist"); the order only matters for which error a caller sees when both are unknown.
        if name not in self.users:
            raise UnknownUser(name)
        if group not in self.groups:
            raise UnknownGroup(group)
        return self.groups[group]

    def add_member(self, name: str, group: str) -> None:
        """Add; AlreadyMember if present. Never refused for lack of seats: Jira 8+ and
        Confluence let the licence overflow and then block content creation, which is exactly
        what seatgate must prevent, so the simulator only records the high-water mark."""
        members = self._check(name, group)
        if name in members:
            raise AlreadyMember(name)
        members.add(name)
        if group == self.config.group:
            self.max_members = max(self.max_members, len(members))

    def remove_member(self, name: str, group: str) -> None:
        members = self._check(name, group)
        if name not in members:
            raise NotMember(name)
        members.discard(name)

    def ensure_member(self, name: str, group: str, present: bool) -> None:
        """Idempotent form used by Confluence 9 REST: no error for a no-op."""
        try:
            (self.add_member if present else self.remove_member)(name, group)
        except (AlreadyMember, NotMember):
            pass

    @property
    def seats_used(self) -> int:
        return len(self.licensed_users())

    @property
    def seats_remaining(self) -> int:
        # May go negative: an overflowing licence is a state the real products reach.
        return self.seats - self.seats_used

    @property
    def over_licence(self) -> bool:
        return self.seats_used > self.seats

    # -- sessions, remember-me, tokens ---------------------------------------------------------

    def new_session(self, user: str) -> Session:
        sid = secrets.token_hex(16).upper()  # Tomcat style
        short = format(int.from_bytes(hashlib.sha1(sid.encode()).digest()[:5], "big"), "x")[:7]
        session = Session(sid, user, short, time.time())
        self.sessions[sid] = session
        self.login_counts[user] = self.login_counts.get(user, 0) + 1
        return session

    def end_session(self, sid: str | None) -> None:
        if sid:
            self.sessions.pop(sid, None)

    def new_remember_me(self, user: str) -> str:
        value = secrets.token_hex(20)
        self.remember_me[value] = user
        return value

    def forget_remember_me(self, value: str | None) -> None:
        if value:
            self.remember_me.pop(value, None)

    def create_token(self, user: str, name: str, days: int | None) -> tuple[Token, str]:
        raw = secrets.token_urlsafe(33)  # 44 characters, like a Jira PAT
        created = time.time()
        token = Token(self.next_token_id, user, name, created, created + days * 86400 if days else None)
        self.next_token_id += 1
        self.tokens[raw] = token
        return token, raw

    def token_user(self, raw: str) -> str | None:
        token = self.tokens.get(raw)
        if token is None or (token.expires is not None and token.expires < time.time()):
            return None
        return token.user

    def user_tokens(self, user: str) -> list[Token]:
        return [token for token in self.tokens.values() if token.user == user]

    def revoke_token(self, user: str, token_id: int) -> bool:
        for raw, token in list(self.tokens.items()):
            if token.user == user and token.token_id == token_id:
                del self.tokens[raw]
                return True
        return False

    # -- content -----------------------------------------------------------------------------

    def issue(self, key: str) -> Issue:
        issue = self.issues.get(key)
        if issue is None:
            issue = self.issues[key] = Issue(key, f"Simulated issue {key}")
        return issue

    def add_comment(self, key: str, author: str, body: str) -> Comment:
        comment = Comment(self.next_comment_id, author, body, now_ms())
        self.next_comment_id += 1
        self.issue(key).comments.append(comment)
        self.board_version += 1
        return comment

    def transition(self, key: str, transition_id: str) -> str:
        """Move the issue; KeyError for an unknown transition id."""
        status = TRANSITIONS[transition_id]
        self.issue(key).status = status
        self.board_version += 1
        return status

    def page(self, page_id: int) -> Page:
        page = self.pages.get(page_id)
        if page is None:
            page = self.pages[page_id] = Page(
                page_id, f"Page {page_id}", f"<p>Content of simulated page {page_id}.</p>", updated_ms=0
            )
        return page

    def edit_page(self, page_id: int, editor: str, body: str) -> Page:
        page = self.page(page_id)
        page.body = body
        page.version += 1
        page.updated_ms = now_ms()
        page.last_editor = editor
        return page

    def create_content(
        self, kind: str, title: str, body: str, author: str, space: str, container: int | None = None
    ) -> Page:
        page = Page(self.next_page_id, title, body, updated_ms=now_ms(), last_editor=author)
        page.kind, page.space, page.container, page.creator = kind, space, container, author
        self.next_page_id += 1
        self.pages[page.page_id] = page
        return page

    def find_page(self, space: str, title: str) -> Page | None:
        return next(
            (p for p in self.pages.values() if p.kind == "page" and p.space == space and p.title == title), None
        )

    def next_id(self) -> int:
        """One counter for comment, worklog and attachment ids (unique, like Jira's)."""
        self.next_comment_id += 1
        return self.next_comment_id - 1

    def heartbeat(self, page_id: int, user: str, window_s: float = 60.0) -> list[str]:
        """Record an editor heartbeat; return the other users editing the page right now."""
        page = self.page(page_id)
        now = time.time()
        page.heartbeats[user] = now
        return sorted(name for name, seen in page.heartbeats.items() if name != user and now - seen < window_s)

    # -- logs --------------------------------------------------------------------------------

    def record_request(self, record: dict[str, Any]) -> None:
        self.request_seq += 1
        record["seq"] = self.request_seq
        self.requests.append(record)

    def record_directory_call(
        self, op: str, user: str | None, group: str | None, status: int, caller: str | None
    ) -> None:
        self.directory_calls.append(
            {"op": op, "user": user, "group": group, "status": status, "caller": caller, "ts": time.time()}
        )
