"""Helpers of the fault, fuzz and browser tests: deadlines, metrics, restarting a proxy."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.stack import Stack
from tests.helpers import Process, seatgate_cmd
from tests.ops_admin.ops import fetch, get_json, scrape

PRODUCT = "jira"


async def eventually(predicate: Callable[[], Any], deadline: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; fail after ``deadline`` s."""
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline:g}s: {what}")
        await asyncio.sleep(interval)


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
    _, samples = scrape(url)
    return sum(v for lbl, v in samples.get(name, []) if all(lbl.get(k) == w for k, w in labels.items()))


def proxy_metrics(stack: Stack, index: int = 0) -> str:
    return f"http://127.0.0.1:{stack.metrics_ports[index]}/metrics"


def worker_metrics(stack: Stack, index: int = 0) -> str:
    return f"http://127.0.0.1:{stack.admin_ports[index]}/metrics"


def ready(port: int) -> bool:
    """Whether the /readyz on this port answers 200 (every check passed)."""
    try:
        status, _ = fetch(f"http://127.0.0.1:{port}/readyz", timeout=6)
    except OSError:
        return False
    return status == 200


def readiness(port: int) -> dict[str, Any]:
    try:
        return get_json(f"http://127.0.0.1:{port}/readyz")[1]
    except OSError as exc:
        return {"error": str(exc)}


def restart_proxy(stack: Stack, index: int) -> Process:
    """Stop proxy ``index`` (SIGTERM) and start it again with the same settings and ports."""
    stack.proxies[index].stop()
    config = stack.tmp / f"proxy{index}.toml"
    restarts = sum(1 for p in stack.processes if p.log_path.name.startswith(f"proxy{index}."))
    proc = Process(seatgate_cmd("proxy", "--config", str(config)), stack.tmp / f"proxy{index}.{restarts}.log")
    stack.processes.append(proc)
    stack.proxies[index] = proc
    stack._wait(stack.proxy_ports[index], proc)
    stack._wait(stack.metrics_ports[index], proc)
    return proc


def directory_calls(stack: Stack, user: str, op: str = "add") -> list[dict[str, Any]]:
    return [c for c in stack.sim_state(requests=False)["directory_calls"] if c["op"] == op and c["user"] == user]


def members(stack: Stack) -> set[str]:
    return set(stack.sim_state(requests=False)["members"])


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc (KiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
