"""A one-line progress indicator on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO, TypeVar

from seatgate.accesslog import ParseStats

T = TypeVar("T")
_SAMPLE = 1 << 16


def estimate_lines(sources: Sequence[object]) -> int | None:
    """Lines in all sources, estimated from their sizes and the line length in the first
    64 KiB of the first one; None for stdin or compressed files (size unknown)."""
    total = 0
    for source in sources:
        if not isinstance(source, str | os.PathLike) or str(source) == "-" or str(source).endswith(".gz"):
            return None
        try:
            total += os.path.getsize(source)
        except OSError:
            return None
    try:
        first = sources[0]
        assert isinstance(first, str | os.PathLike)  # checked in the loop above
        with open(first, "rb") as f:
            sample = f.read(_SAMPLE)
    except (OSError, IndexError):
        return None
    newlines = sample.count(b"\n")
    return int(total / (len(sample) / newlines)) if newlines else None


def with_progress(
    batches: Iterable[T], stats: ParseStats, expected_lines: int | None, stream: TextIO | None = None
) -> Iterator[T]:
    """Pass batches through, redrawing ``lines, rate[, bar]`` at most four times a second."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        yield from batches
        return
    start = last = time.monotonic()
    try:
        for batch in batches:
            yield batch
            now = time.monotonic()
            if now - last < 0.25:
                continue
            last = now
            text = f"\r  {stats.lines:,} lines  {stats.lines / max(now - start, 1e-9):,.0f} lines/s"
            if expected_lines:
                share = min(1.0, stats.lines / expected_lines)
                text += f"  [{'#' * int(share * 30):<30}] {share:.0%}"
            stream.write(text)
            stream.flush()
    finally:
        stream.write("\r" + " " * 79 + "\r")
        stream.flush()
