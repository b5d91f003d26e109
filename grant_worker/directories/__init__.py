"""Directory clients of the grant worker: put users in and out of the licence group.

One :class:`Directory` per product, built by :func:`make_directory` from the product's
``directory`` setting: Jira REST, Confluence REST (9.x), Confluence JSON-RPC (7.x/8.x) or
Crowd REST (Crowd, or Jira acting as user server).
"""

from .base import Directory, SeatInfo
from .breaker import BreakerState, CircuitBreaker
from .errors import CircuitOpen, DirectoryError, UnknownUser
from .factory import make_directory
from .transport import Observer

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "Directory",
    "DirectoryError",
    "Observer",
    "SeatInfo",
    "UnknownUser",
    "make_directory",
]
