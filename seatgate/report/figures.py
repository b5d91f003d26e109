"""The report's figures, as plain data (what ``--json`` prints and the renderers show)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from seatgate.accesslog import ParseStats
from seatgate.report.analysis import Analysis
from seatgate.report.tiers import ASSUMPTION, tier_for, tier_index
from seatgate.report.timeline import SeatTimeline

SERIES_POINTS = 1500  # points per chart series (per-minute maxima are max-pooled to this)
TOP_ENDPOINTS = 10
# A 24/7 service account: requests that keep a seat in most hours of the day, in most
# clock hours of a log that spans at least this long.
SERVICE_MIN_SPAN_HOURS = 12
SERVICE_MIN_HOURS_OF_DAY = 18
SERVICE_MIN_HOUR_SHARE = 0.6
# What the report says wherever these figures appear (terminal, HTML, JSON).
PERCENTILE_NOTE = (
    "p95/p99: in 95% (99%) of the minutes with log data, at most this many seats were held at once; "
    "the peak happened in the other minutes."
)
LOWER_BOUND_NOTE = (
    "a lower bound: users seen in these logs, not counting users who sent no request in them; "
    "pass --registered N with the licensed user count"
)


def percentile(values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def iso(ts: float | None, offset: int) -> str | None:
    if ts is None:
        return None
    tz = dt.timezone(dt.timedelta(seconds=offset))
    return dt.datetime.fromtimestamp(ts, tz).isoformat()


def pooled(values: Sequence[int | None], points: int) -> tuple[int, list[int | None]]:
    """(minutes per point, max of each run of that many minutes; None for a run without data)."""
    step = max(1, math.ceil(len(values) / points))
    out: list[int | None] = []
    for i in range(0, len(values), step):
        known = [v for v in values[i : i + step] if v is not None]
        out.append(max(known) if known else None)
    return step, out


def no_data_minutes(first_minute: int, count: int, no_data: Sequence[tuple[float, float]]) -> set[int]:
    """Indexes (from ``first_minute``) of the minutes lying wholly inside a stretch
    without log lines: after the minute of the line before it, before the minute of the
    line after it."""
    out: set[int] = set()
    for before, after in no_data:
        start = max(math.floor(before / 60) + 1, first_minute)
        end = min(math.floor(after / 60), first_minute + count)
        out.update(range(start - first_minute, end - first_minute))
    return out


def period_figures(
    timeline: SeatTimeline,
    offset: int,
    registered: int,
    active_users: int,
    days: Sequence[str],
    no_data: Sequence[tuple[float, float]],
) -> dict[str, Any]:
    first = timeline.first_minute or 0
    unknown = no_data_minutes(first, len(timeline.minute_max), no_data)
    # A minute without data is None (a gap in the chart), never zero seats.
    minutes = [None if i in unknown else v for i, v in enumerate(timeline.minute_max)]
    known = [v for v in minutes if v is not None]
    by_day = dict.fromkeys(days, 0)  # days with log lines: a day without seats shows 0
    hour_of_week = [[0] * 24 for _ in range(7)]  # [Monday..Sunday][hour], most seats
    for i, seats in enumerate(minutes):
        if seats is None:
            continue
        local = dt.datetime.fromtimestamp((first + i) * 60 + offset, dt.UTC)
        day = local.date().isoformat()
        if day in by_day and seats > by_day[day]:
            by_day[day] = seats
        row = hour_of_week[local.weekday()]
        if seats > row[local.hour]:
            row[local.hour] = seats
    step, series = pooled(minutes, SERIES_POINTS)
    peak = timeline.peak
    return {
        "inactivity_seconds": timeline.inactivity,
        "inactivity": _duration(timeline.inactivity),
        "peak_seats": peak,
        "peak_at": iso(timeline.peak_at, offset),
        "active_users": active_users,
        "seats_taken": timeline.seats_taken,
        "p95_minute_max": percentile(known, 95),
        "p99_minute_max": percentile(known, 99),
        "tier_needed": tier_for(peak),
        **tier_saving(registered, peak),
        "peak_by_day": [{"date": d, "peak_seats": n} for d, n in by_day.items()],
        "peak_by_hour_of_week": hour_of_week,
        "series": {
            "start": iso(first * 60, offset) if timeline.first_minute is not None else None,
            "step_minutes": step,
            "max_seats": series,
        },
    }


def tier_saving(registered: int, peak: int) -> dict[str, Any]:
    """What a floating licence sized for ``peak`` saves against ``registered`` users:
    counted in tiers, because a tier is what is bought. Seats freed inside the same tier
    save nothing; they are headroom (room to grow before the next tier)."""
    steps = max(0, tier_index(registered) - tier_index(peak))
    current, needed = tier_for(registered), tier_for(peak)
    if steps:
        text = f"tier {current} → tier {needed} ({steps} tier{'s' if steps > 1 else ''} lower)"
    else:
        text = f"nothing saved at the tier level (tier {current} either way)"
    return {
        "tiers_saved": steps,
        "saving": text,
        # Concurrent seats still free under the registered count at the peak.
        "headroom_seats": max(0, registered - peak),
    }


def covered_days(
    first_ts: float | None, last_ts: float | None, no_data: Sequence[tuple[float, float]], offset: int
) -> list[str]:
    """Local days (``offset`` seconds east of UTC) with at least one log line: the days
    from the first line to the last, less those lying wholly inside a stretch without
    lines (``no_data``: pairs of the lines before and after it)."""
    if first_ts is None or last_ts is None:
        return []
    tz = dt.timezone(dt.timedelta(seconds=offset))
    day = dt.datetime.fromtimestamp(first_ts, tz).date()
    last = dt.datetime.fromtimestamp(last_ts, tz).date()
    out = []
    while day <= last:
        start = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        end = start + 86400
        if not any(before < start and end <= after for before, after in no_data):
            out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def build(
    analysis: Analysis,
    stats: ParseStats,
    *,
    registered: int | None,
    product: str,
    rules: str,
) -> dict[str, Any]:
    offset = stats.utc_offsets[0] if stats.utc_offsets else 0
    totals = analysis.totals
    profiles = analysis.profiles()
    seen = analysis.users_seen
    active = sorted(p.name for p in profiles if p.active)
    registered_users = registered if registered is not None else len(seen)
    verdicts = analysis.verdict_counts()
    requests = sum(verdicts.values())
    endpoints = analysis.background_endpoints()
    span_hours = ((totals.last_ts or 0) - (totals.first_ts or 0)) / 3600
    service: list[dict[str, Any]] = []
    if span_hours >= SERVICE_MIN_SPAN_HOURS:
        for p in profiles:
            share = p.clock_hours / max(1.0, math.ceil(span_hours))
            if p.hours_of_day >= SERVICE_MIN_HOURS_OF_DAY and share >= SERVICE_MIN_HOUR_SHARE:
                service.append(
                    {"user": p.name, "hours_of_day": p.hours_of_day, "share_of_hours": round(min(1.0, share), 3),
                     "user_agent": p.user_agent}
                )  # fmt: skip
    service.sort(key=lambda s: (-s["share_of_hours"], s["user"]))
    days = covered_days(totals.first_ts, totals.last_ts, analysis.no_data, offset)
    return {
        "product": product,
        "rules": rules,
        "time_zone": _offset_name(offset),
        "from": iso(totals.first_ts, offset),
        "to": iso(totals.last_ts, offset),
        "lines": {
            "read": stats.lines,
            "parsed": stats.parsed,
            "unparseable": stats.bad,
            "unparseable_examples": list(stats.bad_examples),
            "late_events": totals.late_events,
        },
        "formats": dict(stats.formats),
        "requests": {
            "total": requests,
            "by_verdict": verdicts,
            "anonymous": sum(analysis.verdict_counts(anonymous=True).values()),
            "background_share": round(verdicts["background"] / requests, 4) if requests else 0.0,
            "top_background_endpoints": [{"rule": k, "requests": n} for k, n in endpoints.most_common(TOP_ENDPOINTS)],
        },
        "users": {
            "seen": len(seen),
            "active": len(active),
            "without_activity": len(seen) - len(active),  # e.g. only background traffic
            "registered": registered_users,
            "registered_from": "--registered" if registered is not None else "logs",
            "registered_is_lower_bound": registered is None,
            "registered_note": "given with --registered" if registered is not None else LOWER_BOUND_NOTE,
            "current_tier": tier_for(registered_users),
            "excluded": analysis.excluded_users,
            "service_account_candidates": service,
        },
        "days_covered": days,
        "no_data": [
            {"from": iso(before, offset), "to": iso(after, offset), "hours": round((after - before) / 3600, 1)}
            for before, after in analysis.no_data
        ],
        "percentile_note": PERCENTILE_NOTE,
        "tiers_note": ASSUMPTION,
        "periods": [
            period_figures(t, offset, registered_users, len(active), days, analysis.no_data) for t in analysis.timelines
        ],
    }


def _offset_name(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"
