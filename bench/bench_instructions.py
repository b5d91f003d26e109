"""CPU instructions per proxied request, counted by callgrind: a figure the machine's load cannot blur.

Throughput on a shared machine moves by tens of percent from one minute to the next;
the number of instructions a proxy executes per request does not. Each variant runs
under ``valgrind --tool=callgrind``; after a warm-up the counters are zeroed, a fixed
number of keep-alive requests is sent one after the other, and the counters are dumped.

Variants, each in front of the same trivial upstream:
  mitmdump      stock ``mitmdump`` in reverse mode, no addon
  lean-bare     ``seatgate proxy --bare``: the lean runner without seatgate's addons
  seatgate      ``seatgate proxy``: lean runner + seatgate addon, licensed user, real activity

A one-process proxy's capacity is the inverse of its cost per request, so the ratios of
these counts are the capacity ratios of the proxies, free of noise (memory stalls aside).

Usage: python -m bench.bench_instructions [--requests 400] [--variants mitmdump,lean-bare,seatgate]
Needs valgrind and redis-server (apt-get install valgrind redis-server).
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.bench_proxy import AUTH, PATH, start_upstream, variant_command
from bench.common import Procs, free_port, need
from seatgate.netutil import wait_for_port

VARIANTS = ("mitmdump", "lean-bare", "seatgate")


class KeepAliveClient:
    """Sequential HTTP/1.1 requests on one connection: the simplest load that is the same every run."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        auth = "".join(f"{k}: {v}\r\n" for k, v in AUTH.items())
        self.request = f"GET {PATH} HTTP/1.1\r\nHost: jira.example.com\r\n{auth}\r\n".encode()
        self.buffer = b""

    def get(self) -> int:
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        found = re.search(rb"(?i)content-length:\s*(\d+)", head)
        if found is None:
            raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
        length = int(found.group(1))
        while len(self.buffer) < length:
            self._read()
        self.buffer = self.buffer[length:]
        return int(head.split(b" ", 2)[1])

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("proxy closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def total_instructions(dump: Path) -> int:
    match = re.search(r"^(?:summary|totals):\s*(\d+)", dump.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"no instruction total in {dump}")
    return int(match.group(1))


def measure(procs: Procs, work: Path, name: str, cmd: list[str], port: int, requests: int) -> float:
    out = work / f"callgrind.{name}"
    # seatgate proxy restarts itself under python -O (exec): callgrind has to follow it.
    valgrind = [
        need("valgrind", "valgrind"),
        "--tool=callgrind",
        "--collect-atstart=yes",
        "--trace-children=yes",
        f"--callgrind-out-file={out}.%p",
    ]
    proc = procs.start(name, valgrind + cmd)
    wait_for_port(port, 600, proc)
    client = KeepAliveClient(port)
    control = need("callgrind_control", "valgrind")
    try:
        for _ in range(50):  # warm-up: connection, identity cache, code paths
            assert client.get() == 200
        time.sleep(1)  # background flushes of the warm-up land before counting starts
        subprocess.run([control, "-z", str(proc.pid)], check=True, capture_output=True)
        for _ in range(requests):
            status = client.get()
            if status != 200:
                raise SystemExit(f"{name}: HTTP {status}")
        subprocess.run([control, "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        client.close()
        procs.stop(proc)
    dumps = sorted(work.glob(f"callgrind.{name}.{proc.pid}.*"), key=lambda p: p.stat().st_mtime)
    if not dumps:
        raise SystemExit(f"callgrind wrote no dump for {name}")
    return total_instructions(dumps[0]) / requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400, help="requests counted per variant")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    variants = args.variants.split(",")
    work = Path(tempfile.mkdtemp(prefix="seatgate-instr-"))
    procs = Procs(work)
    per_request: dict[str, float] = {}
    try:
        redis_port, upstream = start_upstream(procs)
        for name in variants:
            port = free_port()
            cmd = variant_command(name, work, redis_port, upstream, port)
            per_request[name] = measure(procs, work, name, cmd, port, args.requests)
            print(f"{name:<10} {per_request[name] / 1e3:>9.0f} k instructions per request", flush=True)
    finally:
        procs.stop_all()
    if {"mitmdump", "seatgate"} <= per_request.keys():
        print(
            f"capacity seatgate vs mitmdump: {per_request['mitmdump'] / per_request['seatgate']:.2f}x (target >= 2.0)"
        )
    if {"lean-bare", "seatgate"} <= per_request.keys():
        print(
            f"addon cost vs lean-bare: {100 * (per_request['seatgate'] / per_request['lean-bare'] - 1):.1f} % "
            "more instructions per request (target <= 15 %)"
        )


if __name__ == "__main__":
    main()
