"""The first Quickstart command works on a fresh clone, as a newcomer would type it.

The repository is cloned at HEAD into a temporary folder (what is committed, nothing
else), and the first command of README.md's Quickstart is read from the README (not
copied here) and run there by bash, with only a Python ≥ 3.11 on PATH first: it must
create its own .venv, install, and bring the demo up. Then an unlicensed demo user logs
in through the printed URL with the simulator's login form, the simulator's introspection
confirms the request reached it licensed, and the demo is stopped by a signal to its
process group, with a deadline. The first run hides redis-server (the fakeredis fallback);
the second run, in the same clone, shows it and must not install again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.docs.commands import first_command
from tests.helpers import REPO

pytestmark = pytest.mark.slow

# The fresh .venv's pip install is the slow part (a local package mirror makes it minutes).
START_DEADLINE = 480
STOP_DEADLINE = 30


def base_python() -> Path:
    """The interpreter under the test's venv, as a machine with only Python would have it."""
    for candidate in (Path(sys.base_prefix) / "bin" / "python3", Path(shutil.which("python3", path=os.defpath) or "")):
        if candidate.is_file():
            version = subprocess.run(
                [str(candidate), "-c", "import sys; print(sys.version_info >= (3, 11))"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
            if version == "True":
                return candidate
    pytest.fail("no Python >= 3.11 outside the test's venv")


def path_without(tmp: Path, hidden: set[str]) -> str:
    """A PATH with python3 first and every other program of the current PATH, except ``hidden``."""
    shadow = tmp / "bin"
    shadow.mkdir(parents=True, exist_ok=True)
    (shadow / "python3").symlink_to(base_python())
    venv_bin = str(Path(sys.executable).parent)
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not directory or directory == venv_bin or not Path(directory).is_dir():
            continue
        for program in Path(directory).iterdir():
            target = shadow / program.name
            if program.name in hidden or target.exists() or target.is_symlink():
                continue
            if program.is_file() and os.access(program, os.X_OK):
                target.symlink_to(program)
    return str(shadow)


def newcomer_env(path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    return {**env, "PATH": path, "PYTHONUNBUFFERED": "1"}


def wait_for_output(proc: subprocess.Popen, log: Path, pattern: str, deadline: float) -> str:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        out = log.read_text(errors="replace")
        if re.search(pattern, out):
            return out
        if proc.poll() is not None:
            pytest.fail(f"the Quickstart command exited with {proc.returncode} before {pattern!r}:\n{out[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"no {pattern!r} within {deadline}s:\n{log.read_text(errors='replace')[-4000:]}")


def stop_group(proc: subprocess.Popen) -> int:
    """SIGTERM to the command's process group; SIGKILL if it is not gone by the deadline."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return proc.wait(5)
    try:
        return proc.wait(STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        pytest.fail(f"the demo did not stop within {STOP_DEADLINE}s of SIGTERM")


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def login_through(url: str, user: str) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = urllib.parse.urlencode(
        {"os_username": user, "os_password": user, "os_destination": "/secure/Dashboard.jspa"}
    ).encode()
    with opener.open(urllib.request.Request(url.rstrip("/") + "/login.jsp", data=form), timeout=30) as page:
        assert page.status == 200 and page.headers["X-AUSERNAME"] == user


def simulator_state(out: str) -> dict:
    base = re.search(r"Simulator\s+(http://127\.0\.0\.1:\d+)/__sim/state", out).group(1)
    with urllib.request.urlopen(f"{base}/__sim/state", timeout=20) as answer:
        return json.loads(answer.read())


def run_quickstart(clone: Path, command: str, env: dict[str, str], log: Path, user: str) -> str:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        text = wait_for_output(proc, log, r"Press Ctrl-C to stop", START_DEADLINE)
        url = re.search(r"Open\s+(http://\S+)", text).group(1)
        before = simulator_state(text)
        assert user not in before["members"], "the demo user must start unlicensed"
        login_through(url, user)
        state = simulator_state(text)
        assert user in state["members"]
        logins = [r for r in state["requests"] if r.get("user") == user and r["path"].endswith("/login.jsp")]
        assert logins and logins[-1]["licensed"], logins  # licensed when it reached Jira: no second try
    finally:
        code = stop_group(proc)
    assert code == 0, log.read_text(errors="replace")[-3000:]
    proxy_port = int(re.search(r"Open\s+http://127\.0\.0\.1:(\d+)/", text).group(1))
    end = time.monotonic() + STOP_DEADLINE
    while listening(proxy_port) and time.monotonic() < end:
        time.sleep(0.2)
    assert not listening(proxy_port), "the proxy outlived the demo"
    return text


def test_first_quickstart_command_on_a_fresh_clone(tmp_path: Path) -> None:
    command = first_command(REPO / "README.md", "Quickstart")
    clone = tmp_path / "seatgate"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists()

    hidden = {"redis-server", "redis-cli", "redis-sentinel", "redis-check-aof", "redis-check-rdb", "redis-benchmark"}
    no_redis = newcomer_env(path_without(tmp_path / "without", hidden))
    assert shutil.which("redis-server", path=no_redis["PATH"]) is None
    out = run_quickstart(clone, command, no_redis, tmp_path / "first.log", "alice")
    assert "fakeredis" in out.split("Redis:")[1]

    stamp = clone / ".venv" / ".seatgate-demo-installed"
    installed_at = stamp.stat().st_mtime
    with_redis = newcomer_env(path_without(tmp_path / "with", set()))
    assert shutil.which("redis-server", path=with_redis["PATH"]) is not None
    out = run_quickstart(clone, command, with_redis, tmp_path / "second.log", "bob")
    assert "redis-server" in out.split("Redis:")[1]
    assert stamp.stat().st_mtime == installed_at, "the second start installed again"


def test_too_old_a_python_gets_one_clear_line(tmp_path: Path) -> None:
    clone = tmp_path / "seatgate"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.9.2' && exit 0\nexit 1\n")
    old.chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", first_command(REPO / "README.md", "Quickstart")],
        cwd=clone,
        env={**os.environ, "PYTHON": str(old)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"scripts/demo.sh: needs Python >= 3.11 as {old} (found: Python 3.9.2); "
        "set PYTHON=/path/to/python3.11 or newer\n"
    )
    assert not (clone / ".venv").exists()
