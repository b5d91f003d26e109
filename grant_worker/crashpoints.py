"""Test-only crash points: kill this worker (SIGKILL) at a named step of a grant.

Fault tests need a worker to die at an exact step, not whenever a timer happens to fire.
Set, in the worker's environment (read once, at import):

    SEATGATE_TEST_CRASH_AT     one of STEPS
    SEATGATE_TEST_CRASH_DELAY  seconds between reaching the step and the kill (default 0);
                               with ``during_add`` the directory add is then on the wire
    SEATGATE_TEST_CRASH_ONCE   a file path: only the worker that creates it dies, so every
                               worker of a test can carry the setting and whichever handles
                               the grant dies while the others carry on

Unset (always, outside tests) :func:`reached` does nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal

STEPS = ("before_reserve", "during_add", "after_add", "after_commit")

_STEP = os.environ.get("SEATGATE_TEST_CRASH_AT", "")
_DELAY = float(os.environ.get("SEATGATE_TEST_CRASH_DELAY", "0") or 0)
_ONCE = os.environ.get("SEATGATE_TEST_CRASH_ONCE", "")
if _STEP and _STEP not in STEPS:
    raise SystemExit(f"SEATGATE_TEST_CRASH_AT={_STEP!r}: expected one of {', '.join(STEPS)}")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def reached(step: str) -> None:
    """Called by the grant handler at each step; kills the process at the configured one."""
    if step != _STEP:
        return
    if _ONCE:
        try:
            os.close(os.open(_ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # another worker died here already
    if _DELAY > 0:
        asyncio.get_running_loop().call_later(_DELAY, _die)
    else:
        _die()
