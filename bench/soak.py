"""Load and soak: hundreds of simulated people working through two proxies for minutes.

Runs the whole product on loopback: a private redis-server, the Jira simulator with
``--users N``, one grant worker and two proxies (users alternate between them, as a load
balancer would spread them). Each simulated person

- logs in once, arriving during the first minute (held for a grant: unlicensed at start);
- keeps a tab open that polls in the background every ``--poll-interval`` s (Quick Reload,
  notification count, service-desk queue, board with etag), whatever they do;
- works in bursts: a page view followed by two or three REST calls, sometimes a comment,
  with think times of 5-30 s; between bursts, idle for 0.5-4 minutes. Idle longer than the
  inactivity period (2 minutes) releases the seat, and the next page view is held for a
  new grant: grants keep happening for the whole run.

Bounded in time (``--minutes``) and in requests (``--max-requests``, default
``users x minutes x 60``); every request has a 30 s deadline. Samples every
``--sample`` s: resident memory (VmRSS) of both proxies and the worker, requests by kind,
errors. Grant latency is the proxies' own measure (``grant_held`` log lines, from the
request arriving to its release). Errors: a failed connection or timeout, any 5xx, a
login not answered ``OK``, a refused (401/403) or redirected-to-login page view or REST
call. A background poll refused while its user's seat is released is what Jira does, and
is counted apart.

Usage: python -m bench.soak [--users 500] [--minutes 10] [--json out.json]
       python -m bench.soak --minutes 1          # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import shutil
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.common import Procs, free_port, percentile, seatgate, start_redis, write_stack_config

INACTIVITY_S = 120
POLLS = [
    "/rest/quickreload/latest/{page}?since={since}",
    "/rest/mywork/latest/status/notification/count",
    "/rest/servicedesk/1/servicedesk/SD/queues/poll?projectStateHash={hash}",
    "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=1&etag={etag}",
]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Tally:
    """What the simulated people saw, per minute of the run."""

    started: float
    limit: int
    last_minute: int
    requests: Counter = field(default_factory=Counter)  # minute → requests completed
    kinds: Counter = field(default_factory=Counter)  # kind → requests
    errors: Counter = field(default_factory=Counter)  # kind:reason → count
    error_minutes: Counter = field(default_factory=Counter)
    polls_refused: int = 0  # a poll of a user whose seat was released: Jira's own answer
    examples: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def minute(self) -> int:
        # requests finishing just past the end count in the last minute
        return min(int((time.monotonic() - self.started) // 60), self.last_minute)

    def count(self, kind: str) -> None:
        self.requests[self.minute()] += 1
        self.kinds[kind] += 1
        if self.total >= self.limit:
            self.stop.set()

    def error(self, kind: str, reason: str) -> None:
        self.errors[f"{kind}:{reason}"] += 1
        self.error_minutes[self.minute()] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {reason}")


class Person:
    def __init__(
        self,
        name: str,
        base: str,
        connector: aiohttp.BaseConnector,
        tally: Tally,
        rng: random.Random,
        poll_interval: float,
    ):
        self.name, self.base, self.tally, self.rng = name, base, tally, rng
        self.poll_interval = poll_interval
        self.client = aiohttp.ClientSession(
            connector=connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        self.page = rng.randint(1000, 9999)

    async def call(self, kind: str, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse | None:
        if self.tally.stop.is_set():
            return None
        try:
            async with self.client.request(method, self.base + path, allow_redirects=False, **kwargs) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.count(kind)
            self.tally.error(kind, type(exc).__name__)
            return None
        self.tally.count(kind)
        status = response.status
        if status >= 500:
            self.tally.error(kind, f"{status} {response.headers.get('X-Seatgate', '')}".strip())
        elif kind == "poll" and status in (401, 403):
            self.tally.polls_refused += 1
        elif status in (401, 403):
            self.tally.error(kind, str(status))
        elif status == 302 and "login" in response.headers.get("Location", "") and kind != "login":
            self.tally.error(kind, "sent to the login page")
        return response

    async def login(self) -> bool:
        data = {
            "os_username": self.name,
            "os_password": self.name,
            "os_cookie": "true",
            "os_destination": "/secure/Dashboard.jspa",
        }
        response = await self.call("login", "POST", "/login.jsp", data=data)
        if response is None:
            return False
        if response.headers.get("X-Seraph-LoginReason") != "OK":
            self.tally.error("login", response.headers.get("X-Seraph-LoginReason", str(response.status)))
            return False
        return True

    async def poll_forever(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.poll_interval))
        etag, round_ = 0, 0
        while not self.tally.stop.is_set():
            template = POLLS[round_ % len(POLLS)]
            path = template.format(page=self.page, since=int(time.time() * 1000) - 30_000, hash="abc", etag=etag)
            response = await self.call("poll", "GET", path, headers={"Accept": "application/json"})
            if response is not None and "allData" in path and response.status == 200:
                etag += 1
            round_ += 1
            await asyncio.sleep(self.poll_interval * self.rng.uniform(0.8, 1.2))

    async def act(self) -> None:
        """A page view, then the REST calls the page makes, sometimes a comment."""
        key = f"SIM-{self.rng.randint(1, 500)}"
        page = self.rng.choice([f"/browse/{key}", "/secure/Dashboard.jspa", "/secure/RapidBoard.jspa?rapidView=1"])
        await self.call("page", "GET", page, headers={"Accept": "text/html"})
        for path in self.rng.sample(
            [
                f"/rest/api/2/issue/{key}",
                "/rest/api/2/myself",
                f"/rest/api/2/issue/{key}/comment",
                "/rest/api/2/search?jql=assignee%3DcurrentUser()",
            ],
            k=self.rng.randint(2, 3),
        ):
            await self.call("rest", "GET", path, headers={"Accept": "application/json"})
        if self.rng.random() < 0.1:
            await self.call("comment", "POST", "/secure/AddComment.jspa", data={"id": key, "comment": "soak"})

    async def live(self, arrive_within: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, arrive_within))
        if not await self.login():
            return
        poller = asyncio.create_task(self.poll_forever())
        try:
            while not self.tally.stop.is_set():
                for _ in range(self.rng.randint(3, 10)):
                    await self.act()
                    await self.sleep(self.rng.uniform(5, 30))
                await self.sleep(self.rng.uniform(30, 240))  # idle: only the tab's polls
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.tally.stop.wait(), seconds)

    async def close(self) -> None:
        await self.client.close()


def metric_sum(port: int, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` on a /metrics page whose labels include ``labels``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def grant_holds(logs: list[Path], started_wall: float, last_minute: int) -> dict[int, list[float]]:
    """Minute of the run → hold times (ms) of granted requests, from the proxies' logs."""
    by_minute: dict[int, list[float]] = defaultdict(list)
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if '"grant_held"' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("outcome") != "granted":
                continue
            at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
            by_minute[min(int((at - started_wall) // 60), last_minute)].append(float(event["held_ms"]))
    return by_minute


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="seatgate-soak-"))
    procs = Procs(work)
    try:
        redis_port = start_redis(procs)
        sim = free_port()
        procs.start(
            "simulator", seatgate("simulate", "--product", "jira", "--port", str(sim), "--users", str(args.users)), sim
        )
        admin = free_port()
        write_stack_config(
            work / "worker.toml",
            redis_port=redis_port,
            sim=sim,
            listen=free_port(),
            metrics=free_port(),
            admin=admin,
            inactivity=f"{INACTIVITY_S}s",
        )
        worker = procs.start("worker", seatgate("worker", "--config", str(work / "worker.toml")), admin)
        proxies, listens, metrics_ports = [], [], []
        for i in range(args.proxies):
            listen, metrics = free_port(), free_port()
            write_stack_config(
                work / f"proxy{i}.toml",
                redis_port=redis_port,
                sim=sim,
                listen=listen,
                metrics=metrics,
                admin=free_port(),
                inactivity=f"{INACTIVITY_S}s",
            )
            proxies.append(
                procs.start(f"proxy{i}", seatgate("proxy", "--config", str(work / f"proxy{i}.toml")), listen)
            )
            listens.append(listen)
            metrics_ports.append(metrics)

        duration = args.minutes * 60
        tally = Tally(
            started=time.monotonic(),
            limit=args.max_requests or int(args.users * args.minutes * 60),
            last_minute=max(0, math.ceil(args.minutes) - 1),
        )
        started_wall = time.time()
        connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=args.connections // args.proxies)
        people = [
            Person(
                f"user{i + 1:04d}",
                f"http://127.0.0.1:{listens[i % args.proxies]}",
                connector,
                tally,
                random.Random(rng.random()),
                args.poll_interval,
            )
            for i in range(args.users)
        ]
        watched = {**{f"proxy{i}": p.pid for i, p in enumerate(proxies)}, "worker": worker.pid}
        samples: list[dict[str, Any]] = []

        async def sample_forever() -> None:
            while True:
                samples.append(
                    {
                        "t": round(time.monotonic() - tally.started, 1),
                        "requests": tally.total,
                        "errors": sum(tally.errors.values()),
                        **{f"rss_{name}": round(rss_mib(pid), 1) for name, pid in watched.items()},
                    }
                )
                await asyncio.sleep(args.sample)

        sampler = asyncio.create_task(sample_forever())
        lives = [asyncio.create_task(p.live(min(60.0, duration / 4))) for p in people]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.stop.wait(), duration)
        tally.stop.set()
        await asyncio.wait(lives, timeout=40)
        sampler.cancel()
        elapsed = time.monotonic() - tally.started
        samples.append(
            {
                "t": round(elapsed, 1),
                "requests": tally.total,
                "errors": sum(tally.errors.values()),
                **{f"rss_{name}": round(rss_mib(pid), 1) for name, pid in watched.items()},
            }
        )
        for person in people:
            await person.close()
        await connector.close()

        grants_total = sum(
            metric_sum(port, "seatgate_grant_latency_seconds_count", outcome="granted", stage="proxy")
            for port in metrics_ports
        )
        failures = sum(metric_sum(port, "seatgate_grant_failures_total") for port in metrics_ports)
        revokes = metric_sum(admin, "seatgate_sweeper_revokes_total")
        holds = grant_holds([work / f"proxy{i}.log" for i in range(args.proxies)], started_wall, tally.last_minute)
    finally:
        procs.stop_all()
        if args.keep_logs:
            print(f"logs and configs in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    warm = min(max(60.0, duration * 0.2), duration * 0.5)
    after_warmup = next((s for s in samples if s["t"] >= warm), samples[0])
    growth = {name: round(100 * (samples[-1][f"rss_{name}"] / after_warmup[f"rss_{name}"] - 1), 1) for name in watched}
    every_hold = [ms for values in holds.values() for ms in values]
    minutes = sorted(set(tally.requests) | set(holds))
    return {
        "command": f"python -m bench.soak --users {args.users} --minutes {args.minutes:g} --seed {args.seed}",
        "users": args.users,
        "proxies": args.proxies,
        "seconds": round(elapsed, 1),
        "requests": tally.total,
        "requests_per_s": round(tally.total / elapsed, 1),
        "by_kind": dict(tally.kinds),
        "errors": dict(tally.errors),
        "error_examples": tally.examples,
        "polls_refused_while_released": tally.polls_refused,
        "grants": int(grants_total),
        "grant_failures_fail_open": int(failures),
        "sweeper_revokes": int(revokes),
        "grant_hold_ms": {
            "p50": round(percentile(every_hold, 50), 1),
            "p99": round(percentile(every_hold, 99), 1),
            "max": round(max(every_hold, default=float("nan")), 1),
        },
        "per_minute": [
            {
                "minute": m + 1,
                "requests": tally.requests.get(m, 0),
                "requests_per_s": round(tally.requests.get(m, 0) / 60, 1),
                "errors": tally.error_minutes.get(m, 0),
                "grants": len(holds.get(m, [])),
                "hold_p50_ms": round(percentile(holds.get(m, []), 50), 1),
                "hold_p99_ms": round(percentile(holds.get(m, []), 99), 1),
            }
            for m in minutes
        ],
        "rss_mib": {
            "after_warmup_at_s": after_warmup["t"],
            **{
                name: {
                    "after_warmup": after_warmup[f"rss_{name}"],
                    "end": samples[-1][f"rss_{name}"],
                    "growth_pct": growth[name],
                }
                for name in watched
            },
        },
        "samples": samples,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['users']} users, {result['proxies']} proxies, {result['seconds']} s: "
        f"{result['requests']} requests ({result['requests_per_s']}/s), errors: {result['errors'] or 'none'}, "
        f"grants: {result['grants']}, fail-open: {result['grant_failures_fail_open']}, "
        f"sweeper revokes: {result['sweeper_revokes']}, polls refused while released: "
        f"{result['polls_refused_while_released']}",
        f"grant hold (ms): p50 {result['grant_hold_ms']['p50']}, p99 {result['grant_hold_ms']['p99']}, "
        f"max {result['grant_hold_ms']['max']}",
        "",
        "| minute | requests/s | grants | hold p50 (ms) | hold p99 (ms) | errors |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["per_minute"]:
        lines.append(
            f"| {row['minute']} | {row['requests_per_s']} | {row['grants']} | {row['hold_p50_ms']} | "
            f"{row['hold_p99_ms']} | {row['errors']} |"
        )
    rss = result["rss_mib"]
    lines += [
        "",
        f"| process | RSS after warm-up ({rss['after_warmup_at_s']} s) | RSS at the end | growth |",
        "|---|---:|---:|---:|",
    ]
    for name, value in rss.items():
        if isinstance(value, dict):
            lines.append(f"| {name} | {value['after_warmup']} MiB | {value['end']} MiB | {value['growth_pct']} % |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--proxies", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=10.0, help="seconds between a tab's polls")
    parser.add_argument("--connections", type=int, default=400, help="client connections to the proxies, at most")
    parser.add_argument(
        "--max-requests", type=int, default=0, help="stop after this many requests (default users x minutes x 60)"
    )
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the full result here")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs and configs")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(report(result))
    raise SystemExit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
