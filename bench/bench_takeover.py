"""How long a grant waits when its worker dies: the takeover time distribution.

Two workers (default settings, so ``takeover_after`` = 1.5 s) consume the grant stream of
the Jira simulator, whose directory calls take ``--latency-ms``. Each round appends one
grant request, waits until a worker has reserved the seat (its directory add is then on the
wire), kills that worker with SIGKILL and measures, polling Redis every 10 ms:

* takeover — from the kill to the entry being claimed by the surviving worker;
* licensed — from the kill to the user's seat committed.

The killed worker is replaced before the next round, so two workers always run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.common import Procs, free_port, percentile, seatgate, start_redis, write_stack_config
from seatgate import redis_conn
from seatgate.protocol import GrantRequest
from seatgate.schema import GROUP, ProductKeys

KEYS = ProductKeys("jira")
POLL = 0.01


async def poll(predicate, deadline: float):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(POLL)
    raise SystemExit(f"no result within {deadline} s")


async def one_round(redis, user: str, workers: dict[int, subprocess.Popen], kill_after: float) -> tuple[float, float]:
    request = GrantRequest(
        user=user, request_id=uuid.uuid4().hex, requested_at=time.time(), client="bench", source="bench", confirmed=True
    )
    await redis.xadd(KEYS.grants, request.to_fields())

    async def reserved():
        return await redis.hexists(KEYS.granting, user)

    await poll(reserved, 30)

    async def pending_consumer():
        entries = await redis.xpending_range(KEYS.grants, GROUP, min="-", max="+", count=1)
        return entries[0]["consumer"] if entries else None

    victim = await poll(pending_consumer, 10)
    await asyncio.sleep(kill_after)  # the add is on the wire
    pid = int(victim.rsplit("-", 2)[1])
    os.killpg(pid, signal.SIGKILL)
    killed = time.monotonic()
    workers.pop(pid).wait(10)

    async def claimed_by_another():
        return (await pending_consumer()) not in (victim,)

    await poll(claimed_by_another, 30)
    takeover = time.monotonic() - killed

    async def licensed():
        return await redis.hexists(KEYS.licensed, user)

    await poll(licensed, 30)
    return takeover, time.monotonic() - killed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=1000, help="directory call latency")
    parser.add_argument("--kill-after", type=float, default=0.3, help="seconds into the directory add")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seatgate-bench-takeover-"))
    procs = Procs(work)
    takeovers: list[float] = []
    licensed: list[float] = []
    try:
        redis_port = start_redis(procs)
        sim = free_port()
        procs.start(
            "simulator",
            seatgate("simulate", "--product", "jira", "--port", str(sim), "--users", str(args.kills),
                     "--latency-ms", str(args.latency_ms)),
            sim,
        )  # fmt: skip
        workers: dict[int, subprocess.Popen] = {}

        def start_worker(n: int) -> None:
            config = work / f"worker{n}.toml"
            admin = free_port()
            write_stack_config(
                config, redis_port=redis_port, sim=sim, listen=free_port(), metrics=free_port(), admin=admin
            )
            proc = procs.start(f"worker{n}", seatgate("worker", "--config", str(config)), admin)
            workers[proc.pid] = proc

        start_worker(0)
        start_worker(1)
        for n in range(args.kills):
            takeover, done = asyncio.run(_round_with(redis_port, f"user{n + 1:04d}", workers, args.kill_after))
            takeovers.append(takeover)
            licensed.append(done)
            print(f"kill {n + 1:2d}: taken over after {takeover:.3f} s, licensed after {done:.3f} s", flush=True)
            if n + 1 < args.kills:
                start_worker(n + 2)
        with urllib.request.urlopen(f"http://127.0.0.1:{sim}/__sim/state?requests=0", timeout=10) as reply:
            calls = json.load(reply)["directory_calls"]
    finally:
        procs.stop_all()

    def row(name: str, values: list[float]) -> str:
        return (
            f"{name:<34} min {min(values):.2f}  p50 {percentile(values, 50):.2f}  "
            f"p90 {percentile(values, 90):.2f}  max {max(values):.2f} s"
        )

    print(f"\n{args.kills} kills, directory latency {args.latency_ms} ms, killed {args.kill_after} s into the add")
    print(row("kill -> claimed by the survivor", takeovers))
    print(row("kill -> seat committed", licensed))
    print(f"takeover within 2 s: {sum(t <= 2 for t in takeovers)}/{len(takeovers)}")
    adds: dict[str, list[int]] = {}
    for call in calls:
        if call["op"] == "add":
            adds.setdefault(call["user"], []).append(call["status"])
    changed_once = sum(statuses.count(201) == 1 for statuses in adds.values())
    repeated = sum(len(statuses) > 1 for statuses in adds.values())
    print(f"users added exactly once (one 201): {changed_once}/{args.kills}; with a second, no-op add: {repeated}")


async def _round_with(redis_port: int, user: str, workers: dict[int, subprocess.Popen], kill_after: float):
    redis = redis_conn.connect(f"redis://127.0.0.1:{redis_port}/0")
    try:
        return await one_round(redis, user, workers, kill_after)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    main()
