"""Several log files as one stream of rows in (nearly) time order.

Customers pass daily files in any order, or one file per cluster node covering the same
hours. Each source is peeked for its first timestamp; sources are then merged lazily:
a file is opened only when the merge reaches its first timestamp, so a year of daily
files never holds more than a couple open at once, and while only one source is open
its batches pass straight through (no heap operation per line). Disorder *inside* a
file (Tomcat logs a request when it ends) is left to the analysis' reorder window.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

from seatgate.accesslog import BATCH_LINES, ParseStats, ReportRow, Source, iter_report_rows


def _rows(batches: Iterator[list[ReportRow]]) -> Iterator[ReportRow]:
    for batch in batches:
        yield from batch


class _Pending:
    __slots__ = ("first", "index", "rows", "source")

    def __init__(self, index: int, source: Source, first: float, rows: Iterator[ReportRow] | None):
        self.index = index
        self.source = source
        self.first = first
        self.rows = rows  # kept open only for streams that cannot be reopened


def first_timestamp(source: Source, fmt: str, stats: ParseStats) -> tuple[float, Iterator[ReportRow] | None]:
    """The first row's time, and for a stream (stdin, an open file) the rows themselves.

    A file is peeked with a throw-away ParseStats and reopened later, so that each of its
    lines is counted once; a stream cannot be reopened, so it is read with ``stats``.
    """
    reopenable = isinstance(source, str | Path) and str(source) != "-"
    batches = iter_report_rows([source], fmt, ParseStats() if reopenable else stats)
    rows = _rows(batches)
    first = next(rows, None)
    if first is None:
        return float("inf"), None
    if reopenable:
        batches.close()
        return first[0], None
    return first[0], itertools.chain([first], rows)


def ordered_rows(sources: Sequence[Source], fmt: str, stats: ParseStats) -> Iterator[list[ReportRow]]:
    """Batches of rows from all sources, merged by time."""
    if len(sources) == 1:
        yield from iter_report_rows(sources, fmt, stats)
        return
    pending = []
    for index, source in enumerate(sources):
        first, kept = first_timestamp(source, fmt, stats)
        pending.append(_Pending(index, source, first, kept))
    pending.sort(key=lambda p: (p.first, p.index))
    waiting = iter(pending)
    upcoming = next(waiting, None)
    # heap entries: (timestamp, tie-breaker, row, rest of that source)
    heap: list[tuple[float, int, ReportRow, Iterator[ReportRow]]] = []
    order = itertools.count()
    out: list[ReportRow] = []
    while True:
        while upcoming is not None and (not heap or upcoming.first <= heap[0][0]):
            rows = upcoming.rows
            if rows is None:
                rows = _rows(iter_report_rows([upcoming.source], fmt, stats))
            row = next(rows, None)
            if row is not None:
                heapq.heappush(heap, (row[0], next(order), row, rows))
            upcoming = next(waiting, None)
        if not heap:
            break
        if len(heap) == 1:
            # One open source: stream it until the next source is due.
            _, _, row, rows = heap.pop()
            limit = upcoming.first if upcoming is not None else float("inf")
            out.append(row)
            for row in rows:
                if row[0] > limit:
                    heapq.heappush(heap, (row[0], next(order), row, rows))
                    break
                out.append(row)
                if len(out) >= BATCH_LINES:
                    yield out
                    out = []
            continue
        _, _, row, rows = heap[0]
        out.append(row)
        if len(out) >= BATCH_LINES:
            yield out
            out = []
        nxt = next(rows, None)
        if nxt is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (nxt[0], next(order), nxt, rows))
    if out:
        yield out
