"""``seatgate report --json`` against the naive reference (tests/report/reference.py).

Generated logs: many users, gaps just below, at and above each inactivity period (and
long pauses, so that some stretches have no log line at all), activity, passive,
background and static requests, anonymous lines, lines out of order within the reorder
window, midnight and a change of UTC offset, several files, and more seat events than
the analysis buffers before a sort (its batch shrunk). Every figure the buyer reads is
compared, for every period.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatgate.report import analysis as analysis_module
from tests.report.conftest import (
    ACTIVITY,
    BACKGROUND,
    PASSIVE,
    STATIC,
    jira_line,
    run_json,
)
from tests.report.reference import reference

PERIODS = (300.0, 900.0, 1800.0)
INACTIVITY = "5m,15m,30m"
SLACK = 300  # the analysis' reorder window (seconds): lines are at most this much out of order
KINDS = (ACTIVITY, ACTIVITY, ACTIVITY, PASSIVE, PASSIVE, BACKGROUND, STATIC)
# Gaps between two requests of a user: around every period, and short ones.
GAPS = sorted({g for p in PERIODS for g in (p - 1, p, p + 1)} | {0, 1, 2, 30, 299})
PAUSES = (21_599, 21_600, 21_601, 90_000)  # the whole log pauses: around the "no data" 6 h, a day
START = dt.datetime(2015, 11, 24, 23, 40, tzinfo=dt.UTC)  # twenty minutes before midnight


def generate(
    rng: random.Random, events: int, users: int, files: int, jitter: int, pause: float = 0.05, step: int = 400
) -> list[list[str]]:
    """Lines of ``files`` log files for ``events`` requests of ``users`` users; with
    probability ``pause`` a request follows a pause of the whole log."""
    last: dict[int, float] = {}
    now = START.timestamp()
    timed: list[tuple[float, float, str | None, str]] = []
    for _ in range(events):
        user = rng.randrange(users)
        if rng.random() < pause:
            ts = now + rng.choice(PAUSES)
        elif rng.random() < 0.6:  # from the user's own previous request: gaps around the periods
            ts = last.get(user, now) + rng.choice(GAPS)
        else:  # from the log's latest line: users interleaving
            ts = now + rng.randrange(0, step)
        name = None if rng.random() < 0.05 else f"user{user}"  # anonymous lines
        if name is not None:
            last[user] = max(last.get(user, ts), ts)
        now = max(now, ts)
        # Written when the request ends: up to ``jitter`` seconds after later ones.
        timed.append((ts + rng.randrange(0, jitter + 1), ts, name, rng.choice(KINDS)))
    timed.sort(key=lambda t: t[:2])
    # The UTC offset changes (like a summer-time switch) halfway through the log.
    switch = timed[len(timed) // 2][1] if timed else 0
    lines = []
    for _, ts, name, request in timed:
        tz = dt.timezone(dt.timedelta(hours=1 if ts < switch else 2))
        stamp = dt.datetime.fromtimestamp(ts, tz).strftime("%d/%b/%Y:%H:%M:%S %z")
        lines.append(jira_line(stamp, name, request))
    cuts = sorted(rng.sample(range(1, len(lines)), min(files, len(lines)) - 1)) if len(lines) > 1 else []
    bounds = [0, *cuts, len(lines)]
    return [lines[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def write_files(directory: Path, chunks: list[list[str]], rng: random.Random) -> list[str]:
    paths = []
    for i, chunk in enumerate(chunks):
        path = directory / f"access_log.{i}"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        paths.append(str(path))
    rng.shuffle(paths)  # given in any order
    return paths


def assert_matches_reference(paths: list[str], report: dict) -> None:
    assert report["lines"]["late_events"] == 0  # disorder stayed within the reorder window
    expected = reference([Path(p) for p in paths], PERIODS)
    for p in report["periods"]:
        want = asdict(expected[p["inactivity_seconds"]])
        got = {
            "peak_seats": p["peak_seats"],
            "peak_at": p["peak_at"],
            "seats_taken": p["seats_taken"],
            "p95_minute_max": p["p95_minute_max"],
            "p99_minute_max": p["p99_minute_max"],
            "peak_by_day": p["peak_by_day"],
            "series_start": p["series"]["start"],
            "step_minutes": p["series"]["step_minutes"],
            "max_seats": p["series"]["max_seats"],
        }
        for key, value in want.items():
            assert got[key] == value, f"{p['inactivity']}: {key}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rng=st.randoms(use_true_random=False),
    events=st.integers(1, 120),
    users=st.integers(1, 12),
    files=st.integers(1, 4),
    batch=st.sampled_from([1, 3, 16]),
)
def test_report_equals_the_naive_reference(tmp_path_factory, capsys, monkeypatch, rng, events, users, files, batch):
    monkeypatch.setattr(analysis_module, "DEFAULT_BATCH", batch)  # drains mid-stream, many times
    paths = write_files(tmp_path_factory.mktemp("logs"), generate(rng, events, users, files, SLACK // 3), rng)
    assert_matches_reference(paths, run_json(capsys, *paths, "--inactivity", INACTIVITY))


def test_a_large_log_equals_the_naive_reference(tmp_path, capsys, monkeypatch):
    """200,000 lines of 400 users over about two weeks, in three files; the batch is
    shrunk so that the analysis sorts and drains hundreds of times."""
    monkeypatch.setattr(analysis_module, "DEFAULT_BATCH", 500)
    rng = random.Random(13)
    chunks = generate(rng, 200_000, 400, 3, SLACK // 3, pause=0.00005, step=8)
    assert sum(map(len, chunks)) >= 200_000
    paths = write_files(tmp_path, chunks, rng)
    report = run_json(capsys, *paths, "--inactivity", INACTIVITY)
    assert min(p["peak_seats"] for p in report["periods"]) > 10
    assert_matches_reference(paths, report)


@pytest.mark.parametrize("gap", [899, 900, 901])
def test_gaps_around_the_period(tmp_path, capsys, gap):
    """A second request ``gap`` seconds after the first keeps the seat only below 900 s."""
    t0 = dt.datetime(2015, 11, 24, 8, 0, tzinfo=dt.UTC)
    stamps = [(t0 + dt.timedelta(seconds=s)).strftime("%d/%b/%Y:%H:%M:%S %z") for s in (0, gap)]
    paths = write_files(tmp_path, [[jira_line(s, "alice", ACTIVITY) for s in stamps]], random.Random(0))
    report = run_json(capsys, *paths, "--inactivity", INACTIVITY)
    assert_matches_reference(paths, report)
    assert report["periods"][1]["seats_taken"] == (1 if gap < 900 else 2)


def test_the_real_logs_equal_the_naive_reference(capsys, real_logs):
    paths = sorted(str(p) for p in real_logs.glob("access_log.*"))
    report = run_json(capsys, *paths, "--inactivity", INACTIVITY)
    assert report["lines"]["late_events"] == 0
    assert_matches_reference(paths, report)
