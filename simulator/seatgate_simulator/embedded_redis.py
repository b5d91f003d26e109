"""A private Redis for ``seatgate demo``: a ``redis-server`` child when one is on PATH,
otherwise fakeredis's TCP server in a thread (enough for a demo, not for production)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any


class EmbeddedRedis:
    def __init__(self, port: int):
        self.port = port
        self.kind = ""
        self._proc: subprocess.Popen | None = None
        self._server: Any = None  # fakeredis's TcpFakeServer, when that stands in
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, log_dir: Path) -> str:
        binary = shutil.which("redis-server")
        if binary:
            self._dir = tempfile.TemporaryDirectory(prefix="seatgate-redis-")
            self._proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    self._dir.name,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--logfile",
                    str(log_dir / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            self.kind = f"redis-server ({binary})"
        else:
            from fakeredis import TcpFakeServer

            self._server = TcpFakeServer(("127.0.0.1", self.port), server_type="redis")
            threading.Thread(target=self._server.serve_forever, daemon=True, name="fakeredis").start()
            self.kind = "fakeredis TCP server (no redis-server on PATH)"
        return self.kind

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._dir is not None:
            self._dir.cleanup()
