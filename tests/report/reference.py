"""A deliberately naive reference for the report's seat figures, written for clarity.

It shares nothing with ``seatgate.report`` and nothing of its speed-ups: it reuses only
the log-line parser (``seatgate.accesslog.iter_records``: time, user, request of a line)
and the rules classifier's verdict for a request (``seatgate.rules.Classifier``), so
that what it checks is the seat arithmetic, not the parsing or the rules.

The policy, as ``seatgate/policy.py`` states it:

- per user, take the activity and passive requests in time order;
- an activity takes a seat when the user holds none; an activity or a passive request
  keeps a seat the user holds (a passive request never takes one);
- a seat is held from its first activity until ``inactivity`` after the last request
  that kept it, when no gap between two of them is ``inactivity`` or more. The interval
  is half-open: at exactly ``last + inactivity`` the seat is free, and a request at that
  instant finds no seat (an activity takes a new one);
- seats are counted per whole second: a seat held during any part of second ``s``
  counts in ``s`` (held from ``floor(start)`` until before ``ceil(last + inactivity)``).

What the report then shows, from those seat intervals:

- ``peak_seats``: most seats held in one second; ``peak_at``: the first such second;
  ``seats_taken``: the number of intervals;
- the per-minute series: the most seats held in each minute, from the minute of the
  first seat taken to the later of the minute of the last line and the minute in which
  the last seat is released; a minute lying wholly inside a stretch of six hours or more
  without any log line is "no data" (None), not zero;
- p95/p99: nearest-rank percentiles of the per-minute maxima of the minutes with data;
- ``peak_by_day``: per local day with at least one log line, the most seats held;
- local time: the UTC offset of the first line of the earliest file.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seatgate.accesslog import ParseStats, iter_records
from seatgate.rules import Classifier, load_builtin_ruleset

NO_DATA_SECONDS = 6 * 3600
SERIES_POINTS = 1500


@dataclass
class PeriodReference:
    peak_seats: int
    peak_at: str | None
    seats_taken: int
    p95_minute_max: int
    p99_minute_max: int
    peak_by_day: list[dict[str, object]]
    series_start: str | None
    step_minutes: int
    max_seats: list[int | None]


def _local(ts: float, offset: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone(dt.timedelta(seconds=offset)))


def _nearest_rank(values: list[int], q: int) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered) / 100)) - 1]


def read_requests(paths: Sequence[Path]) -> tuple[list[tuple[float, str | None, str]], int]:
    """Every line as (time, user, verdict), and the local UTC offset."""
    classifier = Classifier(load_builtin_ruleset())
    files = []
    for path in paths:
        stats = ParseStats()
        records = list(iter_records([path], "auto", stats))
        if records:
            files.append((records[0].ts, stats.utc_offsets[0], records))
    files.sort(key=lambda f: f[0])
    offset = files[0][1] if files else 0
    requests = []
    for _, _, records in files:
        for r in records:
            headers = {"user-agent": r.user_agent} if r.user_agent else {}
            verdict = classifier.classify("jira", "jira", r.method, r.path, r.query, headers).verdict
            requests.append((r.ts, r.user, verdict))
    return requests, offset


def seat_intervals(requests: list[tuple[float, str | None, str]], inactivity: float) -> list[tuple[int, int]]:
    """Per seat: [first second held, first second free)."""
    per_user: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for ts, user, verdict in requests:
        if user is not None and verdict in ("activity", "passive"):
            per_user[user].append((ts, verdict))
    intervals = []
    for times in per_user.values():
        times.sort()
        holding, start, last = False, 0.0, 0.0
        for ts, verdict in times:
            if holding and ts >= last + inactivity:  # the seat was released before now
                intervals.append((math.floor(start), math.ceil(last + inactivity)))
                holding = False
            if holding:
                last = max(last, ts)  # activity or passive: keeps the seat
            elif verdict == "activity":
                holding, start, last = True, ts, ts
        if holding:
            intervals.append((math.floor(start), math.ceil(last + inactivity)))
    return intervals


def period_reference(requests: list[tuple[float, str | None, str]], offset: int, inactivity: float) -> PeriodReference:
    intervals = seat_intervals(requests, inactivity)
    line_times = sorted(ts for ts, _, _ in requests)
    gaps = [(a, b) for a, b in itertools.pairwise(line_times) if b - a >= NO_DATA_SECONDS]

    if not intervals:
        days = _days_with_lines(line_times, offset)
        return PeriodReference(0, None, 0, 0, 0, [{"date": d, "peak_seats": 0} for d in days], None, 1, [])

    first_minute = min(a for a, _ in intervals) // 60
    last_minute = max(max(b for _, b in intervals) // 60, math.floor(line_times[-1]) // 60)
    base = first_minute * 60
    # Seats held in each second: a seat adds one from its first second and takes it back
    # at its first free second; the running sum is the count of each second.
    change = [0] * ((last_minute + 1) * 60 - base)
    for a, b in intervals:
        change[a - base] += 1
        if b - base < len(change):
            change[b - base] -= 1
    seats = list(itertools.accumulate(change))
    peak = max(seats)
    peak_at = base + seats.index(peak)
    minutes: list[int | None] = []
    for m in range(first_minute, last_minute + 1):
        if any(a < m * 60 and m * 60 + 60 <= b for a, b in gaps):
            minutes.append(None)  # inside a stretch of six hours or more without a log line
        else:
            minutes.append(max(seats[m * 60 - base : m * 60 + 60 - base]))
    with_data = [v for v in minutes if v is not None]
    by_day = dict.fromkeys(_days_with_lines(line_times, offset), 0)
    for i, v in enumerate(minutes):
        day = _local((first_minute + i) * 60, offset).date().isoformat()
        if v is not None and day in by_day:
            by_day[day] = max(by_day[day], v)
    step = max(1, math.ceil(len(minutes) / SERIES_POINTS))
    pooled: list[int | None] = []
    for i in range(0, len(minutes), step):
        chunk = [v for v in minutes[i : i + step] if v is not None]
        pooled.append(max(chunk) if chunk else None)
    return PeriodReference(
        peak_seats=peak,
        peak_at=_local(peak_at, offset).isoformat(),
        seats_taken=len(intervals),
        p95_minute_max=_nearest_rank(with_data, 95),
        p99_minute_max=_nearest_rank(with_data, 99),
        peak_by_day=[{"date": d, "peak_seats": n} for d, n in by_day.items()],
        series_start=_local(first_minute * 60, offset).isoformat(),
        step_minutes=step,
        max_seats=pooled,
    )


def _days_with_lines(line_times: list[float], offset: int) -> list[str]:
    return sorted({_local(ts, offset).date().isoformat() for ts in line_times})


def reference(paths: Sequence[Path], periods: Sequence[float]) -> dict[float, PeriodReference]:
    requests, offset = read_requests(paths)
    return {p: period_reference(requests, offset, p) for p in periods}
