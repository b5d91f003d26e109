"""``seatgate simulate`` as a real process."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.helpers import free_port, running, seatgate_cmd


def http(port: int, method: str, path: str, user: str | None = None, body: dict | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=json.dumps(body).encode() if body is not None else None
    )
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if user:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{user}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_simulate_process(tmp_path) -> None:
    port = free_port()
    args = seatgate_cmd("simulate", "--product", "jira", "--port", str(port))
    log = tmp_path / "simulate.log"
    with running(args, log, port=port) as proc:
        status, _, body = http(port, "GET", "/login.jsp")
        assert status == 200 and b'id="login-form-username"' in body

        status, headers, _ = http(port, "GET", "/rest/api/2/myself", user="alice")
        assert status == 401 and headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"

        status, _, _ = http(
            port, "POST", "/rest/api/2/group/user?groupname=jira-software-users", user="admin", body={"name": "alice"}
        )
        assert status == 201

        status, headers, _ = http(port, "GET", "/rest/api/2/myself", user="alice")
        assert status == 200 and headers["X-AUSERNAME"] == "alice"
        assert headers["X-Seraph-LoginReason"] == "OK"
        assert proc.stop() == 0  # SIGTERM → clean exit
    first_line = log.read_text().splitlines()[0]
    assert first_line == f"simulator: jira on http://127.0.0.1:{port} (license group jira-software-users)"


@pytest.mark.parametrize(
    "extra",
    [
        ["--product", "bamboo"],
        ["--product", "jira", "--fail-rate", "2"],
        ["--product", "jira", "--seats", "-1"],
        ["--product", "jira", "--port", "70000"],
        ["--product", "confluence", "--poll-interval", "0"],
        ["--product", "jira", "--access-log", "/nonexistent-dir/x.log"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(extra: list[str]) -> None:
    result = subprocess.run(seatgate_cmd("simulate", *extra), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
