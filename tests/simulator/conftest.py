"""In-process simulator clients (aiohttp's test client against create_app)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from seatgate_simulator import STATE_KEY, SimConfig, create_app
from seatgate_simulator.state import SimState

MakeClient = Callable[..., Awaitable[TestClient]]


def basic(user: str, password: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{user if password is None else password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic("admin")


def state(client: TestClient) -> SimState:
    return client.app[STATE_KEY]


async def sim_state(client: TestClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/__sim/state", params=params)
    assert response.status == 200
    return await response.json()


async def license_user(client: TestClient, *users: str) -> None:
    response = await client.post("/__sim/members", json={"add": list(users)})
    assert response.status == 200, await response.text()


async def form_login(
    client: TestClient, user: str, password: str | None = None, remember: bool = False, destination: str | None = None
):
    product = state(client).config.product
    path = "/login.jsp" if product == "jira" else "/dologin.action"
    form = {"os_username": user, "os_password": user if password is None else password}
    if remember:
        form["os_cookie"] = "true"
    if destination:
        form["os_destination"] = destination
    return await client.post(path, data=form, allow_redirects=False)


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[TestClient] = []

    async def make(**config: Any) -> TestClient:
        client = TestClient(TestServer(create_app(SimConfig(**config))))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def jira(make_client: MakeClient) -> TestClient:
    return await make_client(product="jira", seed=1)


@pytest.fixture
async def confluence(make_client: MakeClient) -> TestClient:
    return await make_client(product="confluence", seed=1)
