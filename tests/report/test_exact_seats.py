"""Seats end exactly where feeding every event in time order puts them.

The reference case of the half-open rule in seatgate/policy.py: a user whose last
activity is at ``t`` holds a seat during every second ``s`` with ``t <= s < t + inactivity``
(whole seconds, as Jira logs them) and is free from ``t + inactivity`` on, so the seat of
an activity at 08:55:00 with a 15-minute period is counted up to 09:09:59 and released
at 09:10:00; the minute 09:10 holds no seat.
"""

from __future__ import annotations

from tests.report.conftest import ACTIVITY, jira_line, period, run_json, write_log


def test_one_user_every_five_minutes_holds_one_seat_until_release(tmp_path, capsys):
    stamps = [f"24/Nov/2015:08:{m:02d}:00 +0000" for m in range(0, 60, 5)]
    log = write_log(tmp_path / "a.log", [jira_line(s, "alice", ACTIVITY) for s in stamps])
    p = period(run_json(capsys, str(log), "--inactivity", "15m"), 900)
    assert (p["peak_seats"], p["seats_taken"]) == (1, 1)
    assert p["peak_at"] == "2015-11-24T08:00:00+00:00"
    series = p["series"]
    assert series["start"] == "2015-11-24T08:00:00+00:00"
    assert series["step_minutes"] == 1
    # 08:00 .. 09:09 held (70 minutes), 09:10 free: the release instant is not counted.
    assert series["max_seats"] == [1] * 70 + [0]


def test_gap_of_exactly_the_period_releases_and_retakes(tmp_path, capsys):
    """At exactly last + inactivity the seat is free; an activity then takes a new one."""
    stamps = ["24/Nov/2015:08:00:00 +0000", "24/Nov/2015:08:15:00 +0000", "24/Nov/2015:08:29:00 +0000"]
    log = write_log(tmp_path / "a.log", [jira_line(s, "alice", ACTIVITY) for s in stamps])
    p = period(run_json(capsys, str(log), "--inactivity", "15m"), 900)
    assert (p["peak_seats"], p["seats_taken"]) == (1, 2)
    assert p["series"]["max_seats"] == [1] * 44 + [0]
