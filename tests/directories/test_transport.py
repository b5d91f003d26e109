"""Retries, deadlines, breaker and observer of the shared HTTP plumbing, against a stub."""

from __future__ import annotations

import asyncio
import time

import pytest
import yarl

from grant_worker.directories import BreakerState, CircuitBreaker, CircuitOpen, DirectoryError
from grant_worker.directories.transport import Reply, Transport, backoff_delay, basic_authorization
from seatgate import logs
from tests.helpers import free_port

from .conftest import Recorder, Stub, hang


def make(stub_url: str = "", *, retries: int = 3, timeout: float = 2.0, threshold: int = 100, **kw):
    recorder = Recorder()
    transport = Transport(
        timeout=timeout,
        retries=retries,
        breaker=CircuitBreaker("test", threshold=threshold, cooldown=kw.pop("cooldown", 5.0)),
        observer=recorder,
        log=logs.get("test"),
        backoff_base=0.001,
        backoff_cap=0.01,
        **kw,
    )
    return transport, recorder


def test_backoff_is_full_jitter_capped() -> None:
    assert backoff_delay(0, 0.05, 2.0, rng=lambda: 0.999) == pytest.approx(0.05, rel=0.01)
    assert backoff_delay(3, 0.05, 2.0, rng=lambda: 1.0) == pytest.approx(0.4)
    assert backoff_delay(10, 0.05, 2.0, rng=lambda: 1.0) == 2.0
    assert backoff_delay(10, 0.05, 2.0, rng=lambda: 0.0) == 0.0


async def test_retries_5xx_then_succeeds(stub: Stub) -> None:
    stub.on("GET", "/x", (503, {"e": 1}), (500, "boom"), (200, {"ok": True}))
    transport, recorder = make()
    try:
        reply = await transport.call("members", "GET", yarl.URL(stub.url + "/x"))
    finally:
        await transport.close()
    assert reply == Reply(200, {"ok": True})
    assert recorder.events == [("members", "503"), ("members", "500"), ("members", "ok")]


async def test_4xx_is_an_answer_not_retried(stub: Stub) -> None:
    stub.on("POST", "/x", (400, "User is already a member"))
    transport, recorder = make()
    try:
        reply = await transport.call("add", "POST", yarl.URL(stub.url + "/x"), json={"name": "alice"})
    finally:
        await transport.close()
    assert reply.status == 400 and reply.body == "User is already a member"
    assert len(stub.seen) == 1
    assert recorder.events == [("add", "400")]
    assert transport.breaker.consecutive_failures == 0


async def test_429_is_retried(stub: Stub) -> None:
    stub.on("GET", "/x", (429, None), (200, {}))
    transport, _ = make()
    try:
        assert (await transport.call("seats", "GET", yarl.URL(stub.url + "/x"))).ok
    finally:
        await transport.close()


async def test_gives_up_after_the_retries_with_a_clear_error(stub: Stub) -> None:
    stub.on("GET", "/x", (500, {"errorMessages": ["db down"]}))
    transport, recorder = make(retries=2)
    try:
        with pytest.raises(DirectoryError) as err:
            await transport.call("seats", "GET", yarl.URL(stub.url + "/x?secret=no"))
    finally:
        await transport.close()
    assert len(stub.seen) == 3
    assert err.value.status == 500
    message = str(err.value)
    assert "failed after 3 attempts" in message and "db down" in message and "secret" not in message
    assert [o for _, o in recorder.events] == ["500"] * 3


