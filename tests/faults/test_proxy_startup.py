"""A proxy whose start fails says why in one line, exits 2, and never accepts a connection.

Each case starts a real ``seatgate proxy`` process. While it starts, a prober connects to
its listen port again and again: a connection must be refused outright, never accepted and
then dropped (which is what happened when mitmproxy opened its listeners before the addons
had started). Logging is at ``warning`` so that the one line on stderr is the verdict.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time

import pytest

from tests.e2e.stack import render_config
from tests.helpers import free_port, seatgate_cmd

pytestmark = pytest.mark.slow

SECRET = "0123456789abcdef0123456789abcdef"


class Prober(threading.Thread):
    """Connects to 127.0.0.1:port every few ms until stopped; counts what happened."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.refused = 0
        self.accepted = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            with contextlib.closing(socket.socket()) as sock:
                sock.settimeout(2)
                try:
                    sock.connect(("127.0.0.1", self.port))
                except ConnectionRefusedError:
                    self.refused += 1
                except OSError:
                    pass
                else:
                    self.accepted += 1
            time.sleep(0.003)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def config(tmp_path, redis_url: str, listen: int, metrics: int, **top) -> str:
    settings = {
        "redis_url": redis_url,
        "secret": SECRET,
        "log_level": "warning",
        "proxy": {"listen": f"127.0.0.1:{listen}", "metrics_listen": f"127.0.0.1:{metrics}"},
        "products": [
            {
                "name": "jira",
                "kind": "jira",
                "upstream": "http://127.0.0.1:9",
                "license_group": "jira-software-users",
            }
        ],
    }
    settings.update(top)
    path = tmp_path / "proxy.toml"
    path.write_text(render_config(settings))
    return str(path)


def start_and_probe(path: str, listen: int, probe: bool) -> tuple[subprocess.CompletedProcess, Prober | None]:
    prober = Prober(listen) if probe else None
    if prober:
        prober.start()
    try:
        result = subprocess.run(seatgate_cmd("proxy", "--config", path), capture_output=True, text=True, timeout=60)
    finally:
        if prober:
            prober.stop()
    return result, prober


@contextlib.contextmanager
def taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock
    finally:
        sock.close()


def assert_one_line(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == f"seatgate proxy: start-up failed: {expected}", lines[0]


def test_taken_metrics_port(tmp_path, redis_url):
    listen = free_port()
    with taken_port() as taken:
        metrics = taken.getsockname()[1]
        result, prober = start_and_probe(config(tmp_path, redis_url, listen, metrics), listen, probe=True)
    assert_one_line(result, f"proxy.metrics_listen 127.0.0.1:{metrics}: address already in use")
    assert prober.accepted == 0 and prober.refused > 0, (prober.accepted, prober.refused)


def test_taken_listen_port(tmp_path, redis_url):
    with taken_port() as taken:
        listen = taken.getsockname()[1]
        metrics = free_port()
        result, _ = start_and_probe(config(tmp_path, redis_url, listen, metrics), listen, probe=False)
    assert_one_line(result, f"proxy.listen 127.0.0.1:{listen}: address already in use")
    # Nor was the metrics listener left open by the failed start (the process has exited).
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", metrics), timeout=2):
        pass


def test_unreadable_settings_file(tmp_path, redis_url):
    """The proxy reads no rules file (rules live in Redis): its start-up file is the settings file."""
    listen = free_port()
    path = tmp_path / "settings-dir.toml"
    path.mkdir()  # unreadable whoever runs the test (root reads a chmod 000 file)
    result, prober = start_and_probe(str(path), listen, probe=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"seatgate proxy: configuration error: --config: {path}: cannot read (Is a directory)"
    ]
    assert prober.accepted == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "secret_file: cannot read: Is a directory"),
        (b"short\n", "secret_file: must be at least 16 bytes long (32 random bytes are best)"),
    ],
    ids=["unreadable", "too-short"],
)
def test_bad_secret_file(tmp_path, redis_url, content, expected):
    listen = free_port()
    secret = tmp_path / "secret"
    if content is None:
        secret.mkdir()
    else:
        secret.write_bytes(content)
    path = config(tmp_path, redis_url, listen, free_port(), secret_file=str(secret))
    # secret_file wins over secret: drop the inline one so that only the file counts.
    text = (tmp_path / "proxy.toml").read_text().replace(f'secret = "{SECRET}"\n', "")
    (tmp_path / "proxy.toml").write_text(text)
    result, prober = start_and_probe(path, listen, probe=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"seatgate proxy: configuration error: {expected}"]
    assert prober.accepted == 0


def test_a_good_start_still_serves(tmp_path, redis_url):
    """The reordered start still opens the listeners (and the metrics) once everything has started."""
    listen, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        seatgate_cmd("proxy", "--config", config(tmp_path, redis_url, listen, metrics)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=2).close()
                socket.create_connection(("127.0.0.1", metrics), timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the proxy did not start listening"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
