"""The lean runner's event dispatch calls exactly what mitmproxy's AddonManager would."""

from __future__ import annotations

import asyncio
import logging

import pytest
from mitmproxy import exceptions, hooks
from mitmproxy.options import Options
from mitmproxy.proxy.layers.http import HttpRequestHook, HttpResponseHook
from mitmproxy.test import tflow

from proxy_addon.dispatch import HookTable, LeanMaster


class Recorder:
    def __init__(self, name: str, calls: list[str]):
        self.name = name
        self.calls = calls

    def request(self, flow) -> None:
        self.calls.append(f"{self.name}.request")


class AsyncResponder(Recorder):
    async def response(self, flow) -> None:
        self.calls.append(f"{self.name}.response")


class Parent(Recorder):
    def __init__(self, name: str, calls: list[str]):
        super().__init__(name, calls)
        self.addons = [Recorder(f"{name}-child", calls)]


class Broken:
    def request(self, flow) -> None:
        raise ValueError("boom")


class Halting:
    def request(self, flow) -> None:
        raise exceptions.AddonHalt


class Updates:
    def __init__(self, calls: list[str]):
        self.calls = calls

    def update(self, flows) -> None:
        self.calls.append(f"update:{len(flows)}")


@pytest.fixture
async def master() -> LeanMaster:
    # mitmproxy's Master needs a running event loop when it is built
    return LeanMaster(Options())


async def test_only_handlers_of_the_event_run_in_chain_order(master) -> None:
    calls: list[str] = []
    master.addons.add(Parent("a", calls), AsyncResponder("b", calls), Recorder("c", calls))
    assert isinstance(master.addons, HookTable)
    flow = tflow.tflow(resp=True)
    await master.addons.handle_lifecycle(HttpRequestHook(flow))
    await master.addons.handle_lifecycle(HttpResponseHook(flow))
    assert calls == ["a.request", "a-child.request", "b.request", "c.request", "b.response"]
    assert len(master.addons.handlers(HttpRequestHook(flow))) == 4
    assert master.addons.handlers(hooks.UpdateHook([])) == ()


async def test_handlers_follow_added_and_removed_addons(master) -> None:
    calls: list[str] = []
    first = Recorder("first", calls)
    master.addons.add(first)
    flow = tflow.tflow()
    await master.addons.trigger_event(HttpRequestHook(flow))
    master.addons.add(Recorder("second", calls))
    await master.addons.trigger_event(HttpRequestHook(flow))
    master.addons.remove(first)
    await master.addons.trigger_event(HttpRequestHook(flow))
    assert calls == ["first.request", "first.request", "second.request", "second.request"]


async def test_an_error_is_logged_and_the_others_still_run(master, caplog) -> None:
    calls: list[str] = []
    master.addons.add(Broken(), Recorder("after", calls))
    with caplog.at_level(logging.ERROR):
        await master.addons.trigger_event(HttpRequestHook(tflow.tflow()))
    assert calls == ["after.request"]
    assert "Addon error: boom" in caplog.text


async def test_addon_halt_stops_the_event(master) -> None:
    calls: list[str] = []
    master.addons.add(Halting(), Recorder("after", calls))
    await master.addons.trigger_event(HttpRequestHook(tflow.tflow()))
    assert calls == []


async def test_update_event_is_sent_only_when_handled(master) -> None:
    calls: list[str] = []
    master.addons.add(Updates(calls))
    await master.addons.handle_lifecycle(HttpRequestHook(tflow.tflow()))
    assert calls == ["update:1"]


async def test_options_reach_addons_once(master) -> None:
    seen: list[set[str]] = []

    class Configured:
        def load(self, loader) -> None:
            loader.add_option("probe", int, 0, "an option of this test")

        def configure(self, updated: set[str]) -> None:
            seen.append(updated)

    master.addons.add(Configured())
    seen.clear()
    master.options.update(probe=1)
    assert seen == [{"probe"}]


class Waiting(Recorder):
    def __init__(self, name: str, calls: list[str], gate: asyncio.Event):
        super().__init__(name, calls)
        self.gate = gate

    def request(self, flow):
        self.calls.append(f"{self.name}.request")
        return self._wait()

    async def _wait(self) -> None:
        await self.gate.wait()
        self.calls.append(f"{self.name}.resumed")


async def test_run_now_finishes_synchronous_handlers_in_place(master) -> None:
    calls: list[str] = []
    master.addons.add(Recorder("a", calls), Recorder("b", calls))
    assert master.addons.run_now(HttpRequestHook(tflow.tflow())) is None
    assert calls == ["a.request", "b.request"]


async def test_run_now_hands_over_at_the_first_handler_that_waits(master) -> None:
    calls: list[str] = []
    gate = asyncio.Event()
    master.addons.add(Recorder("a", calls), Waiting("w", calls, gate), Recorder("b", calls))
    rest = master.addons.run_now(HttpRequestHook(tflow.tflow()))
    assert rest is not None
    assert calls == ["a.request", "w.request"]  # b waits for w, in order
    gate.set()
    await rest
    assert calls == ["a.request", "w.request", "w.resumed", "b.request"]


async def test_run_now_sends_the_update_event_after_the_rest(master) -> None:
    calls: list[str] = []
    gate = asyncio.Event()
    master.addons.add(Waiting("w", calls, gate), Updates(calls))
    rest = master.addons.run_now(HttpRequestHook(tflow.tflow()))
    gate.set()
    await rest
    assert calls == ["w.request", "w.resumed", "update:1"]


def test_inline_hooks_only_on_the_mitmproxy_they_were_built_for(monkeypatch) -> None:
    from mitmproxy import version
    from mitmproxy.proxy import mode_servers

    from proxy_addon import dispatch

    original = mode_servers.ProxyConnectionHandler
    monkeypatch.setattr(mode_servers, "ProxyConnectionHandler", original)  # restored after the test
    monkeypatch.setattr(version, "VERSION", "12.0.0")
    assert dispatch.use_inline_hooks() is False
    assert mode_servers.ProxyConnectionHandler is original
    monkeypatch.setattr(version, "VERSION", "11.0.2")
    assert dispatch.use_inline_hooks() is True
    assert mode_servers.ProxyConnectionHandler is dispatch.LeanConnectionHandler
