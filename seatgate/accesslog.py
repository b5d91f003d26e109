"""Streaming parser for Jira and Confluence Data Center access logs.

Used by ``seatgate report`` (licence sizing) and ``seatgate rules test`` (what the rules
would do with real traffic). Formats, as shipped by Atlassian (sources in
docs/atlassian-facts.md, "Access log formats"):

``jira``
    ``%a %{jira.request.id}r %{jira.request.username}r %t "%m %U%q %H" %s %b %D
    "%{Referer}i" "%{User-Agent}i" "%{jira.request.assession.id}r"``
``confluence``
    ``%t %{X-AUSERNAME}o %I %h %r %s %Dms %b %{Referer}i %{User-Agent}i``, also with the
    ``%{X-Forwarded-For}i`` field after ``%t`` (KB variant for proxied set-ups).
``confluence-docker``
    ``%h %{X-AUSERNAME}o %t "%r" %s %b %D %U %I "%{User-Agent}i"`` (official image, Helm).

Design for speed (the report must do ≥ 300 000 lines/s in one process): a source is read
in binary blocks of BLOCK_SIZE, each decoded and split into lines in one call; for the
formats whose request line is quoted (``jira``, ``confluence-docker``) a lean variant of
the format's regex takes the request target whole (Python splits path and query), which
saves about 40 % of the matching time, and every line it does not vouch for goes
through the format's full regexes (see ``_LEAN``). Timestamps are converted through a
cache keyed on the hour and offset (the minutes and seconds are added arithmetically, so
no per-line ``datetime``) and another keyed on the whole timestamp. The report takes
rows with only the fields it reads (``iter_report_rows``). A line that does not parse is
counted, kept as an example (at most five) and skipped: a bad line is never fatal.
"""

from __future__ import annotations

import calendar
import codecs
import contextlib
import gzip
import io
import itertools
import operator
import re
import sys
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

FORMATS = ("jira", "confluence", "confluence-docker")
MAX_BAD_EXAMPLES = 5


class LogFormatError(ValueError):
    """The format is unknown, or ``auto`` found no known format in a source."""


class LogRecord(NamedTuple):
    ts: float  # epoch seconds, UTC (the line's own offset applied)
    user: str | None  # None for "-" and "anonymous"
    method: str
    path: str  # without the query string
    query: str  # without the "?"; "" when absent
    status: int
    user_agent: str
    client: str  # %a / %h: the client address as the server saw it (often the proxy)


@dataclass(slots=True)
class ParseStats:
    """Counters of one parse; shared across sources when the same object is passed in."""

    lines: int = 0  # non-empty lines read
    parsed: int = 0
    bad: int = 0
    bad_examples: list[str] = field(default_factory=list)
    # Distinct UTC offsets (seconds east) in the order first seen; the report shows
    # hours of the week in the first one, i.e. in the server's local time.
    utc_offsets: list[int] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)  # source name → format used

    def add_bad(self, line: str) -> None:
        self.bad += 1
        if len(self.bad_examples) < MAX_BAD_EXAMPLES:
            self.bad_examples.append(line[:300])


# --- regexes -------------------------------------------------------------------------
# Field pieces. Quoted header values may contain \" escapes (Tomcat escapes them); the
# fast pattern assumes they do not and a line that fails it is retried with the slow one.
# A quoted field must be followed by what the pattern puts after it, so that the fast
# pattern cannot stop at an escaped quote.
_TS = r"\[([^\]]++)\]"  # "24/Nov/2015:08:25:29 +0100", checked by _Clock
_REQ = r"([A-Z]++) ([^ ?\"]*+)\??([^ \"]*+)(?: [^\" ]*+)?"  # method, path, query, protocol
_QUOTED_FAST = r'"([^"]*+)"'
_QUOTED_SLOW = r'"((?:[^"\\]|\\.)*)"'
_SKIP_QUOTED_FAST = r'"[^"]*+"'
_SKIP_QUOTED_SLOW = r'"(?:[^"\\]|\\.)*"'


