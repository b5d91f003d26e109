"""Grant latency: first request of an unlicensed user until it is forwarded.

Runs the real stack on loopback: private redis-server, the simulator with 5 ms of
directory latency, one worker, one proxy. 200 distinct users each make a first REST call
(held for a grant) and then a second one (already licensed), a few users at a time.
Reports the proxy's own measure of the hold (``grant_held`` log events) and the client's
round trip of first vs second request.

Usage: python -m bench.bench_grant_latency [--users 200] [--concurrency 1] [--latency-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.common import Procs, free_port, percentile, seatgate, start_redis, write_stack_config


async def drive(base: str, users: list[str], concurrency: int, flow: str) -> tuple[list[float], list[float], int]:
    """Each user: a first request that needs a grant, then a second one (licensed)."""
    firsts, seconds, errors = [], [], 0
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async def timed(request) -> tuple[float, int]:
        started = time.perf_counter()
        async with request as response:
            await response.read()
            return time.perf_counter() - started, response.status

    async def one(user: str) -> None:
        nonlocal errors
        # A cookie jar per user, like a browser per person.
        async with gate, aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            if flow == "login":
                # Browser login: granted before the login reaches upstream.
                form = {"os_username": user, "os_password": user, "os_cookie": "true"}
                first, status1 = await timed(client.post(f"{base}/login.jsp", data=form, allow_redirects=False))
                status1 = 200 if status1 in (200, 302) else status1
                second, status2 = await timed(client.get(f"{base}/rest/api/2/myself"))
            else:
                # REST with Basic: checked upstream first, then granted and replayed.
                headers = {"Authorization": aiohttp.encode_basic_auth(user, user)}
                first, status1 = await timed(client.get(f"{base}/rest/api/2/myself", headers=headers))
                second, status2 = await timed(client.get(f"{base}/rest/api/2/myself", headers=headers))
        errors += (status1 != 200) + (status2 != 200)
        firsts.append(first * 1000)
        seconds.append(second * 1000)

    await asyncio.gather(*(one(u) for u in users))
    return firsts, seconds, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument(
        "--flow",
        choices=["login", "basic"],
        default="login",
        help="login: browser form login; basic: REST call with Basic credentials",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seatgate-bench-grant-"))
    procs = Procs(work)
    try:
        redis_port = start_redis(procs)
        sim, listen, admin = free_port(), free_port(), free_port()
        procs.start(
            "simulator",
            seatgate(
                "simulate",
                "--product",
                "jira",
                "--port",
                str(sim),
                "--users",
                str(args.users),
                "--latency-ms",
                str(args.latency_ms),
            ),
            sim,
        )
        config = work / "seatgate.toml"
        write_stack_config(config, redis_port=redis_port, sim=sim, listen=listen, metrics=free_port(), admin=admin)
        procs.start("worker", seatgate("worker", "--config", str(config)), admin)
        procs.start("proxy", seatgate("proxy", "--config", str(config)), listen)
        users = [f"user{i:04d}" for i in range(1, args.users + 1)]
        firsts, seconds, errors = asyncio.run(drive(f"http://127.0.0.1:{listen}", users, args.concurrency, args.flow))
        time.sleep(0.5)
    finally:
        procs.stop_all()
    held = [
        json.loads(line)["held_ms"] for line in (work / "proxy.log").read_text().splitlines() if '"grant_held"' in line
    ]
    worker = [
        json.loads(line)["latency_ms"]
        for line in (work / "worker.log").read_text().splitlines()
        if '"grant_handled"' in line
    ]

    def row(name: str, values: list[float]) -> str:
        return (
            f"{name:<44} n={len(values):<4} p50 {percentile(values, 50):7.2f} ms   "
            f"p99 {percentile(values, 99):7.2f} ms   max {max(values):7.2f} ms"
        )

    print(
        f"\n{args.users} users ({args.flow} flow), {args.concurrency} at a time, directory latency {args.latency_ms} ms"
    )
    print(row("held by the proxy (grant_held)", held))
    print(row("worker: request to confirmed add", worker))
    print(row("client: first request (grant + upstream)", firsts))
    print(row("client: second request (licensed)", seconds))
    print(f"non-200 responses: {errors}")
    print(
        f"targets: held p50 <= 15 ms: {'met' if percentile(held, 50) <= 15 else 'MISSED'}; "
        f"held p99 <= 50 ms: {'met' if percentile(held, 99) <= 50 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
