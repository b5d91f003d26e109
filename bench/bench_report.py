"""Benchmark of ``seatgate report``: lines per second and peak memory at two log sizes.

    python -m bench.bench_report [--sizes 1000000,5000000] [--dir /tmp/seatgate-bench] [--repeat 3]

Each run is a fresh process doing exactly what ``seatgate report LOG --json`` does
(parse, classify, seat timelines for 15m/30m/60m, figures), so its peak RSS is the
report's own. The clocks start once the modules are imported (start-up is not
throughput; each run's ``process_wall_s`` includes it). Reports wall-clock and CPU-time
rates: on a shared machine the CPU-time rate is the steadier figure. Synthetic logs
come from bench/gen_jira_log.py and are kept in --dir between runs.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import resource
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child(log: str) -> None:
    """Run the report once in this process and print its figures as one JSON line."""
    from seatgate.cli import main

    # Start-up is not throughput: import what the report imports (the settings module
    # alone pulls in pydantic, about 0.2 s) before the clocks start.
    for module in ("report.cli", "report.figures", "report.render_json", "rules", "settings"):
        importlib.import_module(f"seatgate.{module}")

    wall, cpu = time.perf_counter(), time.process_time()
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["report", log, "--json"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    report = json.loads(out.getvalue())
    lines = report["lines"]["read"]
    print(
        json.dumps(
            {
                "code": code,
                "lines": lines,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "lines_per_s_wall": round(lines / wall),
                "lines_per_s_cpu": round(lines / cpu),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "peaks": [p["peak_seats"] for p in report["periods"]],
            }
        )
    )


def ensure_log(directory: Path, lines: int) -> Path:
    path = directory / f"jira-{lines}.log"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(REPO / "bench" / "gen_jira_log.py"), "--lines", str(lines), "--out", str(path)],
            check=True,
        )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/seatgate-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    for size in (int(s) for s in args.sizes.split(",")):
        log = ensure_log(args.dir, size)
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bench.bench_report", "--child", str(log)],
                cwd=REPO, check=True, capture_output=True, text=True,
            )  # fmt: skip
            run = json.loads(done.stdout)
            run["process_wall_s"] = round(time.perf_counter() - started, 2)  # with start-up and imports
            runs.append(run)
        best = max(runs, key=lambda r: r["lines_per_s_cpu"])
        print(
            f"{size:>9,} lines ({log.stat().st_size / 2**20:,.0f} MiB): "
            f"best of {len(runs)}: {best['lines_per_s_wall']:,} lines/s wall, {best['lines_per_s_cpu']:,} lines/s CPU; "
            f"peak RSS {max(r['peak_rss_mib'] for r in runs)} MiB; peaks {best['peaks']}"
        )
        for r in runs:
            print("   ", json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