# The client and status fields, captured (the full patterns) or only matched (the lean
# report pattern, see _LEAN_REPORT).
_CAPTURED = {"client": r"(\S++)", "status": r"(\d{3})"}
_MATCHED = {"client": r"\S++", "status": r"\d{3}"}


def _compile(template: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return (
        re.compile(template.format(q=_QUOTED_FAST, skip=_SKIP_QUOTED_FAST, ts=_TS, req=_REQ, **_CAPTURED)),
        re.compile(template.format(q=_QUOTED_SLOW, skip=_SKIP_QUOTED_SLOW, ts=_TS, req=_REQ, **_CAPTURED)),
    )


# Each regex yields the groups client, user, time, method, path, query, status and
# user agent, at the per-format positions given in _ORDER (1-based). The method is
# ``[A-Z]+`` so that the optional X-Forwarded-For field of the Confluence pattern cannot
# be mistaken for another field.
# %a reqid user %t "%m %U%q %H" %s %b %D "referer" "ua" "asession"
_JIRA = r'{client} \S++ (\S++) {ts} "{req}" {status} [^"]*+{skip} {q}(?= "|\s*$)'
# %t [xff] user %I %h %r %s %Dms %b referer ua — referer and UA are not quoted: the
# referer is one token (a URL or "-") and the UA is the rest of the line.
_CONFLUENCE = r"{ts} (?:\S+ )??(\S+) \S+ (\S+) {req} (\d{{3}}) \S+ \S+ \S+ ?([^\r\n]*)"
# %h user %t "%r" %s %b %D %U %I "ua"
_DOCKER = r'{client} (\S+) {ts} "{req}" {status} \S+ \S+ \S+ \S+ {q}\s*$'
_PATTERNS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "jira": _compile(_JIRA),
    "confluence": _compile(_CONFLUENCE),
    "confluence-docker": _compile(_DOCKER),
}
_ORDER: dict[str, tuple[int, ...]] = {
    "jira": (1, 2, 3, 4, 5, 6, 7, 8),
    "confluence": (3, 2, 1, 4, 5, 6, 7, 8),
    "confluence-docker": (1, 2, 3, 4, 5, 6, 7, 8),
}

# The lean patterns: the fast pattern of a format whose request line is quoted, with the
# request line matched as ``"([A-Z]++) ([^ ]*+) [^ "]*+"``: method, target (path and
# query, split in Python) and protocol. The fast pattern's ``[^ ?"]*+`` and ``[^ "]*+``
# cost the regex engine several times more per character than ``[^ ]*+``, and the target
# is a fifth of a line. Groups: client, user, time, method, target, status, user agent;
# the report's variant only matches the client and the status (it has no use for them),
# which saves creating two strings per line: user, time, method, target, user agent.
#
# A lean match vouches for a line when its target holds no quote (``[^ ]`` lets one
# through). The fast pattern then matches the line with the same groups: up to the
# opening quote both patterns are the same pieces (each of which can end in one place
# only); inside the quotes both take the method with ``[A-Z]++``, then the fast pattern
# splits the target at its first "?" (path, then query: the target holds no space or
# quote, so both runs stop where the target does) and takes " " and the protocol with
# ``(?: [^" ]*+)?``, which is the lean ``[^ "]*+``; from the closing quote on both are the
# same pattern at the same position. Any other line (no protocol, an escaped quote...)
# goes through the fast and slow patterns as before: the lean path never changes a result.
_LEAN_REQ = r'([A-Z]++) ([^ ]*+) [^ "]*+'


def _compile_lean(template: str, fields: dict[str, str]) -> re.Pattern[str]:
    return re.compile(template.format(q=_QUOTED_FAST, skip=_SKIP_QUOTED_FAST, ts=_TS, req=_LEAN_REQ, **fields))


_LEAN = {"jira": _compile_lean(_JIRA, _CAPTURED), "confluence-docker": _compile_lean(_DOCKER, _CAPTURED)}
_LEAN_REPORT = {"jira": _compile_lean(_JIRA, _MATCHED), "confluence-docker": _compile_lean(_DOCKER, _MATCHED)}

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_ANONYMOUS = frozenset({"-", "anonymous", ""})


