"""Configuration of one simulated Jira or Confluence Data Center instance.

Kept free of aiohttp so the CLI can validate flags without importing the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Product = Literal["jira", "confluence"]
ConfluenceApi = Literal["rest", "jsonrpc"]

DEFAULT_LICENSE_GROUPS: dict[str, str] = {"jira": "jira-software-users", "confluence": "confluence-users"}
ADMIN_GROUPS: dict[str, str] = {"jira": "jira-administrators", "confluence": "confluence-administrators"}
# Big enough that nothing in a test or a demo hits it unless it asks to.
DEFAULT_SEATS = 10_000


@dataclass
class SimConfig:
    product: Product = "jira"
    users: int = 0  # extra users user0001..userNNNN besides admin and the five named users
    seats: int = DEFAULT_SEATS
    license_group: str | None = None  # None → the product's default group
    # Groups the application role grants at start (Jira); () → the licence group alone. A
    # group named here that does not exist is created holding every user (the usual
    # "everyone has access" set-up before a cut-over to a floating group).
    access_groups: tuple[str, ...] = ()
    latency_ms: float = 0.0  # added to directory calls only
    fail_rate: float = 0.0  # share of directory calls answered with 500
    timeout_rate: float = 0.0  # share of directory calls that hang for timeout_s first
    timeout_s: float = 30.0
    ausername: bool = True  # send X-AUSERNAME (Confluence may not: handle both)
    # X-AUSERNAME of a request refused for lack of a licence names the verified user instead
    # of "anonymous" (unconfirmed on real instances: both are modelled)
    name_refused: bool = False
    confluence_api: ConfluenceApi = "rest"  # "jsonrpc" models Confluence 7.x/8.x
    poll_interval: float = 30.0  # seconds between the browser pages' background polls
    access_log: Path | None = None
    crowd_app_name: str = "seatgate"
    crowd_app_password: str = "seatgate"
    request_log_size: int = 100_000
    seed: int | None = None  # for the fault-injection dice; None → unpredictable

    def __post_init__(self) -> None:
        self.validate()

    @property
    def group(self) -> str:
        """The licence group: the one listed in the application role."""
        return self.license_group or DEFAULT_LICENSE_GROUPS[self.product]

    @property
    def admin_group(self) -> str:
        return ADMIN_GROUPS[self.product]

    def validate(self) -> None:
        """Raise ValueError with a one-line reason for the first bad field."""
        if self.product not in DEFAULT_LICENSE_GROUPS:
            raise ValueError(f"product must be jira or confluence, not {self.product!r}")
        if self.confluence_api not in ("rest", "jsonrpc"):
            raise ValueError(f"confluence_api must be rest or jsonrpc, not {self.confluence_api!r}")
        if not 0 <= self.users <= 1_000_000:
            raise ValueError("users must be between 0 and 1000000")
        if self.seats < 0:
            raise ValueError("seats must not be negative")
        if self.license_group is not None and not self.license_group.strip():
            raise ValueError("license group must not be empty")
        if any(not g.strip() for g in self.access_groups):
            raise ValueError("access groups must not be empty names")
        check_faults(self.fail_rate, self.latency_ms, self.timeout_rate, self.timeout_s)
        if not self.poll_interval > 0:
            raise ValueError("poll interval must be positive")
        if self.request_log_size < 1:
            raise ValueError("request_log_size must be at least 1")


def check_faults(fail_rate: float, latency_ms: float, timeout_rate: float, timeout_s: float) -> None:
    if not 0.0 <= fail_rate <= 1.0:
        raise ValueError("fail rate must be between 0 and 1")
    if not 0.0 <= timeout_rate <= 1.0:
        raise ValueError("timeout rate must be between 0 and 1")
    if not 0.0 <= latency_ms <= 600_000:
        raise ValueError("latency must be between 0 and 600000 ms")
    if not 0.0 <= timeout_s <= 3600:
        raise ValueError("timeout must be between 0 and 3600 s")
