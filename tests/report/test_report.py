"""``seatgate report`` on small crafted logs whose figures are computed by hand."""

from __future__ import annotations

import pytest

from seatgate.report import analysis as analysis_module
from tests.report.conftest import ACTIVITY, BACKGROUND, PASSIVE, STATIC, jira_line, period, run_json, write_log

DAY = "24/Nov/2015"  # a Tuesday


def at(clock: str, day: str = DAY, offset: str = "+0000") -> str:
    return f"{day}:{clock} {offset}"


@pytest.fixture
def basic_log(tmp_path):
    # 15m: alice holds 08:00:00-08:25:00 (activity, then passive at 08:10 extends it; the
    # passive at exactly 08:25:00 comes when the seat is already free: half-open interval);
    # bob's passive at 08:05 grants nothing, his activity holds 08:20:00-08:35:00.
    # carol makes only background requests, dave only static ones, and one anonymous page
    # view counts for nobody. Peak: 2 seats at 08:20:00.
    return write_log(
        tmp_path / "access_log",
        [
            jira_line(at("08:00:00"), "alice", ACTIVITY),
            jira_line(at("08:00:00"), "carol", BACKGROUND),
            jira_line(at("08:01:00"), None, ACTIVITY),
            "this is not an access log line",
            jira_line(at("08:05:00"), "bob", PASSIVE),
            jira_line(at("08:06:00"), "dave", STATIC),
            jira_line(at("08:10:00"), "alice", PASSIVE),
            jira_line(at("08:20:00"), "bob", ACTIVITY),
            jira_line(at("08:25:00"), "alice", PASSIVE),
            jira_line(at("08:30:00"), "carol", BACKGROUND),
            '10.0.0.1 1x1x1 alice [24/Nov/2015:08:31:00 +0000] "GET /browse/X-1 HTTP/1.1" 200',  # truncated
            jira_line(at("09:00:00"), "carol", BACKGROUND),
        ],
    )


def test_seats_passive_background_anonymous_and_bad_lines(basic_log, capsys):
    report = run_json(capsys, str(basic_log), "--inactivity", "5m,15m")
    p15 = period(report, 900)
    assert (p15["peak_seats"], p15["peak_at"]) == (2, "2015-11-24T08:20:00+00:00")
    assert p15["seats_taken"] == 2
    # 5m: alice 08:00-08:05 (her 08:10 passive finds no seat), bob 08:20-08:25.
    p5 = period(report, 300)
    assert (p5["peak_seats"], p5["peak_at"], p5["seats_taken"]) == (1, "2015-11-24T08:00:00+00:00", 2)
    users = report["users"]
    assert (users["seen"], users["active"], users["without_activity"]) == (4, 2, 2)
    assert p15["active_users"] == p5["active_users"] == 2
    assert report["requests"]["anonymous"] == 1
    assert report["requests"]["by_verdict"] == {"static": 1, "background": 3, "activity": 3, "passive": 3}
    assert report["requests"]["top_background_endpoints"] == [{"rule": "jira.board-poll", "requests": 3}]
    assert report["lines"]["unparseable"] == 2
    assert report["lines"]["unparseable_examples"][0] == "this is not an access log line"
    # Per-minute maxima: 08:00..08:35 for 15m; p99 of 36 minutes is the top one.
    assert p15["p99_minute_max"] == 2
    assert p15["series"]["max_seats"][:1] == [1] and max(p15["series"]["max_seats"]) == 2


def test_registered_tier_and_savings(basic_log, capsys):
    report = run_json(capsys, str(basic_log), "--inactivity", "15m", "--registered", "1200")
    assert report["users"]["registered"] == 1200 and report["users"]["current_tier"] == "2000"
    p = report["periods"][0]
    assert (p["tier_needed"], p["tiers_saved"], p["headroom_seats"]) == ("500", 2, 1198)
    assert p["saving"] == "tier 2000 → tier 500 (2 tiers lower)"
    assert report["users"]["registered_from"] == "--registered"
    assert report["users"]["registered_is_lower_bound"] is False


def test_excluded_users_take_no_seat(basic_log, capsys):
    report = run_json(capsys, str(basic_log), "--inactivity", "15m", "--exclude-users", "al*,nobody")
    p = report["periods"][0]
    assert (p["peak_seats"], p["peak_at"]) == (1, "2015-11-24T08:20:00+00:00")
    assert report["users"]["excluded"] == ["alice"]


