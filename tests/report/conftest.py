"""Helpers for the report tests: write crafted Jira access-log lines, run the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seatgate.cli import main as seatgate_main

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"

# Paths with a known verdict under the built-in rules (checked in test_verdicts.py).
ACTIVITY = "GET /browse/PRJ-1"
PASSIVE = "GET /rest/menu/latest/appswitcher?_=1"
BACKGROUND = "GET /rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=1&etag=5"
STATIC = "GET /s/123/_/download/batch/x.js"


def jira_line(stamp: str, user: str | None, request: str, agent: str = UA) -> str:
    """One line of Jira's default pattern; ``stamp`` like ``24/Nov/2015:08:00:00 +0000``."""
    return (
        f'10.0.0.1 1x1x1 {user or "-"} [{stamp}] "{request} HTTP/1.1" 200 100 5 '
        f'"https://jira.example.com/" "{agent}" "{"-" if user is None else "abc"}"'
    )


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert seatgate_main(["report", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def period(report: dict[str, Any], seconds: float) -> dict[str, Any]:
    return next(p for p in report["periods"] if p["inactivity_seconds"] == seconds)
