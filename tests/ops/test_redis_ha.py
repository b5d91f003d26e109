"""seatgate on Redis Cluster (``redis+cluster://``) and behind Sentinel (``redis+sentinel://``).

The core-loop scenarios of tests/e2e run unchanged against Stacks whose every process
talks to a three-master cluster: anything that assumes a single server (keys of one
script or transaction in different slots, PUBLISH in a pipeline, pub/sub before the slot
map is known, stream consumer groups) fails here.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import WatchError

from seatgate import redis_conn
from tests.e2e import test_core_loop as core
from tests.faults import test_worker_takeover as takeover
from tests.helpers import Process, free_port, wait_for_port

pytestmark = pytest.mark.slow


def _cli(*args: str, timeout: float = 10) -> str:
    return subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=timeout, check=True).stdout


def _redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None or shutil.which("redis-cli") is None:
        pytest.fail("redis-server/redis-cli are not installed: run scripts/test.sh, which installs them")
    return binary


def _wait(predicate, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {deadline}s")


class RedisCluster:
    """Three masters, no replicas, on free 127.0.0.1 ports, each in its own directory."""

    def __init__(self, tmp: Path, masters: int = 3):
        binary = _redis_server()
        self.ports = [free_port() for _ in range(masters)]
        self.processes: list[Process] = []
        try:
            for port in self.ports:
                node = tmp / f"node-{port}"
                node.mkdir()
                # The cluster bus gets its own free port (default: port + 10000, which may be taken).
                self.processes.append(
                    Process(
                        [
                            binary,
                            "--port",
                            str(port),
                            "--cluster-port",
                            str(free_port()),
                            "--bind",
                            "127.0.0.1",
                            "--dir",
                            str(node),
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            f"nodes-{port}.conf",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--protected-mode",
                            "no",
                        ],
                        node / "redis.log",
                    )
                )
            for port, proc in zip(self.ports, self.processes, strict=True):
                wait_for_port(port, 10, proc.proc)
            _cli("--cluster", "create", *self.nodes, "--cluster-replicas", "0", "--cluster-yes", timeout=30)
            # Every node must agree, or a client could be sent to one that has not seen the slots yet.
            _wait(
                lambda: all("cluster_state:ok" in _cli("-p", str(p), "CLUSTER", "INFO") for p in self.ports),
                20,
                "cluster_state did not become ok",
            )
        except BaseException:
            self.stop()
            raise

    @property
    def nodes(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(self.nodes)

    def flush(self) -> None:
        for port in self.ports:
            _cli("-p", str(port), "FLUSHALL")

    def stop(self) -> None:
        for proc in self.processes:
            proc.stop()


class RedisSentinel:
    """One master and one Sentinel watching it under the name ``seatgate``."""

    def __init__(self, tmp: Path):
        binary = _redis_server()
        self.port, self.sentinel_port = free_port(), free_port()
        self.processes: list[Process] = []
        try:
            self.processes.append(
                Process(
                    [
                        binary,
                        "--port",
                        str(self.port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(tmp),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    tmp / "master.log",
                )
            )
            wait_for_port(self.port, 10, self.processes[0].proc)
            # Sentinel rewrites its configuration file, so it gets one of its own.
            conf = tmp / "sentinel.conf"
            conf.write_text(
                f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {tmp}\n"
                f"sentinel monitor seatgate 127.0.0.1 {self.port} 1\n"
            )
            self.processes.append(Process([binary, str(conf), "--sentinel"], tmp / "sentinel.log"))
            wait_for_port(self.sentinel_port, 10, self.processes[1].proc)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/seatgate/0"

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


async def next_message(pubsub, deadline: float) -> str | None:
    """The next published message, skipping subscribe confirmations (get_message answers None for those)."""
    end = time.monotonic() + deadline
    while (left := end - time.monotonic()) > 0:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
        if message is not None:
            return message["data"]
    return None


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def make_stack(stacks, redis_cluster):
    """What the e2e scenarios expect, bound to the cluster, emptied for each test."""
    redis_cluster.flush()

    def make(**kwargs):
        return stacks(redis_cluster.url, **kwargs)

    return make


async def test_cluster_pipeline_accepts_publish(redis_cluster):
    """PUBLISH queued in a (transactional) pipeline is delivered, in its place, and never
    after a transaction that WATCH aborted."""
    redis_cluster.flush()
    client = redis_conn.connect(redis_cluster.url)
    other = redis_conn.connect(redis_cluster.url)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe("sg:{t}:events")  # before any other command: the slot map is loaded on demand
        pipe = client.pipeline(transaction=True)
        pipe.set("sg:{t}:a", "1")
        pipe.publish("sg:{t}:events", "one")
        pipe.get("sg:{t}:a")
        assert await pipe.execute() == [True, 1, "1"]
        assert await next_message(pubsub, 5) == "one"

        async with client.pipeline(transaction=True) as pipe:
            await pipe.watch("sg:{t}:a")
            await other.set("sg:{t}:a", "2")  # someone else writes: the transaction must abort
            pipe.multi()
            pipe.set("sg:{t}:a", "3")
            pipe.publish("sg:{t}:events", "two")
            with pytest.raises(WatchError):
                await pipe.execute()
        assert await next_message(pubsub, 0.5) is None
        assert await client.get("sg:{t}:a") == "2"
    finally:
        await pubsub.aclose()
        await asyncio.gather(client.aclose(), other.aclose())


def test_product_keys_share_one_slot(redis_cluster):
    """Per-product keys share a hash tag: one slot, so scripts and transactions can touch them together."""
    from seatgate.schema import GlobalKeys, ProductKeys

    keys = ProductKeys("jira")
    product_keys = (
        keys.licensed,
        keys.granting,
        keys.revoking,
        keys.cap,
        keys.queue,
        keys.activity,
        keys.grants,
        keys.audit,
        keys.inflight("alice"),
        keys.identity("d1"),
        keys.alive("host-1-abc"),
    )
    global_keys = (GlobalKeys.rules, GlobalKeys.rules_history, GlobalKeys.rules_audit, GlobalKeys.sweeper_lease)
    for group in (product_keys, global_keys):
        slots = {_cli("-p", str(redis_cluster.ports[0]), "CLUSTER", "KEYSLOT", key).strip() for key in group}
        assert len(slots) == 1, group


async def test_doctor_checks_every_cluster_master(redis_cluster):
    from grant_worker.doctor import OK, WARN, Doctor
    from seatgate.settings import load_settings

    doctor = Doctor(load_settings(None, {"redis_url": redis_cluster.url}))
    await doctor.check_redis()
    statuses = [(f.check, f.status) for f in doctor.findings]
    assert statuses[0] == ("redis", OK) and statuses[-1] == ("redis-clock", OK)
    # The cluster's masters run without persistence: each one is named.
    persistence = [f for f in doctor.findings if f.check == "redis-persistence"]
    assert [f.status for f in persistence] == [WARN] * 3
    for node in redis_cluster.nodes:
        assert sum(f"on {node}:" in f.finding for f in persistence) == 1, node


async def test_unlicensed_login_on_cluster(make_stack):
    await core.test_unlicensed_login_works_at_first_try(make_stack)


async def test_background_only_user_revoked_on_cluster(make_stack):
    await core.test_background_polling_does_not_keep_a_seat(make_stack)


async def test_concurrent_first_requests_one_directory_add_on_cluster(make_stack):
    await core.test_concurrent_first_requests_cause_one_directory_add(make_stack)


async def test_two_proxies_two_workers_on_cluster_make_one_directory_add(make_stack):
    """Scale-out: a user's first requests arrive at both proxies at once, both workers consume
    grants; the user is added to the group once and every request is let through."""
    import aiohttp

    stack = make_stack().start(workers=2, proxies=2)
    auth = {"Authorization": aiohttp.encode_basic_auth("erin", "erin")}
    async with core.session() as client:

        async def one(port: int) -> int:
            async with client.get(f"http://127.0.0.1:{port}/rest/api/2/myself", headers=auth) as response:
                return response.status

        statuses = await asyncio.gather(*(one(port) for port in stack.proxy_ports * 6))
    assert statuses == [200] * 12, stack.logs()
    adds = [c for c in stack.sim_state(requests=False)["directory_calls"] if c["op"] == "add" and c["user"] == "erin"]
    assert len(adds) == 1, adds


async def test_worker_killed_mid_add_is_taken_over_on_cluster(make_stack, redis_cluster, tmp_path):
    """The heartbeat check and the claim run as one script: the keys must share the stream's slot."""
    client = redis_conn.connect(redis_cluster.url)
    try:
        await takeover.test_worker_killed_at_each_step_is_taken_over(
            make_stack, client, tmp_path, "during_add", 1.0, 0.5
        )
    finally:
        await client.aclose()


async def test_unlicensed_login_behind_sentinel(stacks, tmp_path):
    sentinel_dir = tmp_path / "sentinel"
    sentinel_dir.mkdir()
    sentinel = RedisSentinel(sentinel_dir)
    try:
        await core.test_unlicensed_login_works_at_first_try(lambda **kwargs: stacks(sentinel.url, **kwargs))
    finally:
        sentinel.stop()
