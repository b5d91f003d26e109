"""Proxy throughput and latency, side by side in one run, on loopback.

Variants, each in front of the same trivial upstream:
  direct        wrk → upstream
  mitmdump      stock ``mitmdump`` in reverse mode, no addon
  lean-bare     ``seatgate proxy --bare``: the lean runner without seatgate's addons
  seatgate      ``seatgate proxy``: lean runner + seatgate addon, licensed user, real activity

Usage: python -m bench.bench_proxy [--seconds 3] [--rounds 3] [--connections 1,4,16]
Needs wrk and redis-server (apt-get install wrk redis-server).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from bench.common import Procs, cpu_seconds, free_port, seatgate, start_redis, wrk

AUTH = {"Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()}
PATH = "/rest/api/2/issue/DEMO-1"


def write_config(path: Path, redis_port: int, upstream: int, listen: int) -> None:
    path.write_text(f"""
redis_url = "redis://127.0.0.1:{redis_port}/0"
secret = "bench-secret-bench-secret-bench-secret"
log_level = "warning"
[proxy]
listen = "127.0.0.1:{listen}"
metrics_listen = "127.0.0.1:{free_port()}"
[[products]]
name = "jira"
kind = "jira"
upstream = "http://127.0.0.1:{upstream}"
license_group = "jira-software-users"
""")


async def prelicense(redis_port: int) -> None:
    client = aioredis.from_url(f"redis://127.0.0.1:{redis_port}/0", decode_responses=True)
    await client.hset("sg:{jira}:licensed", "bench", time.time())
    await client.aclose()


def start_upstream(procs: Procs) -> tuple[int, int]:
    """A private redis-server with the benchmark user licensed, and the trivial upstream:
    (redis port, upstream port)."""
    redis_port = start_redis(procs)
    upstream = free_port()
    asyncio.run(prelicense(redis_port))
    procs.start("upstream", [sys.executable, "-m", "bench.trivial_upstream", str(upstream)], upstream)
    return redis_port, upstream


def variant_command(name: str, work: Path, redis_port: int, upstream: int, port: int) -> list[str]:
    """How to start one proxy variant (mitmdump, lean-bare or seatgate) listening on ``port``."""
    if name == "mitmdump":
        mitmdump = str(Path(sys.executable).parent / "mitmdump")
        return [
            mitmdump,
            "-q",
            "--mode",
            f"reverse:http://127.0.0.1:{upstream}@127.0.0.1:{port}",
            "--set",
            "keep_host_header=true",
            "--set",
            "connection_strategy=lazy",
        ]
    config = work / f"{name}.toml"
    write_config(config, redis_port, upstream, port)
    return seatgate("proxy", "--config", str(config), *(["--bare"] if name == "lean-bare" else []))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant and level; medians are reported")
    parser.add_argument("--connections", default="1,4,16")
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]
    work = Path(tempfile.mkdtemp(prefix="seatgate-bench-"))
    procs = Procs(work)
    runs: dict[str, dict[int, list[dict]]] = {}
    try:
        redis_port, upstream = start_upstream(procs)
        # All variants run at once and take turns, so that whatever else loads the machine
        # during the benchmark weighs on each of them alike.
        targets: dict[str, tuple[int, int | None]] = {"direct": (upstream, None)}
        for name in ("mitmdump", "lean-bare", "seatgate"):
            port = free_port()
            cmd = variant_command(name, work, redis_port, upstream, port)
            targets[name] = (port, procs.start(name, cmd, port).pid)
        for name, (port, _) in targets.items():
            wrk(f"http://127.0.0.1:{port}{PATH}", 4, 1, AUTH)  # warm-up: connections, caches, identity
            runs[name] = {c: [] for c in levels}
        for _ in range(args.rounds):
            for c in levels:
                for name, (port, pid) in targets.items():
                    # CPU time of the proxy per request depends far less on the machine's
                    # other load than throughput; a one-process proxy's capacity is its inverse.
                    before = cpu_seconds(pid) if pid else 0.0
                    run = wrk(f"http://127.0.0.1:{port}{PATH}", c, args.seconds, AUTH)
                    if pid:
                        run["cpu_us"] = (cpu_seconds(pid) - before) / max(run["requests"], 1) * 1e6
                    runs[name][c].append(run)
    finally:
        procs.stop_all()

    results = {
        name: {
            c: {
                key: statistics.median(r.get(key, 0) for r in by_c[c])
                for key in ("rps", "p50_ms", "p99_ms", "cpu_us", "errors")
            }
            for c in levels
        }
        for name, by_c in runs.items()
    }
    print(f"\nmedians of {args.rounds} interleaved {args.seconds:g} s runs per cell")
    header = "".join(f"{f'c={c} req/s':>13}{'p50 ms':>8}{'p99 ms':>8}{'CPU us/req':>11}" for c in levels)
    print(f"{'variant':<12}{header}")
    for name, by_c in results.items():
        row = "".join(
            f"{r['rps']:>13.0f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}{r['cpu_us']:>11.0f}" for r in by_c.values()
        )
        print(f"{name:<12}{row}")
    print("\nratios (throughput measured; capacity = inverse of proxy CPU per request):")
    for c in levels:
        s, m, b = (results[n][c] for n in ("seatgate", "mitmdump", "lean-bare"))
        print(
            f"c={c:<3} seatgate vs mitmdump: throughput {s['rps'] / m['rps']:.2f}x, capacity "
            f"{m['cpu_us'] / s['cpu_us']:.2f}x (target >= 2.0)   addon cost vs lean-bare: throughput "
            f"{100 * (1 - s['rps'] / b['rps']):.1f} %, CPU {100 * (s['cpu_us'] / b['cpu_us'] - 1):.1f} % "
            f"(target <= 15 %)"
        )
    errors = {n: sum(r["errors"] for r in by_c.values()) for n, by_c in results.items()}
    print(f"non-2xx responses: {errors}")
    (work / "results.json").write_text(json.dumps(runs, indent=2))
    print(f"raw results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
