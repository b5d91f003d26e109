"""`seatgate demo` runs on a machine with and without redis-server, and a login works at once.

The fresh-clone Quickstart (scripts/demo.sh on a new clone) is tests/packaging/test_quickstart.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.helpers import Process, free_port, seatgate_cmd, wait_for_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("with_redis_server", [True, False], ids=["redis-server", "fakeredis"])
def test_demo_login_works_at_first_try(tmp_path, with_redis_server):
    ports = [free_port() for _ in range(4)]
    env = {}
    if not with_redis_server:
        # A PATH with the Python interpreter but no redis-server.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        os.symlink(sys.executable, bin_dir / "python3")
        env["PATH"] = str(bin_dir)
        assert shutil.which("redis-server", path=env["PATH"]) is None
    args = seatgate_cmd(
        "demo",
        "--port",
        str(ports[0]),
        "--upstream-port",
        str(ports[1]),
        "--admin-port",
        str(ports[2]),
        "--metrics-port",
        str(ports[3]),
        "--duration",
        "60",
    )
    demo = Process(args, tmp_path / "demo.log", env=env)
    try:
        wait_for_port(ports[0], 60, demo.proc)
        deadline = time.monotonic() + 30
        while "Press Ctrl-C" not in demo.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        out = demo.output()
        assert ("redis-server" if with_redis_server else "fakeredis") in out.split("Redis:")[1]
        url = re.search(r"Open\s+(http://\S+)", out).group(1)
        assert url == f"http://127.0.0.1:{ports[0]}/"
        admin = re.search(r"Admin page\s+(http://\S+)\s+\(log in with the admin token (\S+)\)", out)
        assert admin.group(1) == f"http://127.0.0.1:{ports[2]}/admin", out
        assert f"http://127.0.0.1:{ports[3]}/metrics" in out and f"http://127.0.0.1:{ports[2]}/metrics" in out
        status_command = re.search(r"Seats and idle times:\s+(.+)", out).group(1).split()
        assert status_command[-2] == "--config" and Path(status_command[0]).exists(), status_command
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = urllib.parse.urlencode(
            {"os_username": "alice", "os_password": "alice", "os_destination": "/secure/Dashboard.jspa"}
        ).encode()
        with opener.open(urllib.request.Request(url.rstrip("/") + "/login.jsp", data=form), timeout=20) as page:
            assert page.status == 200
            assert page.headers["X-AUSERNAME"] == "alice", out
            assert "dashboard" in page.read().decode()
        # The watch command as printed works, and so does the admin token on the admin API.
        status = subprocess.run(status_command, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and "alice" in status.stdout, (status.stdout, status.stderr)
        api = urllib.request.Request(
            f"http://127.0.0.1:{ports[2]}/api/v1/status", headers={"Authorization": f"Bearer {admin.group(2)}"}
        )
        with urllib.request.urlopen(api, timeout=20) as answer:
            assert answer.status == 200
    finally:
        demo.stop(15)


def test_taken_default_ports_are_replaced_and_named(monkeypatch, capsys):
    import socket

    from seatgate_simulator import demo

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        free = free_port()
        monkeypatch.setattr(demo, "PORTS", {"port": (busy, "proxy"), "upstream_port": (free, "simulator")})
        chosen, notes = demo.choose_ports(argparse.Namespace(port=None, upstream_port=None))
        assert chosen["upstream_port"] == free and chosen["port"] not in (busy, free)
        assert notes == [f"proxy port {busy} is taken: using {chosen['port']}"]
        # A port asked for on the command line is not replaced: it is refused.
        with pytest.raises(SystemExit) as refused:
            demo.choose_ports(argparse.Namespace(port=busy, upstream_port=None))
        assert refused.value.code == 2
        assert (
            capsys.readouterr().err == f"seatgate demo: proxy port {busy} (--port) is already in use; choose another\n"
        )


def test_help_lists_the_port_options():
    out = subprocess.run(seatgate_cmd("demo", "--help"), capture_output=True, text=True, timeout=60).stdout
    for option, default in (
        ("--port", 8480),
        ("--upstream-port", 8490),
        ("--admin-port", 8491),
        ("--metrics-port", 8492),
    ):
        assert re.search(rf"{option} PORT\s.*?\(default {default}", out, re.S), out
