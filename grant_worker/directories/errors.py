"""What a directory call can end in besides success, phrased for the operator."""

from __future__ import annotations


class DirectoryError(Exception):
    """The directory did not do what was asked. The message is one line, fit for a log or a CLI.

    ``status`` is the last HTTP status seen, or ``None`` when no answer came at all
    (timeout, refused connection): callers tell "unreachable" from "refused" by it.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class UnknownUser(DirectoryError):
    """The user (or the licence group) does not exist in the directory; retrying will not help."""

    def __init__(self, message: str, user: str):
        super().__init__(message, status=404)
        self.user = user


class CircuitOpen(DirectoryError):
    """Raised without calling the directory because it has been failing; try after ``retry_after`` s.

    ``attempted`` is set when an earlier attempt of the same call was sent and failed
    without a verdict (timeout, 5xx): that attempt may still have taken effect.
    """

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after
        self.attempted = False