# --- timestamps ----------------------------------------------------------------------
class _Clock:
    """``dd/Mon/yyyy:HH:MM:SS +hhmm`` → epoch seconds, cached per hour and offset.

    Access logs repeat the same hour for thousands of lines, so the calendar arithmetic
    runs once per hour of log and each line only adds minutes and seconds.
    """

    __slots__ = ("hours", "offsets")

    def __init__(self, offsets: list[int]) -> None:
        self.hours: dict[str, float] = {}
        self.offsets = offsets  # ParseStats.utc_offsets, appended to on first sight

    def epoch(self, stamp: str) -> float:
        """Raises ValueError for anything that is not a timestamp."""
        key = stamp[:14] + stamp[20:]  # "24/Nov/2015:08" + " +0100"
        base = self.hours.get(key)
        if base is None:
            base = self._hour(stamp)
            if len(self.hours) > 100_000:  # a pathological log: keep memory bounded
                self.hours.clear()
            self.hours[key] = base
        minute, second = stamp[15:17], stamp[18:20]
        if not (minute.isdigit() and second.isdigit()):  # int() would accept " 5" or "+5"
            raise ValueError(stamp)
        return base + int(minute) * 60 + int(second)

    def _hour(self, stamp: str) -> float:
        month = _MONTHS.get(stamp[3:6])
        offset = stamp[21:]
        if (
            month is None
            or len(stamp) != 26
            or stamp[2] + stamp[6] + stamp[11] + stamp[14] + stamp[17] + stamp[20] != "//::: "
            or offset[0] not in "+-"
            or not (stamp[:2] + stamp[7:11] + stamp[12:14] + offset[1:]).isdigit()
        ):
            raise ValueError(stamp)
        sign = -1 if offset[0] == "-" else 1
        east = sign * (int(offset[1:3]) * 3600 + int(offset[3:5]) * 60)
        if east not in self.offsets:
            self.offsets.append(east)
        local = calendar.timegm((int(stamp[7:11]), month, int(stamp[:2]), int(stamp[12:14]), 0, 0))
        return float(local - east)


# --- sources -------------------------------------------------------------------------
Source = str | Path | IO[str] | IO[bytes]
BLOCK_SIZE = 1 << 16  # bytes (characters for a text stream) read at a time


def source_name(source: Source) -> str:
    if isinstance(source, str | Path):
        return str(source)
    return getattr(source, "name", "<stream>")


def open_source(source: Source) -> IO[str]:
    """A text stream for a path (plain or ``.gz``, by magic bytes), ``-`` or an open file.

    Bad bytes are replaced rather than fatal: logs hold user agents in any encoding.
    Raises OSError for a missing or unreadable file.
    """
    if isinstance(source, str | Path):
        if str(source) == "-":
            return _text(sys.stdin.buffer)
        raw = open(source, "rb")  # noqa: SIM115 — handed to the caller, closed there
        try:
            return _text(_gunzipped(raw))
        except OSError:
            raw.close()
            raise
    if isinstance(source, io.TextIOBase):
        return source
    return _text(_gunzipped(source.buffer if hasattr(source, "buffer") else source))  # type: ignore[arg-type]


def _gunzipped(buffer: IO[bytes]) -> IO[bytes]:
    """``buffer`` itself, or decompressed when it starts with the gzip magic bytes."""
    peek = getattr(buffer, "peek", None)
    if peek is not None and peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffer)  # type: ignore[return-value]
    return buffer


def _text(binary: IO[bytes]) -> IO[str]:
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline=None)


def _open_for_parsing(source: Source, stack: contextlib.ExitStack) -> IO[bytes] | IO[str]:
    """Like :func:`open_source`, but binary (decoded by :func:`_text_blocks`) unless the
    source is a text stream already. What is opened here is closed with ``stack``;
    standard input and streams passed in are left open."""
    if isinstance(source, str | Path):
        if str(source) == "-":
            return sys.stdin.buffer
        raw = stack.enter_context(open(source, "rb"))  # noqa: SIM115 — closed with the stack
        return stack.enter_context(_gunzipped(raw))
    if isinstance(source, io.TextIOBase):
        return source
    return _gunzipped(source.buffer if hasattr(source, "buffer") else source)  # type: ignore[arg-type]


