"""A whole seatgate deployment as real processes on 127.0.0.1: simulator, workers, proxies."""

from __future__ import annotations

import json
import secrets
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import Process, free_port, seatgate_cmd, wait_for_port


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def render_config(settings: dict[str, Any]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in settings.items() if not isinstance(v, dict | list) or k == "x"]
    for section in ("proxy", "worker"):
        if section in settings:
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in settings[section].items()]
    for product in settings.get("products", []):
        lines.append("[[products]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in product.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Stack:
    tmp: Path
    redis_url: str
    product: str = "jira"
    sim_args: list[str] = field(default_factory=list)
    product_overrides: dict[str, Any] = field(default_factory=dict)
    proxy_overrides: dict[str, Any] = field(default_factory=dict)
    worker_overrides: dict[str, Any] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)  # e.g. test-only crash points
    processes: list[Process] = field(default_factory=list)
    proxy_ports: list[int] = field(default_factory=list)
    metrics_ports: list[int] = field(default_factory=list)
    admin_ports: list[int] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    proxies: list[Process] = field(default_factory=list)
    admin_token: str = "test-admin-token"

    def __post_init__(self) -> None:
        self.sim_port = free_port()
        self.secret = secrets.token_hex(32)

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_ports[0]}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_ports[0]}"

    def settings(self, proxy_port: int, metrics_port: int, admin_port: int) -> dict[str, Any]:
        product = {
            "name": self.product,
            "kind": self.product,
            "upstream": self.sim_url,
            "license_group": "jira-software-users" if self.product == "jira" else "confluence-users",
            "app_role": "jira-software",
            "directory": "jira" if self.product == "jira" else "auto",
            "admin_user": "admin",
            "admin_password": "admin",
            "inactivity": "4s",
            "allow_short_inactivity": True,
            "exclude_users": ["admin"],
        }
        product.update(self.product_overrides)
        return {
            "redis_url": self.redis_url,
            "secret": self.secret,
            "log_format": "json",
            "log_level": "debug",
            "proxy": {
                "listen": f"127.0.0.1:{proxy_port}",
                "metrics_listen": f"127.0.0.1:{metrics_port}",
                "grant_timeout": 5,
                "activity_flush_interval": 0.2,
                "cache_resync_interval": "5s",
                **self.proxy_overrides,
            },
            "worker": {
                "admin_listen": f"127.0.0.1:{admin_port}",
                "admin_token": self.admin_token,
                "sweep_interval": "0.5s",
                "revoke_grace": "0.5s",
                "seat_refresh_interval": "2s",
                **self.worker_overrides,
            },
            "products": [product],
        }

    def write_config(self, name: str) -> tuple[Path, int, int, int]:
        ports = free_port(), free_port(), free_port()
        path = self.tmp / f"{name}.toml"
        path.write_text(render_config(self.settings(*ports)))
        return (path, *ports)

    def start_simulator(self) -> Process:
        args = seatgate_cmd("simulate", "--product", self.product, "--port", str(self.sim_port), *self.sim_args)
        proc = Process(args, self.tmp / "simulator.log")
        self.processes.append(proc)
        wait_for_port(self.sim_port, 20, proc.proc)
        return proc

    def start_worker(self) -> Process:
        path, _, _, admin = self.write_config(f"worker{len(self.workers)}")
        proc = Process(
            seatgate_cmd("worker", "--config", str(path)), self.tmp / f"worker{len(self.workers)}.log", self.worker_env
        )
        self.processes.append(proc)
        self.workers.append(proc)
        self._wait(admin, proc)
        self.admin_ports.append(admin)
        return proc

    def start_proxy(self) -> Process:
        path, port, metrics, _ = self.write_config(f"proxy{len(self.proxies)}")
        proc = Process(seatgate_cmd("proxy", "--config", str(path)), self.tmp / f"proxy{len(self.proxies)}.log")
        self.processes.append(proc)
        self.proxies.append(proc)
        self._wait(port, proc)
        self._wait(metrics, proc)
        self.proxy_ports.append(port)
        self.metrics_ports.append(metrics)
        return proc

    def _wait(self, port: int, proc: Process) -> None:
        try:
            wait_for_port(port, 30, proc.proc)
        except Exception as exc:
            raise RuntimeError(f"{exc}\n{proc.output()[-3000:]}") from exc

    def start(self, workers: int = 1, proxies: int = 1) -> Stack:
        self.start_simulator()
        for _ in range(workers):
            self.start_worker()
        for _ in range(proxies):
            self.start_proxy()
        return self

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    # -- simulator introspection ------------------------------------------------------
    def sim_state(self, requests: bool = True) -> dict[str, Any]:
        url = f"{self.sim_url}/__sim/state" + ("" if requests else "?requests=0")
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def sim_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.sim_url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return json.loads(raw) if raw else {}

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.admin_url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def logs(self) -> str:
        return "\n".join(f"=== {p.log_path.name}\n{p.output()[-3000:]}" for p in self.processes)
