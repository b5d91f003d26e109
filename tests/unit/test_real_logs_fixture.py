"""Tests on the real logs skip with a reason when the logs are missing, and fail under CI."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import REPO

TARGET = "tests/report/test_real_logs.py"


def run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", TARGET],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**{k: v for k, v in os.environ.items() if k != "CI"}, **env},
        timeout=300,
    )


def test_missing_logs_skip_with_the_reason_and_fail_under_ci(tmp_path) -> None:
    missing = str(tmp_path / "no-logs-here")
    skipped = run({"SEATGATE_REAL_LOGS": missing})
    assert skipped.returncode == 0, skipped.stdout
    assert f"the real Jira access logs are not at {missing} (set SEATGATE_REAL_LOGS" in skipped.stdout
    assert "2 skipped" in skipped.stdout
    failed = run({"SEATGATE_REAL_LOGS": missing, "CI": "true"})
    assert failed.returncode != 0 and "CI=true: the real Jira access logs are not at" in failed.stdout, failed.stdout