def _text_blocks(stream: IO[bytes] | IO[str]) -> Iterator[str]:
    """The stream's text, BLOCK_SIZE at a time.

    Bytes are decoded exactly as by the text stream of :func:`open_source` (the same
    incremental decoders TextIOWrapper uses: UTF-8 with bad bytes replaced, universal
    newlines), a block per call instead of going through TextIOWrapper's buffers.
    """
    if isinstance(stream, io.TextIOBase):
        while chunk := stream.read(BLOCK_SIZE):
            yield chunk
        return
    decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")("replace"), translate=True)
    while data := stream.read(BLOCK_SIZE):
        yield decoder.decode(data)
    yield decoder.decode(b"", final=True)


def _line_blocks(blocks: Iterable[str]) -> Iterator[list[str]]:
    """Lists of lines (without "\n"), one per block of text, split in one call each."""
    rest = ""  # the unfinished last line of the previous block
    for block in blocks:
        lines = block.split("\n")
        lines[0] = rest + lines[0]
        rest = lines.pop()
        if lines:
            yield lines
    if rest:
        yield [rest]


# --- format detection ----------------------------------------------------------------
DETECT_LINES = 50


def detect_format(lines: Iterable[str]) -> str | None:
    """The format matching most of the given lines (at least one), or None."""
    scores = dict.fromkeys(FORMATS, 0)
    for line in lines:
        line = line.strip()
        if not line:
            continue
        for name in FORMATS:
            fast, slow = _PATTERNS[name]
            if fast.match(line) or slow.match(line):
                scores[name] += 1
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] else None


def check_format(fmt: str) -> str:
    if fmt != "auto" and fmt not in FORMATS:
        raise LogFormatError(f"unknown log format {fmt!r} (known: auto, {', '.join(FORMATS)})")
    return fmt


# --- parsing -------------------------------------------------------------------------
# A row is a LogRecord's fields as a plain tuple, in the same order: the report's hot loop
# takes rows in lists (``iter_report_rows``), which saves a generator switch and a
# named-tuple copy per line; everyone else takes LogRecords (``iter_records``).
Row = tuple[float, str | None, str, str, str, int, str, str]
# The fields the report reads: time, user, method, path, query and user agent.
ReportRow = tuple[float, str | None, str, str, str, str]
# Rows per list handed on (a block may make a list longer). Small lists keep the objects
# of a list in the CPU caches between the parser and the analysis that reads them.
BATCH_LINES = 256


def iter_records(sources: Iterable[Source], fmt: str = "auto", stats: ParseStats | None = None) -> Iterator[LogRecord]:
    """Records of every source in turn, in file order (not sorted by time).

    ``fmt="auto"`` detects the format of each source from its first non-empty lines.
    Raises :class:`LogFormatError` for an unknown ``fmt`` or a source in which no known
    format is found, and ``OSError`` for a source that cannot be opened.
    """
    new = tuple.__new__
    for rows in iter_rows(sources, fmt, stats):
        for row in rows:
            yield new(LogRecord, row)


def iter_rows(sources: Iterable[Source], fmt: str = "auto", stats: ParseStats | None = None) -> Iterator[list[Row]]:
    """Like :func:`iter_records`, as lists of plain tuples (about BATCH_LINES each)."""
    return _iter_sources(sources, fmt, stats, report=False)


def iter_report_rows(
    sources: Iterable[Source], fmt: str = "auto", stats: ParseStats | None = None
) -> Generator[list[ReportRow], None, None]:
    """Like :func:`iter_rows`, with only the fields the report reads (see ReportRow)."""
    return _iter_sources(sources, fmt, stats, report=True)


