"""A proxy started while Redis is unreachable says so: stderr, metric, status and doctor.

The proxy runs as a real process against a Redis port nobody listens on; later a real
redis-server is started on that port and the proxy notices.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
import structlog

from proxy_addon.redis_watch import REPEAT_AFTER, RedisWatch
from seatgate.settings import load_settings
from tests.conftest import RedisServer
from tests.e2e.stack import render_config
from tests.faults.support import eventually, metric
from tests.helpers import free_port, running, seatgate_cmd

SECRET = "0123456789abcdef0123456789abcdef"


def write_config(tmp_path, redis_port: int, listen: int, metrics: int, failure_mode: str) -> str:
    path = tmp_path / f"proxy-{failure_mode}.toml"
    settings = {
        "redis_url": f"redis://127.0.0.1:{redis_port}/0",
        "secret": SECRET,
        "log_level": "info",
        "proxy": {
            "listen": f"127.0.0.1:{listen}",
            "metrics_listen": f"127.0.0.1:{metrics}",
            "failure_mode": failure_mode,
        },
        "products": [
            {"name": "jira", "kind": "jira", "upstream": "http://127.0.0.1:9", "license_group": "jira-software-users"}
        ],
    }
    path.write_text(render_config(settings))
    return str(path)


async def tool(*args: str) -> subprocess.CompletedProcess:
    """Run a seatgate command without blocking the event loop, with a deadline."""
    proc = await asyncio.create_subprocess_exec(*seatgate_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


def warnings_in(output: str) -> list[dict]:
    found = []
    for line in output.splitlines():
        if '"redis_unreachable"' in line:
            found.append(json.loads(line))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("failure_mode", ["open", "closed"])
async def test_proxy_started_without_redis_warns_once_and_shows_in_status_and_doctor(tmp_path, failure_mode):
    redis_port, listen, metrics_port = free_port(), free_port(), free_port()
    config = write_config(tmp_path, redis_port, listen, metrics_port, failure_mode)
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with running(seatgate_cmd("proxy", "--config", config), tmp_path / "proxy.log", port=listen) as proxy:
        # Listening means started: the first check has already run and warned.
        lines = warnings_in(proxy.output())
        assert len(lines) == 1, proxy.output()
        assert lines[0]["level"] == "warning"
        assert f"failing {failure_mode} until Redis answers" in lines[0]["detail"]
        assert metric(metrics_url, "seatgate_proxy_redis_up") == 0

        # status: the proxy's state on stdout, then the one-line Redis error, exit 2.
        status = await tool("status", "--config", config)
        assert status.returncode == 2, status
        assert status.stdout.strip() == (
            f"proxy at 127.0.0.1:{metrics_port}: failing {failure_mode}: it cannot reach Redis, "
            + (
                "requests are forwarded without a seat check"
                if failure_mode == "open"
                else "requests that need a seat are answered 503"
            )
        ), status.stdout
        assert status.stderr.splitlines() == [
            "seatgate status: configuration error: redis_url: Redis is not reachable (ConnectionError)"
        ]
        as_json = await tool("status", "--config", config, "--json")
        proxy_doc = json.loads(as_json.stdout)["proxy"]
        assert proxy_doc["answering"] is True and proxy_doc["redis"] is False
        assert proxy_doc["failure_mode"] == failure_mode

        doctor = await tool("doctor", "--config", config, "--json")
        findings = {f["check"]: f for f in json.loads(doctor.stdout)["findings"]}
        assert findings["redis"]["status"] == "FAIL"
        assert findings["proxy"]["status"] == "WARN"
        assert f"failing {failure_mode}: it cannot reach Redis" in findings["proxy"]["finding"]

        # Some seconds later (pings every second): still the one line, at most one a minute.
        await asyncio.sleep(3)
        assert len(warnings_in(proxy.output())) == 1, proxy.output()

        # Redis comes up: the proxy says so and the metric follows.
        (tmp_path / "redis").mkdir()
        server = RedisServer(tmp_path / "redis", port=redis_port)
        try:
            await eventually(lambda: '"redis_reachable"' in proxy.output(), 20, "the proxy saw Redis come back")
            await eventually(lambda: metric(metrics_url, "seatgate_proxy_redis_up") == 1, 10, "metric back to 1")
            assert len(warnings_in(proxy.output())) == 1
        finally:
            server.stop()


def test_warning_repeats_at_most_once_a_minute(tmp_path):
    settings = load_settings(None, {"proxy": {"failure_mode": "closed"}})
    now = [1000.0]
    watch = RedisWatch(None, settings, clock=lambda: now[0])
    with structlog.testing.capture_logs() as logged:
        for step in (0, 10, 30, REPEAT_AFTER - 1):
            now[0] = 1000.0 + step
            watch.observe(False, "ConnectionError")
        assert [e["event"] for e in logged] == ["redis_unreachable"]
        assert "failing closed until Redis answers" in logged[0]["detail"]
        now[0] = 1000.0 + REPEAT_AFTER
        watch.observe(False, "ConnectionError")
        assert [e["event"] for e in logged] == ["redis_unreachable"] * 2
        # Back, then gone again: said at once, not a minute later.
        watch.observe(True)
        now[0] += 1
        watch.observe(False, "TimeoutError")
        assert [e["event"] for e in logged] == [
            "redis_unreachable",
            "redis_unreachable",
            "redis_reachable",
            "redis_unreachable",
        ]
