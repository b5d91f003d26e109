"""``seatgate demo``: the whole product on one machine, with nothing to install.

Starts the Jira simulator, a private Redis, one grant worker and one proxy, with a
short inactivity period, and prints where to point a browser and what to watch.

The default ports (8480 proxy, 8490 simulator, 8491 admin page, 8492 proxy metrics) stay
clear of the ports a Jira or Confluence admin's machine often already uses (Jira 8080,
Confluence 8090, Synchrony 8091). A default port that is taken is replaced by a free one,
and the demo says so; a port given on the command line that is taken is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from seatgate.netutil import free_port, port_is_free, wait_for_port

DEMO_USERS = ["alice", "bob", "carol", "dave", "erin"]
# option → (default port, what listens there)
PORTS = {
    "port": (8480, "proxy"),
    "upstream_port": (8490, "simulator"),
    "admin_port": (8491, "admin page"),
    "metrics_port": (8492, "proxy metrics"),
}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    helps = {
        "port": "port of the proxy, the URL to open",
        "upstream_port": "port of the Jira simulator",
        "admin_port": "port of the worker's admin page, admin API and metrics",
        "metrics_port": "port of the proxy's metrics",
    }
    for dest, (default, _) in PORTS.items():
        parser.add_argument(
            "--" + dest.replace("_", "-"),
            type=int,
            default=None,
            metavar="PORT",
            help=f"{helps[dest]} (default {default}, or a free port when {default} is taken)",
        )
    parser.add_argument("--inactivity", default="60s", help="inactivity period (default 60s)")
    parser.add_argument("--seats", type=int, default=3, help="seat cap for the demo (default 3)")
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")


def choose_ports(args: argparse.Namespace) -> tuple[dict[str, int], list[str]]:
    """The port of each listener, and a note per default that was taken and replaced.

    SystemExit(2) when a port given on the command line is taken: the user asked for it."""
    chosen: dict[str, int] = {}
    notes: list[str] = []
    for dest, (default, what) in PORTS.items():
        asked = getattr(args, dest)
        if asked is not None:
            if not port_is_free(asked):
                option = "--" + dest.replace("_", "-")
                print(
                    f"seatgate demo: {what} port {asked} ({option}) is already in use; choose another", file=sys.stderr
                )
                raise SystemExit(2)
            chosen[dest] = asked
            continue
        port = default
        while not port_is_free(port) or port in chosen.values():
            port = free_port()
        if port != default:
            notes.append(f"{what} port {default} is taken: using {port}")
        chosen[dest] = port
    return chosen, notes


def _parent_death_signal() -> Any:
    """A function for the child (preexec_fn) that asks Linux to send it SIGTERM when the
    demo dies, even by SIGKILL, so no simulator, worker or proxy outlives the demo.
    Resolved before forking: the child only calls it. None where prctl does not exist."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _seatgate_command() -> str:
    """How to run seatgate from any directory: the venv's script, else the interpreter."""
    script = Path(sys.executable).with_name("seatgate")
    return str(script) if script.exists() else f"{sys.executable} -m seatgate"


def _wait_port(port: int, proc: subprocess.Popen | None, deadline: float, what: str, log: Path | None) -> None:
    try:
        wait_for_port(port, deadline, proc)
    except RuntimeError:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise SystemExit(f"seatgate demo: {what} exited with {proc.returncode if proc else '?'}\n{tail}") from None
    except TimeoutError:
        raise SystemExit(f"seatgate demo: {what} did not listen on 127.0.0.1:{port} within {deadline:.0f}s") from None


def write_config(
    path: Path,
    *,
    redis_url: str,
    proxy_port: int,
    upstream_port: int,
    admin_port: int,
    metrics_port: int,
    inactivity: str,
    seats: int,
    admin_token: str,
) -> None:
    path.write_text(
        f"""# written by seatgate demo
redis_url = "{redis_url}"
secret = "{secrets.token_hex(32)}"
log_format = "json"

[proxy]
listen = "127.0.0.1:{proxy_port}"
metrics_listen = "127.0.0.1:{metrics_port}"
grant_timeout = 5

[worker]
admin_listen = "127.0.0.1:{admin_port}"
admin_token = "{admin_token}"
sweep_interval = "2s"
seat_refresh_interval = "5s"

[[products]]
name = "jira"
kind = "jira"
upstream = "http://127.0.0.1:{upstream_port}"
license_group = "jira-software-users"
app_role = "jira-software"
directory = "jira"
admin_user = "admin"
admin_password = "admin"
seats = {seats}
inactivity = "{inactivity}"
allow_short_inactivity = true
exclude_users = ["admin"]
""",
        encoding="utf-8",
    )


