"""Process and network helpers for tests that run real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from seatgate.netutil import free_port, wait_for_port

REPO = Path(__file__).resolve().parent.parent

__all__ = ["Process", "free_port", "running", "seatgate_cmd", "wait_for_port", "wait_until"]


class Process:
    """A child process with its output in a log file, stopped with a deadline."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=REPO, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, deadline: float = 5.0) -> int | None:
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(deadline)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def seatgate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "seatgate", *args]


@contextlib.contextmanager
def running(
    args: list[str], log_path: Path, port: int | None = None, env: dict[str, str] | None = None, deadline: float = 20.0
) -> Iterator[Process]:
    proc = Process(args, log_path, env)
    try:
        if port is not None:
            try:
                wait_for_port(port, deadline, proc.proc)
            except Exception as exc:
                raise RuntimeError(f"{exc}\n--- output of {' '.join(args)}:\n{proc.output()[-4000:]}") from exc
        yield proc
    finally:
        proc.stop()


async def wait_until(predicate: Callable[[], Any], deadline: float, interval: float = 0.1) -> Any:
    """Poll predicate until it returns something truthy or the deadline passes; return its last value."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    return predicate()
