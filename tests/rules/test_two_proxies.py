"""A rules change made with the CLI reaches two running proxy processes within 2 s."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import redis

from seatgate.schema import GlobalKeys
from tests.helpers import Process, seatgate_cmd

DEADLINE = 2.0


def versions(probe: Process) -> dict[int, float]:
    return {int(v): float(t) for v, t in re.findall(r"^version (\d+) at ([\d.]+)$", probe.output(), re.M)}


def wait_for(probes: list[Process], version: int, deadline: float) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if all(version in versions(p) for p in probes):
            return
        time.sleep(0.02)
    raise AssertionError(f"not every probe reached version {version}: " + " | ".join(p.output() for p in probes))


def test_cli_change_reaches_two_proxies(redis_url, tmp_path) -> None:
    probes = [
        Process([sys.executable, "-m", "tests.rules.watch_probe", redis_url], tmp_path / f"probe{i}.log")
        for i in range(2)
    ]
    try:
        wait_for(probes, 1, 20)  # both started and hold the seeded catalogue
        env = {**os.environ, "SEATGATE_REDIS_URL": redis_url}
        for version, args in (
            (
                2,
                [
                    "add",
                    "--id",
                    "ours.poll",
                    "--description",
                    "our poll",
                    "--path",
                    "/rest/ours/x",
                    "--verdict",
                    "background",
                ],
            ),
            (3, ["move", "ours.poll", "--before", "static.resources"]),
        ):
            done = subprocess.run(seatgate_cmd("rules", *args), env=env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            wait_for(probes, version, 10)
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            saved_at = float(client.xrevrange(GlobalKeys.rules_audit, count=1)[0][1]["when"])
            client.close()
            delays = [versions(p)[version] - saved_at for p in probes]
            print(f"version {version}: delays {[round(d * 1000, 1) for d in delays]} ms")
            assert all(0 <= d < DEADLINE for d in delays), delays
    finally:
        for probe in probes:
            probe.stop()
