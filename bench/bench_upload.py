"""A large attachment upload through the proxy: the body streams, the proxy's memory stays flat.

Runs the whole stack (redis-server, Jira simulator, worker, proxy) and sends a multipart
upload of ``--mib`` MiB to ``POST /rest/api/2/issue/{key}/attachments`` with Basic
credentials, written to the socket in 256 KiB pieces (the client holds no copy either).
Two cases: the upload is the first request of an unlicensed user (the grant is made in
``requestheaders``, ahead of the streamed body), and the same user uploads again licensed.
The proxy's resident memory (VmRSS from /proc) is sampled every 10 ms; before, peak and
after are printed with the growth, against the target of less than 20 MiB.

    .venv/bin/python -m bench.bench_upload [--mib 100]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import Procs, free_port, seatgate, start_redis, write_stack_config

PIECE = 256 * 1024
TARGET_MIB = 20.0
BOUNDARY = "seatgatebenchboundary"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class RssSampler:
    """Peak VmRSS of a process while a block runs, sampled on a thread."""

    def __init__(self, pid: int, interval: float = 0.01):
        self.pid, self.interval = pid, interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_mib(self.pid))


async def upload(port: int, user: str, key: str, size: int) -> tuple[int, bytes, float]:
    """One multipart upload with a Content-Length; returns status, body and seconds taken."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    credentials = base64.b64encode(f"{user}:{user}".encode()).decode()
    request = (
        f"POST /rest/api/2/issue/{key}/attachments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Basic {credentials}\r\nX-Atlassian-Token: no-check\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(head) + size + len(tail)}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    try:
        writer.write(request + head)
        piece = b"\x00" * PIECE
        for offset in range(0, size, PIECE):
            writer.write(piece[: min(PIECE, size - offset)])
            await asyncio.wait_for(writer.drain(), 60)
        writer.write(tail)
        await asyncio.wait_for(writer.drain(), 60)
        answer = await asyncio.wait_for(reader.read(), 120)
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2], time.perf_counter() - started


def sim_requests(sim: int, user: str) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{sim}/__sim/state", timeout=10) as response:
        state = json.load(response)
    return [r for r in state["requests"] if r["user"] == user and r["path"].endswith("/attachments")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100, help="size of the uploaded file")
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    work = Path(tempfile.mkdtemp(prefix="seatgate-bench-upload-"))
    procs = Procs(work)
    rows = []
    try:
        redis_port = start_redis(procs)
        sim, listen, admin = free_port(), free_port(), free_port()
        procs.start("simulator", seatgate("simulate", "--product", "jira", "--port", str(sim), "--users", "5"), sim)
        config = work / "seatgate.toml"
        write_stack_config(config, redis_port=redis_port, sim=sim, listen=listen, metrics=free_port(), admin=admin)
        procs.start("worker", seatgate("worker", "--config", str(config)), admin)
        proxy = procs.start("proxy", seatgate("proxy", "--config", str(config)), listen)
        time.sleep(1.0)  # let the proxy settle (its heap is frozen shortly after start)
        for case in ("first request of an unlicensed user", "same user, licensed"):
            before = rss_mib(proxy.pid)
            with RssSampler(proxy.pid) as sampler:
                status, body, seconds = asyncio.run(upload(listen, "user0001", "BENCH-1", size))
            time.sleep(0.5)
            after = rss_mib(proxy.pid)
            rows.append((case, status, seconds, before, sampler.peak, after))
            if status != 200:
                print(f"{case}: HTTP {status}: {body[:300]!r}")
        seen = sim_requests(sim, "user0001")
    finally:
        procs.stop_all()
    print(f"\n{args.mib} MiB multipart upload through the proxy (VmRSS of the proxy process, MiB)")
    print(f"{'case':<38} {'status':>6} {'s':>6} {'MiB/s':>7} {'before':>8} {'peak':>8} {'after':>8} {'growth':>7}")
    for case, status, seconds, before, peak, after in rows:
        print(
            f"{case:<38} {status:>6} {seconds:6.2f} {args.mib / seconds:7.1f} "
            f"{before:8.1f} {peak:8.1f} {after:8.1f} {peak - before:7.1f}"
        )
    licensed = [r["licensed"] for r in seen]
    print(f"uploads seen upstream: {len(seen)}, licensed on arrival: {licensed}")
    worst = max(peak - before for _, _, _, before, peak, _ in rows)
    print(f"target: peak growth < {TARGET_MIB:g} MiB: {'met' if worst < TARGET_MIB else 'MISSED'} ({worst:.1f} MiB)")


if __name__ == "__main__":
    main()