def main(args: argparse.Namespace) -> int:
    from seatgate_simulator.embedded_redis import EmbeddedRedis

    ports, notes = choose_ports(args)
    proxy_port, upstream_port, admin_port = ports["port"], ports["upstream_port"], ports["admin_port"]
    redis_port, metrics_port = free_port(), ports["metrics_port"]
    admin_token = secrets.token_hex(8)
    work = Path(tempfile.mkdtemp(prefix="seatgate-demo-"))
    config = work / "seatgate.toml"
    redis = EmbeddedRedis(redis_port)
    children: list[subprocess.Popen] = []
    logs = []
    try:
        kind = redis.start(work)
        _wait_port(redis_port, None, 10, "Redis", None)
        write_config(
            config,
            redis_url=redis.url,
            proxy_port=proxy_port,
            upstream_port=upstream_port,
            admin_port=admin_port,
            metrics_port=metrics_port,
            inactivity=args.inactivity,
            seats=args.seats,
            admin_token=admin_token,
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        die_with_demo = _parent_death_signal()
        for name, cmd, port in (
            (
                "simulator",
                [
                    "simulate",
                    "--product",
                    "jira",
                    "--port",
                    str(upstream_port),
                    "--poll-interval",
                    "5",
                    "--access-log",
                    str(work / "jira-access.log"),
                ],
                upstream_port,
            ),
            ("worker", ["worker", "--config", str(config)], admin_port),
            ("proxy", ["proxy", "--config", str(config)], proxy_port),
        ):
            log = work / f"{name}.log"
            logs.append(log)
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "seatgate", *cmd],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                    preexec_fn=die_with_demo,
                )
            children.append(proc)
            _wait_port(port, proc, 30, name, log)
        seatgate = _seatgate_command()
        chosen = "".join(
            f"\n  Note: {note} (--port, --upstream-port, --admin-port and --metrics-port choose them)."
            for note in notes
        )
        print(
            f"""
seatgate demo is running.{chosen}

  Open            http://127.0.0.1:{proxy_port}/   (the Jira simulator through the seatgate proxy)
  Log in as       {", ".join(DEMO_USERS)}  (password = username; none of them is licensed yet)
  Seats           {args.seats} floating seats; inactivity {args.inactivity}
  Admin page      http://127.0.0.1:{admin_port}/admin   (log in with the admin token {admin_token})
  Metrics         http://127.0.0.1:{admin_port}/metrics (worker), http://127.0.0.1:{metrics_port}/metrics (proxy)
  Simulator       http://127.0.0.1:{upstream_port}/__sim/state?requests=0   (who is in the licence group)

What to watch:
  - The login works at the first try: seatgate adds the user to jira-software-users before
    the login reaches Jira. Leave the tab open: its background polling does not count, and
    the seat is released {args.inactivity} after your last click.
  - Log in as more than {args.seats} users (private windows) to see the waiting page.
  - Seats and idle times:   {seatgate} status --config {config}
  - Traffic rules:          {seatgate} rules list --config {config}
  - Admin API:              curl -H 'Authorization: Bearer {admin_token}' http://127.0.0.1:{admin_port}/api/v1/status
  - Logs:                   {work}

Redis: {kind}.  Press Ctrl-C to stop.
""",
            flush=True,
        )
        deadline = time.monotonic() + args.duration if args.duration else None
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while deadline is None or time.monotonic() < deadline:
            for proc, log in zip(children, logs, strict=True):
                if proc.poll() is not None:
                    print(f"seatgate demo: {log.stem} exited with {proc.returncode}; see {log}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(children):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(children):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        redis.stop()