def _iter_sources(
    sources: Iterable[Source], fmt: str, stats: ParseStats | None, report: bool
) -> Generator[list[Any], None, None]:
    check_format(fmt)
    stats = stats if stats is not None else ParseStats()
    clock = _Clock(stats.utc_offsets)
    for source in sources:
        with contextlib.ExitStack() as stack:
            blocks = _line_blocks(_text_blocks(_open_for_parsing(source, stack)))
            name = source_name(source)
            read: list[list[str]] = []  # blocks read for detection, parsed first
            if fmt == "auto":
                head: list[str] = []  # the first non-empty lines
                for block in blocks:
                    read.append(block)
                    head += itertools.islice((line for line in block if line.strip()), DETECT_LINES - len(head))
                    if len(head) >= DETECT_LINES:
                        break
                if not head:
                    continue  # an empty source is not an error
                found = detect_format(head)
                if found is None:
                    raise LogFormatError(f"{name}: no known access-log format (first line: {head[0].strip()[:200]!r})")
            else:
                found = fmt
            stats.formats[name] = found
            yield from _parse(itertools.chain(read, blocks), found, stats, clock, report)


def _parse(blocks: Iterable[list[str]], fmt: str, stats: ParseStats, clock: _Clock, report: bool) -> Iterator[list]:
    # The loop below is the hot path of the report. Names are bound locally. A line is
    # first offered to the format's lean pattern (see _LEAN) and its target split in
    # Python; a line the lean pattern does not vouch for, and every line of a format
    # without one, goes through the full patterns, whose fields come out of the match in
    # the row's order whenever the format allows (itemgetter otherwise; m.group(*order)
    # is four times slower). ``report`` rows (ReportRow) leave out the client and the
    # status, which the report's lean pattern does not even capture.
    lean = (_LEAN_REPORT if report else _LEAN).get(fmt)
    lean_match = lean.match if lean is not None else None
    fast, slow = _PATTERNS[fmt]
    fast_match, slow_match = fast.match, slow.match
    order = tuple(i - 1 for i in _ORDER[fmt])
    fields = None if order == tuple(range(8)) else operator.itemgetter(*order)
    # stamp → epoch: the lines of one second repeat its stamp, and mostly follow each other
    # (comparing two strings is cheaper than hashing one).
    seconds: dict[str, float] = {}
    last_stamp, last_ts = "", 0.0
    epoch = clock.epoch
    anonymous = _ANONYMOUS
    rows: list[Any] = []  # Row or ReportRow tuples, by ``report``
    append = rows.append
    bad = 0  # lines = rows + bad: counting only the rare bad ones saves work per line
    for block in blocks:
        for line in block:
            m = lean_match(line) if lean_match is not None else None
            if m is not None:
                if report:
                    user, stamp, method, target, agent = m.groups()
                else:
                    client, user, stamp, method, target, status, agent = m.groups()
                if '"' in target:
                    m = None  # the lean pattern does not vouch for this line
                else:
                    path, _, query = target.partition("?")
            if m is None:
                m = fast_match(line) or slow_match(line)
                if m is None:
                    line = line.rstrip("\r\n")
                    if line.strip():
                        bad += 1
                        stats.add_bad(line)
                    continue
                if fields is None:
                    client, user, stamp, method, path, query, status, agent = m.groups()
                else:
                    client, user, stamp, method, path, query, status, agent = fields(m.groups())
            if stamp != last_stamp:  # else: a line of the same second as the previous one
                ts = seconds.get(stamp)
                if ts is None:
                    try:
                        ts = epoch(stamp)
                    except ValueError:
                        bad += 1
                        stats.add_bad(line.rstrip("\r\n"))
                        continue
                    if len(seconds) >= 4096:
                        seconds.clear()
                    seconds[stamp] = ts
                last_stamp, last_ts = stamp, ts
            else:
                ts = last_ts
            if user in anonymous:
                user = None
            if report:
                append((ts, user, method, path, query, agent))
            else:
                append((ts, user, method, path, query, int(status), agent, client))
        if len(rows) >= BATCH_LINES:
            stats.lines += len(rows) + bad
            stats.parsed += len(rows)
            bad = 0
            yield rows
            rows = []
            append = rows.append
    stats.lines += len(rows) + bad
    stats.parsed += len(rows)
    if rows:
        yield rows
