"""``seatgate demo``: the whole product on one machine, with nothing to install.

Starts the Jira simulator, a private Redis, one grant worker and one proxy, with a
short inactivity period, and prints where to point a browser and what to watch.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seatgate.netutil import free_port, port_is_free, wait_for_port

DEMO_USERS = ["alice", "bob", "carol", "dave", "erin"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="proxy port (default 8080)")
    parser.add_argument("--upstream-port", type=int, default=8090, help="simulator port (default 8090)")
    parser.add_argument("--admin-port", type=int, default=8091, help="worker admin/metrics port (default 8091)")
    parser.add_argument("--inactivity", default="60s", help="inactivity period (default 60s)")
    parser.add_argument("--seats", type=int, default=3, help="seat cap for the demo (default 3)")
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")


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
admin_token = "demo-token"
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

    ports = {"proxy": args.port, "simulator": args.upstream_port, "admin": args.admin_port}
    busy = [f"{name} port {port}" for name, port in ports.items() if not port_is_free(port)]
    if busy:
        print(
            f"seatgate demo: {', '.join(busy)} already in use; choose others with --port, "
            "--upstream-port, --admin-port",
            file=sys.stderr,
        )
        return 2
    redis_port, metrics_port = free_port(), free_port()
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
            proxy_port=args.port,
            upstream_port=args.upstream_port,
            admin_port=args.admin_port,
            metrics_port=metrics_port,
            inactivity=args.inactivity,
            seats=args.seats,
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, cmd, port in (
            (
                "simulator",
                [
                    "simulate",
                    "--product",
                    "jira",
                    "--port",
                    str(args.upstream_port),
                    "--poll-interval",
                    "5",
                    "--access-log",
                    str(work / "jira-access.log"),
                ],
                args.upstream_port,
            ),
            ("worker", ["worker", "--config", str(config)], args.admin_port),
            ("proxy", ["proxy", "--config", str(config)], args.port),
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
                )
            children.append(proc)
            _wait_port(port, proc, 30, name, log)
        print(
            f"""
seatgate demo is running.

  Open            http://127.0.0.1:{args.port}/   (seatgate proxy in front of the Jira simulator)
  Log in as       {", ".join(DEMO_USERS)}  (password = username; none of them is licensed yet)
  Seats           {args.seats} floating seats; inactivity {args.inactivity}

What to watch:
  - The login works at the first try: seatgate adds the user to jira-software-users before
    the login reaches Jira. Leave the tab open: its background polling does not count, and
    the seat is released {args.inactivity} after your last click.
  - Log in as more than {args.seats} users (private windows) to see the waiting page.
  - Seats and idle times:   seatgate status --config {config}
  - Admin API:              curl -H 'Authorization: Bearer demo-token' http://127.0.0.1:{args.admin_port}/api/v1/status
  - Metrics (worker):       http://127.0.0.1:{args.admin_port}/metrics
  - Metrics (proxy):        http://127.0.0.1:{metrics_port}/metrics
  - Simulator state:        http://127.0.0.1:{args.upstream_port}/__sim/state?requests=0
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
