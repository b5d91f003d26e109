"""Fixtures for the directory clients: a scriptable stub upstream and settings builders."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from seatgate.settings import ProductSettings, WorkerSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Stub:
    """An upstream that answers from a script: per (METHOD, path) a queue of answers.

    An answer is ``(status, json_body)`` or an async handler; the last answer of a queue
    repeats forever. Unscripted routes answer 404. Every request is recorded in ``seen``.
    """

    url: str = ""
    script: dict[tuple[str, str], deque[Any]] = field(default_factory=lambda: defaultdict(deque))
    seen: list[Seen] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Any) -> None:
        self.script[(method, path)].extend(answers)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = await request.json()
            except ValueError:
                body = raw.decode()
        self.seen.append(
            Seen(request.method, request.path, request.raw_path, dict(request.query), dict(request.headers), body)
        )
        queue = self.script.get((request.method, request.path))
        if not queue:
            return web.json_response({"message": "not found"}, status=404)
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if callable(answer):
            return await answer(request)
        status, payload = answer
        if payload is None:
            return web.Response(status=status)
        if isinstance(payload, str):
            return web.Response(status=status, text=payload)
        return web.json_response(payload, status=status)


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    state = Stub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.url = str(server.make_url("")).rstrip("/")
    yield state
    await server.close()


def hang(seconds: float) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({})

    return handler


def product(url: str, **overrides: Any) -> ProductSettings:
    values: dict[str, Any] = {
        "name": "jira",
        "kind": "jira",
        "upstream": url,
        "license_group": "jira-software-users",
        "directory": "jira",
        "admin_user": "admin",
        "admin_password": "admin",
    }
    values.update(overrides)
    return ProductSettings(**values)


def worker(**overrides: Any) -> WorkerSettings:
    values: dict[str, Any] = {"directory_timeout": 2.0, "directory_retries": 3}
    values.update(overrides)
    return WorkerSettings(**values)


class Recorder:
    """An observer that keeps every (op, outcome) it is told about."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __call__(self, op: str, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.events.append((op, outcome))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sim(**config): SimConfig fields for the simulator of one test")
