"""Helpers shared by the benchmark scripts: processes, ports, wrk, percentiles."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from seatgate.netutil import free_port, wait_for_port

REPO = Path(__file__).resolve().parent.parent


class Procs:
    """Child processes, all stopped on exit."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], port: int | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.children.append(proc)
        if port:
            wait_for_port(port, 30, proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in reversed(self.children):
            if proc.poll() is None:
                self.stop(proc)


def start_redis(procs: Procs) -> int:
    """A private, non-persistent redis-server for one benchmark run; returns its port."""
    port = free_port()
    procs.start(
        "redis",
        [
            need("redis-server", "redis-server"),
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ],
        port,
    )
    return port


def seatgate(*args: str) -> list[str]:
    return [sys.executable, "-m", "seatgate", *args]


def need(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise SystemExit(f"{binary} is needed: apt-get install {package}")
    return path


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def wrk(url: str, connections: int, seconds: float, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Requests/s and latency percentiles (ms) from one wrk run."""
    args = [need("wrk", "wrk"), "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "10s"]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    result: dict[str, Any] = {
        "rps": float(_found(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(_found(r"(\d+) requests in", out).group(1)),
    }
    for pct in ("50", "99"):
        match = _found(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        result[f"p{pct}_ms"] = float(match.group(1)) * _UNITS[match.group(2)] * 1000
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = int(errors.group(1)) if errors else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        result["socket_errors"] = socket_errors.group(1)
    return result


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_stack_config(
    path: Path, *, redis_port: int, sim: int, listen: int, metrics: int, admin: int, inactivity: str = "30m"
) -> None:
    """A seatgate config for the benchmarks that run the whole stack against the Jira simulator."""
    path.write_text(f"""
redis_url = "redis://127.0.0.1:{redis_port}/0"
secret = "bench-secret-bench-secret-bench-secret"
log_level = "info"
[proxy]
listen = "127.0.0.1:{listen}"
metrics_listen = "127.0.0.1:{metrics}"
[worker]
admin_listen = "127.0.0.1:{admin}"
[[products]]
name = "jira"
kind = "jira"
upstream = "http://127.0.0.1:{sim}"
license_group = "jira-software-users"
directory = "jira"
admin_user = "admin"
admin_password = "admin"
inactivity = "{inactivity}"
allow_short_inactivity = true
exclude_users = ["admin"]
""")


def _found(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{text}")
    return match
