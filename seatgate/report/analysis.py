"""One pass over the records: classify, count, and feed the seat timelines.

The loop in :meth:`Analysis.feed` is the report's hot path (millions of lines), so it
works on plain tuples and lists. Seat events go through a *reorder window*: they are
buffered, sorted, and handed to the timelines only once the log has moved ``slack``
seconds past them, because Tomcat writes a line when a request ends and a slow request
appears after quicker, later ones. An event older than what was already handed on is
counted as late and moved forward to the window's edge.

Per user and period the timelines would see every request; most of them only push the
user's last activity forward. While a user holds a seat in every period (the shortest
period is enough to tell) such a request is only noted, and the timelines are told the
user's latest time once, before they next fold. The result is identical, the work per
line much smaller.
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import gc
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from seatgate.accesslog import ReportRow
from seatgate.policy import holds_seat
from seatgate.report.timeline import SeatTimeline
from seatgate.report.verdicts import ACTIVITY, BACKGROUND, VERDICT_NAMES, CachedClassifier, Verdict

DEFAULT_SLACK = 300.0  # reorder window, seconds
_BATCH = 50_000  # seat events buffered before a sort

# Fields of the per-user list (a list, not an object: it is touched on every line).
_EXCLUDED, _RUN_LAST, _ENGAGED, _DIRTY, _SENT_TS, _SENT_TAKES, _AGENT = range(7)


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
        self.totals = Totals()
        # Request counts per verdict slot (one per rule that decided), for logged-in and
        # anonymous requests; grown as the classifier meets new rules, summed at the end.
        self._by_slot: list[int] = []
        self._anonymous_by_slot: list[int] = []
        self._users: dict[str, list] = {}
        # user → [seat events, clock hours, last clock hour, hours-of-day mask, active],
        # kept in the drain (time order, a fraction of the lines).
        self._profiles: dict[str, list] = {}
        self.active_days: set[int] = set()  # local days (epoch day numbers) with seat events
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
        try:
            for rows in batches:
                totals.lines += len(rows)
                for ts, user, method, path, query, agent in rows:
                    verdict = known.get((method, path))
                    if verdict.__class__ is not Verdict:
                        # Depends on the agent or the query (a Dependent), or not classified yet.
                        if verdict is not None:
                            verdict = verdict.by_key.get(verdict.key(query, agent))
                        if verdict is None:
                            verdict = classify(method, path, query, agent)
                            while len(counts) < len(slots):  # a rule seen for the first time
                                counts.append(0)
                                anonymous_counts.append(0)
                    if ts > max_ts:
                        max_ts = ts
                        if first_ts is None:
                            first_ts = totals.first_ts = ts
                    if user is None:
                        anonymous_counts[verdict[2]] += 1
                        continue
                    counts[verdict[2]] += 1
                    state = users.get(user)
                    if state is None:
                        state = users[user] = [self._is_excluded(user), None, False, False, None, False, agent]
                    code = verdict[0]
                    if code < ACTIVITY or state[_EXCLUDED]:
                        continue  # static or background; or a user left out of the count
                    takes = code == ACTIVITY
                    # A page view is a burst of requests in one second: an event equal to
                    # (or weaker than) the user's previous one changes nothing.
                    if ts == state[_SENT_TS] and (state[_SENT_TAKES] or not takes):
                        continue
                    state[_SENT_TS] = ts
                    state[_SENT_TAKES] = takes
                    append((ts, user, takes))
                    if len(events) >= _BATCH:
                        self._max_ts = max_ts
                        self._drain(max_ts - self.slack)
        finally:
            self._max_ts = max_ts
            totals.last_ts = max_ts if first_ts is not None else None

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
                profile = profiles[user] = [0, 0, None, 0, False]
            profile[0] += 1
            hour = int(ts // 3600)
            if hour != profile[2]:
                profile[1] += 1
                profile[2] = hour
                profile[3] |= 1 << ((hour + offset_hours) % 24)
                self.active_days.add((hour + offset_hours) // 24)
            if takes:
                profile[4] = True
            state = users[user]
            run_last = state[_RUN_LAST]
            if state[_ENGAGED] and holds_seat(run_last, ts, shortest):
                if ts > run_last:  # only pushes the last activity forward, in every period
                    state[_RUN_LAST] = ts
                    if not state[_DIRTY]:
                        state[_DIRTY] = True
                        self._dirty.append(user)
                continue
            if state[_DIRTY]:
                self._sync(user, state)
            for timeline in timelines:
                timeline.event(ts, user, takes)
            state[_RUN_LAST] = ts
            state[_ENGAGED] = timelines[0].holding(user)
        self.totals.late_events += late
        if watermark < cut < float("inf"):
            self._watermark = cut
            self._sync_all()
            for timeline in timelines:
                timeline.advance(cut)

    def _sync(self, user: str, state: list) -> None:
        state[_DIRTY] = False
        for timeline in self.timelines:
            timeline.event(state[_RUN_LAST], user, False)

    def _sync_all(self) -> None:
        users = self._users
        for user in self._dirty:
            state = users[user]
            if state[_DIRTY]:
                self._sync(user, state)
        self._dirty.clear()

    def finish(self) -> None:
        with _cyclic_gc_paused():
            self._drain(self._max_ts)
            for timeline in self.timelines:
                timeline.finish()

    # -- results -----------------------------------------------------------------------
    def profiles(self) -> list[UserProfile]:
        """Users who made activity or passive requests (excluded users left out)."""
        return [
            UserProfile(
                name=user,
                seat_events=p[0],
                hours_of_day=p[3].bit_count(),
                clock_hours=p[1],
                active=p[4],
                user_agent=self._users[user][_AGENT],
            )
            for user, p in self._profiles.items()
        ]

    @property
    def users_seen(self) -> list[str]:
        """Every logged-in user with any request, excluded users left out."""
        return [u for u, s in self._users.items() if not s[_EXCLUDED]]

    @property
    def excluded_users(self) -> list[str]:
        return sorted(u for u, s in self._users.items() if s[_EXCLUDED])

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
