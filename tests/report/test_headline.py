"""What the report claims up front: a lower bound, savings in tiers, gaps as "no data"."""

from __future__ import annotations

from seatgate.cli import main
from seatgate.report.figures import tier_saving
from seatgate.report.tiers import tier_for, tier_index
from tests.report.conftest import ACTIVITY, BACKGROUND, jira_line, run_json, write_log


def two_days_apart(tmp_path):
    day1 = [jira_line(f"24/Nov/2015:08:{m:02d}:00 +0000", "alice", ACTIVITY) for m in range(0, 30, 5)]
    day1.append(jira_line("24/Nov/2015:09:00:00 +0000", "bob", ACTIVITY))
    day3 = [jira_line(f"26/Nov/2015:10:{m:02d}:00 +0000", "carol", BACKGROUND) for m in range(3)]
    day3.append(jira_line("26/Nov/2015:10:05:00 +0000", "carol", ACTIVITY))
    return [write_log(tmp_path / "access_log.1", day1), write_log(tmp_path / "access_log.2", day3)]


def test_tiers():
    assert [tier_for(n) for n in (0, 500, 501, 1000, 1001, 10_000, 10_001, 50_000, 50_001)] == [
        "500", "500", "1000", "1000", "2000", "10000", "15000", "50000", "50000+",
    ]  # fmt: skip
    assert tier_index(50_001) - tier_index(400) == 19


def test_saving_is_counted_in_tiers_and_headroom_is_not_a_saving():
    assert tier_saving(1900, 1200) == {
        "tiers_saved": 0,
        "saving": "nothing saved at the tier level (tier 2000 either way)",
        "headroom_seats": 700,
    }
    assert tier_saving(1900, 450)["saving"] == "tier 2000 → tier 500 (2 tiers lower)"
    assert tier_saving(10, 30)["headroom_seats"] == 0


def test_registered_from_the_logs_is_a_lower_bound(tmp_path, capsys):
    logs = [str(p) for p in two_days_apart(tmp_path)]
    users = run_json(capsys, *logs)["users"]
    assert (users["registered"], users["registered_from"], users["registered_is_lower_bound"]) == (3, "logs", True)
    assert "lower bound" in users["registered_note"] and "--registered N" in users["registered_note"]
    assert main(["report", *logs]) == 0
    terminal = capsys.readouterr().out
    assert "registered users: 3 → tier 500 (a lower bound" in terminal
    assert "nothing saved at the tier level (tier 500 either way)" in terminal
    out = tmp_path / "r.html"
    assert main(["report", *logs, "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Registered users (at least)" in html and "--registered N" in html
    assert "p95/p99: in 95% (99%) of the minutes with log data" in html


def test_a_missing_day_is_no_data_not_zero_seats(tmp_path, capsys):
    logs = [str(p) for p in two_days_apart(tmp_path)]
    report = run_json(capsys, *logs, "--inactivity", "15m")
    assert report["days_covered"] == ["2015-11-24", "2015-11-26"]
    assert report["no_data"] == [
        {"from": "2015-11-24T09:00:00+00:00", "to": "2015-11-26T10:00:00+00:00", "hours": 49.0}
    ]
    (p,) = report["periods"]
    assert [d["date"] for d in p["peak_by_day"]] == ["2015-11-24", "2015-11-26"]  # the 25th is not a zero
    series = p["series"]["max_seats"]
    # About two days of points (three minutes each) are None, not a line along zero.
    assert series.count(None) > 900 and series[0] == 1 and series[-1] == 1
    assert main(["report", *logs, "--inactivity", "15m"]) == 0
    terminal = capsys.readouterr().out
    assert "days covered: 2015-11-24, 2015-11-26 (2 days with log lines)" in terminal
    assert "no data: 2015-11-24T09:00:00+00:00 → 2015-11-26T10:00:00+00:00 (49 h without a log line)" in terminal
    assert "p95/p99:" in terminal


def test_service_accounts_none_found(tmp_path, capsys):
    logs = [str(p) for p in two_days_apart(tmp_path)]
    assert main(["report", *logs]) == 0
    assert "accounts that look 24/7 (consider --exclude-users):\n    none found" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main(["report", *logs, "--out", str(out)]) == 0
    assert "<h2>Accounts that look 24/7</h2>" in out.read_text(encoding="utf-8")
    assert "None found." in out.read_text(encoding="utf-8")
