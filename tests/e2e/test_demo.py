"""`seatgate demo` runs on a machine with and without redis-server, and a login works at once."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.helpers import Process, free_port, seatgate_cmd, wait_for_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("with_redis_server", [True, False], ids=["redis-server", "fakeredis"])
def test_demo_login_works_at_first_try(tmp_path, with_redis_server):
    ports = [free_port() for _ in range(3)]
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
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = urllib.parse.urlencode(
            {"os_username": "alice", "os_password": "alice", "os_destination": "/secure/Dashboard.jspa"}
        ).encode()
        with opener.open(urllib.request.Request(url.rstrip("/") + "/login.jsp", data=form), timeout=20) as page:
            assert page.status == 200
            assert page.headers["X-AUSERNAME"] == "alice", out
            assert "dashboard" in page.read().decode()
    finally:
        demo.stop(15)
