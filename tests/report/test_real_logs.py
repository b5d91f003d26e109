"""The report on the three days of real Jira access logs (sebkouba/jala, Nov 2015).

The peak figures are regression values from this implementation; the same logs are also
checked against the naive reference in tests/report/test_differential.py.
"""

from __future__ import annotations

from tests.report.conftest import period, run_json


def test_real_logs(capsys, real_logs):
    files = sorted(str(p) for p in real_logs.glob("access_log.2015-11-*"))
    report = run_json(capsys, *files)
    assert report["lines"]["read"] == report["lines"]["parsed"] == 22_441
    assert report["lines"]["unparseable"] == 0
    assert set(report["formats"].values()) == {"jira"}
    assert [p["inactivity_seconds"] for p in report["periods"]] == [900, 1800, 3600]
    assert [p["peak_seats"] for p in report["periods"]] == [5, 5, 5]
    assert period(report, 900)["peak_at"].startswith("2015-11-12T12:")
    assert report["requests"]["background_share"] > 0.1
    assert report["users"]["active"] == report["periods"][0]["active_users"] > 0


def test_checked_by_command(capsys, real_logs):
    files = sorted(str(p) for p in real_logs.glob("access_log.2015-11-2*"))
    report = run_json(capsys, *files, "--inactivity", "30m")
    (p,) = report["periods"]
    # Three seats at once on the 25th: before seats ran until the end of each user's
    # session, the report released them early and showed two.
    assert (p["inactivity_seconds"], p["peak_seats"], p["active_users"]) == (1800, 3, 3)
    assert p["peak_at"] == "2015-11-25T09:38:46+00:00"
