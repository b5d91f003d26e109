"""One pass over the records: classify, count, and feed the seat timelines.

The loop in :meth:`Analysis.feed` is the report's hot path (millions of lines), so it
works on plain tuples and slotted objects. Seat events go through a *reorder window*: they are
buffered, sorted, and handed to the timelines only once the log has moved ``slack``
seconds past them, because Tomcat writes a line when a request ends and a slow request
appears after quicker, later ones. An event older than what was already handed on is
counted as late and moved forward to the window's edge.

Per user and period the timelines would see every request; most of them only push the
user's last activity forward. While a user holds a seat in every period (the shortest
period is enough to tell: each gap is checked against it, and a gap shorter than the
shortest period is shorter than every period) such a request is only noted, and the
timelines are told the user's latest time once, with :meth:`SeatTimeline.extend`, before
they next fold or see another event of that user. ``extend`` trusts the check instead of
comparing the latest time with the seat's first activity, so the timelines end exactly
where feeding every event in time order would put them (tests/report/test_differential.py
checks this against a naive reference).
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import gc
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from seatgate.accesslog import ReportRow
from seatgate.policy import holds_seat
from seatgate.report.timeline import SeatTimeline
from seatgate.report.verdicts import ACTIVITY, BACKGROUND, VERDICT_NAMES, CachedClassifier, LineClass

DEFAULT_SLACK = 300.0  # reorder window, seconds
DEFAULT_BATCH = 50_000  # seat events buffered before a sort
# A stretch this long without any log line is "no data" (a gap between files, a missing
# day), not a quiet time: even a quiet Jira logs its gadgets, app links and monitoring.
NO_DATA_SECONDS = 6 * 3600.0


@dataclass(slots=True)
class _UserState:
    """What the hot loop and the drain keep per logged-in user (slotted: touched on
    every line, and attribute access on slots is as fast as list indexing)."""

    excluded: bool
    agent: str  # of the first request
    sent_ts: float | None = None  # last seat event buffered, to skip same-second bursts
    sent_takes: bool = False
    run_last: float | None = None  # last activity handed on or noted while engaged
    engaged: bool = False  # held a seat in the shortest period after its last full event
    dirty: bool = False  # run_last moved on without the timelines being told


@dataclass(slots=True)
class _ProfileCounts:
    seat_events: int = 0
    clock_hours: int = 0
    last_hour: int | None = None
    hours_mask: int = 0  # bit h set: a seat event in local hour of the day h
    active: bool = False


@dataclass(slots=True)
class UserProfile:
    name: str
    seat_events: int  # activity and passive requests (after merging same-second bursts)
    hours_of_day: int  # distinct local hours of the day (0-23) with such requests
    clock_hours: int  # distinct clock hours with such requests
    active: bool  # had a real activity, so took a seat at least once
    user_agent: str  # of the first request


@dataclass(slots=True)
class Totals:
    lines: int = 0  # records analysed
    late_events: int = 0  # seat events older than the reorder window, moved forward
    first_ts: float | None = None
    last_ts: float | None = None


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. The analysis, and the parser feeding it, make
    tuples by the million and no reference cycles; the collector, which counts every
    allocation, would only rescan the long-lived caches again and again (about 5 % of
    the report's time). Reference counting frees everything as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Analysis:
    def __init__(
        self,
        classifier: CachedClassifier,
        inactivities: Sequence[float],
        exclude_users: Iterable[str] = (),
        utc_offset: Callable[[], int] = lambda: 0,
        slack: float = DEFAULT_SLACK,
        batch: int | None = None,
    ):
        if not inactivities:
            raise ValueError("at least one inactivity period is needed")
        self.classifier = classifier
        # Shortest first: holding a seat in it means holding one in every period.
        self.timelines = [SeatTimeline(i) for i in sorted(set(inactivities))]
        self._shortest = self.timelines[0].inactivity
        patterns = [p for p in exclude_users if p]
        self._exclude_exact = {p for p in patterns if not any(c in p for c in "*?[")}
        self._exclude_globs = [p for p in patterns if p not in self._exclude_exact]
        self._utc_offset = utc_offset
        self.slack = slack
        self._batch = DEFAULT_BATCH if batch is None else batch  # read late: tests shrink it
        self.totals = Totals()
        # Request counts per verdict slot (one per rule that decided), for logged-in and
        # anonymous requests; grown as the classifier meets new rules, summed at the end.
        self._by_slot: list[int] = []
        self._anonymous_by_slot: list[int] = []
        self._users: dict[str, _UserState] = {}
        # Kept in the drain (time order, a fraction of the lines).
        self._profiles: dict[str, _ProfileCounts] = {}
        # (last line before, first line after) of each stretch of NO_DATA_SECONDS or more
        # without a line: gaps between files, missing days.
        self.no_data: list[tuple[float, float]] = []
        self._events: list[tuple[float, str, bool]] = []
        self._dirty: list[str] = []
        self._max_ts = float("-inf")
        self._watermark = float("-inf")  # events before this were handed on already

    # -- the hot loop ----------------------------------------------------------------
    def feed(self, batches: Iterable[list[ReportRow]]) -> None:
        """Analyse batches of rows (see :func:`seatgate.accesslog.iter_report_rows`)."""
        with _cyclic_gc_paused():
            self._feed(batches)

    def _feed(self, batches: Iterable[list[ReportRow]]) -> None:
        totals = self.totals
        counts = self._by_slot
        anonymous_counts = self._anonymous_by_slot
        slots = self.classifier.verdicts
        known = self.classifier.known
        classify = self.classifier.verdict
        users = self._users
        events = self._events
        append = events.append
        max_ts = self._max_ts
        first_ts = totals.first_ts
        no_data = self.no_data
        # Lines before this need a look at first_ts and no_data: the first line's time, or
        # the end of the latest stretch without lines.
        recheck = no_data[-1][1] if no_data else (first_ts if first_ts is not None else float("-inf"))
        batch = self._batch
        new_user = _UserState
        try:
            for rows in batches:
                totals.lines += len(rows)
                for ts, user, method, path, query, agent in rows:
                    verdict = known.get((method, path))
                    if verdict.__class__ is not LineClass:
                        # Depends on the agent or the query (a Dependent), or not classified yet.
                        if verdict is not None:
                            verdict = verdict.by_key.get(verdict.key(query, agent))  # type: ignore[union-attr]
                        if verdict is None:
                            verdict = classify(method, path, query, agent)
                            while len(counts) < len(slots):  # a rule seen for the first time
                                counts.append(0)
                                anonymous_counts.append(0)
                    if ts > max_ts:
                        if ts - max_ts >= NO_DATA_SECONDS and first_ts is not None:
                            no_data.append((max_ts, ts))
                            recheck = ts
                        max_ts = ts
                        if first_ts is None:
                            first_ts = totals.first_ts = recheck = ts
                    elif ts < recheck:
                        # Rare: a line written late, before the first line or inside the
                        # latest stretch without lines.
                        self._line_written_late(ts)
                        first_ts = totals.first_ts
                        assert first_ts is not None  # set by the first line, before any late one
                        recheck = no_data[-1][1] if no_data else first_ts
                    if user is None:
                        anonymous_counts[verdict.slot] += 1
                        continue
                    counts[verdict.slot] += 1
                    state = users.get(user)
                    if state is None:
                        state = users[user] = new_user(self._is_excluded(user), agent)
                    code = verdict.code
                    if code < ACTIVITY or state.excluded:
                        continue  # static or background; or a user left out of the count
                    takes = code == ACTIVITY
                    # A page view is a burst of requests in one second: an event equal to
                    # (or weaker than) the user's previous one changes nothing.
                    if ts == state.sent_ts and (state.sent_takes or not takes):
                        continue
                    state.sent_ts = ts
                    state.sent_takes = takes
                    append((ts, user, takes))
                    if len(events) >= batch:
                        self._max_ts = max_ts
                        self._drain(max_ts - self.slack)
        finally:
            self._max_ts = max_ts
            totals.last_ts = max_ts if first_ts is not None else None

    def _line_written_late(self, ts: float) -> None:
        """A line older than the latest one: it may start the log earlier or fall inside
        a stretch without lines, which it then splits (parts shorter than NO_DATA_SECONDS
        are no longer "no data")."""
        totals = self.totals
        if ts < totals.first_ts:  # type: ignore[operator]
            totals.first_ts = ts
        no_data = self.no_data
        for i in range(len(no_data) - 1, -1, -1):
            before, after = no_data[i]
            if after <= ts:
                break
            if before < ts:
                no_data[i : i + 1] = [(a, b) for a, b in ((before, ts), (ts, after)) if b - a >= NO_DATA_SECONDS]
                break

    def _is_excluded(self, user: str) -> bool:
        return user in self._exclude_exact or any(fnmatch.fnmatchcase(user, g) for g in self._exclude_globs)

    # -- reorder window → timelines ------------------------------------------------------
    def _drain(self, cut: float) -> None:
        """Hand every buffered event at or before ``cut`` to the timelines, in time order."""
        events = self._events
        events.sort()
        n = bisect.bisect_right(events, cut, key=operator.itemgetter(0))
        ready, self._events[:] = events[:n], events[n:]
        watermark = self._watermark
        users = self._users
        timelines = self.timelines
        shortest = self._shortest
        late = 0
        profiles = self._profiles
        offset_hours = self._utc_offset() // 3600
        for ts, user, takes in ready:
            if ts < watermark:
                ts = watermark
                late += 1
            profile = profiles.get(user)
            if profile is None:
                profile = profiles[user] = _ProfileCounts()
            profile.seat_events += 1
            hour = int(ts // 3600)
            if hour != profile.last_hour:
                profile.clock_hours += 1
                profile.last_hour = hour
                profile.hours_mask |= 1 << ((hour + offset_hours) % 24)
            if takes:
                profile.active = True
            state = users[user]
            run_last = state.run_last
            if state.engaged and holds_seat(run_last, ts, shortest):  # type: ignore[arg-type]
                if ts > run_last:  # type: ignore[operator]
                    # Within the shortest period of the previous activity: held on in
                    # every period, only the last activity moves (told later, by _sync).
                    state.run_last = ts
                    if not state.dirty:
                        state.dirty = True
                        self._dirty.append(user)
                continue
            if state.dirty:
                self._sync(user, state)
            for timeline in timelines:
                timeline.event(ts, user, takes)
            state.run_last = ts
            state.engaged = timelines[0].holding(user)
        self.totals.late_events += late
        if watermark < cut < float("inf"):
            self._watermark = cut
            self._sync_all()
            for timeline in timelines:
                timeline.advance(cut)

    def _sync(self, user: str, state: _UserState) -> None:
        state.dirty = False
        for timeline in self.timelines:
            timeline.extend(user, state.run_last)  # type: ignore[arg-type]

    def _sync_all(self) -> None:
        users = self._users
        for user in self._dirty:
            state = users[user]
            if state.dirty:
                self._sync(user, state)
        self._dirty.clear()

    def finish(self) -> None:
        with _cyclic_gc_paused():
            self._drain(self._max_ts)
            # The series runs at least to the minute of the last line, seats or none.
            end_of_log = (math.floor(self._max_ts / 60) + 1) * 60 if self.totals.first_ts is not None else 0
            for timeline in self.timelines:
                timeline.advance(end_of_log)
                timeline.finish()

    # -- results -----------------------------------------------------------------------
    def profiles(self) -> list[UserProfile]:
        """Users who made activity or passive requests (excluded users left out)."""
        return [
            UserProfile(
                name=user,
                seat_events=p.seat_events,
                hours_of_day=p.hours_mask.bit_count(),
                clock_hours=p.clock_hours,
                active=p.active,
                user_agent=self._users[user].agent,
            )
            for user, p in self._profiles.items()
        ]

    @property
    def users_seen(self) -> list[str]:
        """Every logged-in user with any request, excluded users left out."""
        return [u for u, s in self._users.items() if not s.excluded]

    @property
    def excluded_users(self) -> list[str]:
        return sorted(u for u, s in self._users.items() if s.excluded)

    def verdict_counts(self, anonymous: bool | None = None) -> dict[str, int]:
        """Requests per verdict: all, only anonymous (True) or only logged-in (False)."""
        out = dict.fromkeys(VERDICT_NAMES, 0)
        sources = {
            None: (self._by_slot, self._anonymous_by_slot),
            True: (self._anonymous_by_slot,),
            False: (self._by_slot,),
        }[anonymous]
        for counts in sources:
            for verdict, n in zip(self.classifier.verdicts, counts, strict=False):
                out[VERDICT_NAMES[verdict.code]] += n
        return out

    def background_endpoints(self) -> Counter[str]:
        """Background requests per rule (``(default)`` when no rule decided)."""
        out: Counter[str] = Counter()
        for counts in (self._by_slot, self._anonymous_by_slot):
            for verdict, n in zip(self.classifier.verdicts, counts, strict=False):
                if verdict.code == BACKGROUND and n:
                    out[verdict.rule_id or "(default)"] += n
        return out