async def test_every_attempt_has_a_deadline(stub: Stub) -> None:
    # The first answer would take 5 s; a 0.5 s per-attempt deadline cuts it off and a
    # retry gets the quick answer. A loaded machine may time out a quick attempt too,
    # which is still the behaviour under test, so only the shape of the outcomes is fixed.
    stub.on("GET", "/slow", hang(5.0), (200, {"late": False}))
    transport, recorder = make(timeout=0.5)
    started = time.monotonic()
    try:
        reply = await transport.call("members", "GET", yarl.URL(stub.url + "/slow"))
    finally:
        await transport.close()
    assert reply.body == {"late": False}
    assert time.monotonic() - started < 4.5
    outcomes = [outcome for _, outcome in recorder.events]
    assert outcomes[0] == "timeout" and outcomes[-1] == "ok"
    assert set(outcomes[1:-1]) <= {"timeout"}


async def test_unreachable_has_no_status() -> None:
    transport, recorder = make(retries=1)
    try:
        with pytest.raises(DirectoryError) as err:
            await transport.call("ping", "GET", yarl.URL(f"http://127.0.0.1:{free_port()}/status"))
    finally:
        await transport.close()
    assert err.value.status is None
    assert "Cannot connect" in str(err.value) or "ClientConnector" in str(err.value)
    assert recorder.events == [("ping", "error"), ("ping", "error")]


async def test_headers_xsrf_only_on_writes_and_basic_auth(stub: Stub) -> None:
    stub.on("GET", "/r", (200, {}))
    stub.on("DELETE", "/w", (204, None))
    transport, _ = make()
    auth = basic_authorization("admin", "pw")
    try:
        await transport.call("members", "GET", yarl.URL(stub.url + "/r"), authorization=auth)
        reply = await transport.call("remove", "DELETE", yarl.URL(stub.url + "/w"), authorization=auth)
    finally:
        await transport.close()
    assert reply == Reply(204, None)
    get, delete = stub.seen
    assert get.headers["Accept"] == "application/json" and "X-Atlassian-Token" not in get.headers
    assert delete.headers["X-Atlassian-Token"] == "no-check"
    assert delete.headers["Authorization"] == "Basic YWRtaW46cHc="


async def test_breaker_opens_fails_fast_and_recovers(stub: Stub) -> None:
    stub.on("GET", "/x", (500, None))
    transport, recorder = make(retries=10, threshold=3, cooldown=1.0)
    url = yarl.URL(stub.url + "/x")
    try:
        with pytest.raises(CircuitOpen):
            await transport.call("seats", "GET", url)
        assert len(stub.seen) == 3  # the breaker cut the 11 attempts short
        assert transport.breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpen):
            await transport.call("seats", "GET", url)
        assert len(stub.seen) == 3
        assert recorder.events[-1] == ("seats", "circuit_open")
        stub.script[("GET", "/x")].clear()
        stub.on("GET", "/x", (200, {}))
        await asyncio.sleep(1.05)  # past the cooldown
        assert transport.breaker.state is BreakerState.HALF_OPEN
        assert (await transport.call("seats", "GET", url)).ok
        assert transport.breaker.state is BreakerState.CLOSED
    finally:
        await transport.close()


async def test_a_broken_observer_does_not_break_calls(stub: Stub) -> None:
    stub.on("GET", "/x", (200, {}))

    def observer(op: str, outcome: str, seconds: float) -> None:
        raise RuntimeError("metrics down")

    transport = Transport(timeout=1, retries=0, breaker=CircuitBreaker(), observer=observer, log=logs.get("test"))
    try:
        assert (await transport.call("seats", "GET", yarl.URL(stub.url + "/x"))).ok
    finally:
        await transport.close()


async def test_cancelling_a_trial_call_frees_the_half_open_slot(stub: Stub) -> None:

    stub.on("GET", "/x", hang(5))
    clock = [0.0]
    breaker = CircuitBreaker(threshold=1, cooldown=1, clock=lambda: clock[0])
    breaker.failure()
    clock[0] = 1.0
    transport = Transport(timeout=10, retries=0, breaker=breaker, log=logs.get("test"))
    try:
        task = asyncio.create_task(transport.call("add", "GET", yarl.URL(stub.url + "/x")))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        breaker.acquire()  # would raise if the cancelled trial still held the slot
    finally:
        await transport.close()
