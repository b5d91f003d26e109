"""Geometry of the main chart (seats over time, one line per inactivity period).

Shared by the HTML (SVG) and PNG renderers so that both draw the same chart: this
module turns the report's series into pixel coordinates, ticks and colours, and the
renderers only paint them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

COLOURS = ("#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285")


@dataclass(slots=True)
class Series:
    label: str
    colour: str
    # Runs of points in pixels, left to right; a run ends where the log has no data
    # (a gap in the line, never a drop to zero).
    segments: list[list[tuple[float, float]]]


@dataclass(slots=True)
class LineChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    y_ticks: list[tuple[float, int]]  # (pixel y, seats)
    x_ticks: list[tuple[float, str]]  # (pixel x, label)
    series: list[Series]


def nice_step(span: float, target: int = 5) -> int:
    """A 1, 2 or 5 times 10^n step giving about ``target`` ticks over ``span``."""
    if span <= 0:
        return 1
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return max(1, int(m * power))
    return max(1, int(10 * power))


def _segments(values: list[int | None], x_of: Any, y_of: Any) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for j, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x_of(j), y_of(v)))
    return [r for r in runs if r]


def line_chart(report: dict[str, Any], width: int = 960, height: int = 360) -> LineChart:
    left, top, right, bottom = 56, 16, width - 16, height - 40
    periods = report["periods"]
    top_value = max([1] + [v for p in periods for v in p["series"]["max_seats"] if v is not None])
    step_y = nice_step(top_value)
    y_max = step_y * math.ceil(top_value / step_y)
    longest = max([1] + [len(p["series"]["max_seats"]) for p in periods])

    def x_of(i: float) -> float:
        return left + (right - left) * (i / max(1, longest - 1))

    def y_of(v: float) -> float:
        return bottom - (bottom - top) * (v / y_max)

    series = [
        Series(
            label=f"{p['inactivity']} inactivity (peak {p['peak_seats']})",
            colour=COLOURS[i % len(COLOURS)],
            segments=_segments(p["series"]["max_seats"], x_of, y_of),
        )
        for i, p in enumerate(periods)
    ]
    y_ticks = [(y_of(v), v) for v in range(0, y_max + 1, step_y)]
    x_ticks: list[tuple[float, str]] = []
    if periods and periods[0]["series"]["start"]:
        start = dt.datetime.fromisoformat(periods[0]["series"]["start"])
        step_minutes = periods[0]["series"]["step_minutes"]
        total = dt.timedelta(minutes=step_minutes * longest)
        day = dt.timedelta(days=1)
        every = max(1, math.ceil(total / day / 8))  # at most ~8 date labels
        first = start.replace(hour=0, minute=0, second=0, microsecond=0) + day
        tick = first
        while tick < start + total:
            index = (tick - start) / dt.timedelta(minutes=step_minutes)
            x_ticks.append((x_of(index), tick.strftime("%m-%d")))
            tick += day * every
    return LineChart(width, height, left, top, right, bottom, y_ticks, x_ticks, series)