def test_midnight_and_time_zone_offsets(tmp_path, capsys):
    # u1 at 23:55 +0200 (21:55Z) and u2 at 00:05 +0200 the next day (22:05Z) overlap across
    # local midnight; u3 is logged in UTC at the very instant of u2. With 15m all three hold
    # a seat at 22:05Z: peak 3, reported in the log's own offset (the first one seen).
    log = write_log(
        tmp_path / "access_log",
        [
            jira_line(at("23:55:00", offset="+0200"), "u1", ACTIVITY),
            jira_line(at("00:05:00", "25/Nov/2015", "+0200"), "u2", ACTIVITY),
            jira_line(at("22:05:00", offset="+0000"), "u3", ACTIVITY),
        ],
    )
    report = run_json(capsys, str(log), "--inactivity", "15m")
    p = report["periods"][0]
    assert (p["peak_seats"], p["peak_at"]) == (3, "2015-11-25T00:05:00+02:00")
    assert report["time_zone"] == "UTC+02:00"
    assert p["peak_by_day"] == [{"date": "2015-11-24", "peak_seats": 1}, {"date": "2015-11-25", "peak_seats": 3}]
    grid = p["peak_by_hour_of_week"]
    assert grid[1][23] == 1 and grid[2][0] == 3  # Tuesday 23h, Wednesday 00h (local)


def test_out_of_order_lines_and_files(tmp_path, capsys):
    lines = [
        jira_line(at("10:00:00"), "u1", ACTIVITY),
        jira_line(at("10:20:00"), "u2", ACTIVITY),
        jira_line(at("10:10:00"), "u1", PASSIVE),  # written late: extends u1 to 10:25
    ]
    day2 = [jira_line(at("10:00:00", "25/Nov/2015"), "u3", ACTIVITY)]
    first = write_log(tmp_path / "access_log.2015-11-24", lines)
    second = write_log(tmp_path / "access_log.2015-11-25", day2)
    report = run_json(capsys, str(second), str(first), "--inactivity", "15m")  # files in the wrong order
    p = report["periods"][0]
    assert (p["peak_seats"], p["peak_at"]) == (2, "2015-11-24T10:20:00+00:00")
    assert report["from"] == "2015-11-24T10:00:00+00:00" and report["to"] == "2015-11-25T10:00:00+00:00"
    assert p["seats_taken"] == 3


def test_events_later_than_the_reorder_window_are_moved_forward(tmp_path, capsys, monkeypatch):
    # Drain after every event: the window (300 s) is then all that protects the order.
    monkeypatch.setattr(analysis_module, "DEFAULT_BATCH", 1)
    log = write_log(
        tmp_path / "access_log",
        [
            jira_line(at("10:00:00"), "u1", ACTIVITY),
            jira_line(at("10:20:00"), "u2", ACTIVITY),  # window edge moves to 10:15
            jira_line(at("10:05:00"), "u3", ACTIVITY),  # 15 min late: counted from 10:15
        ],
    )
    report = run_json(capsys, str(log), "--inactivity", "15m")
    p = report["periods"][0]
    assert report["lines"]["late_events"] == 1
    # u1 10:00-10:15, u3 10:15-10:30, u2 10:20-10:35.
    assert (p["peak_seats"], p["peak_at"]) == (2, "2015-11-24T10:20:00+00:00")


def test_a_user_with_only_passive_requests_never_holds_a_seat(tmp_path, capsys):
    log = write_log(tmp_path / "a", [jira_line(at(f"10:{m:02d}:00"), "p", PASSIVE) for m in range(0, 60, 5)])
    report = run_json(capsys, str(log), "--inactivity", "15m")
    assert report["periods"][0]["peak_seats"] == 0 and report["periods"][0]["peak_at"] is None
    assert report["users"]["active"] == 0


def test_terminal_summary_is_the_default(basic_log, capsys):
    from seatgate.cli import main

    assert main(["report", str(basic_log), "--inactivity", "15m"]) == 0
    out = capsys.readouterr().out
    assert "15m" in out and "2015-11-24T08:20:00+00:00" in out and "tier" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/nonexistent/access_log"], "no such file"),
        (["{log}", "--inactivity", "0"], "--inactivity"),
        (["{log}", "--inactivity", "soon"], "--inactivity"),
        (["{log}", "--rules", "/nonexistent/rules.toml"], "--rules"),
        (["{log}", "--format", "nginx"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(basic_log, capsys, argv, message):
    from seatgate.cli import main

    argv = [a.replace("{log}", str(basic_log)) for a in argv]
    try:
        code = main(["report", *argv])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and "\n" not in err


def test_undetectable_format_is_exit_2(tmp_path, capsys):
    from seatgate.cli import main

    log = write_log(tmp_path / "x.log", ["hello", "world"])
    assert main(["report", str(log)]) == 2
    assert "no known access-log format" in capsys.readouterr().err
