"""Small real objects for the proxy_addon unit tests: settings, flows and stores on fakeredis."""

from __future__ import annotations

from typing import Any

from mitmproxy import http
from mitmproxy.test import tflow, tutils

from proxy_addon.credentials import Credentials
from proxy_addon.flow_state import FlowState
from proxy_addon.identify import Identity, Source
from seatgate.settings import ProductSettings, Settings

SECRET = "s" * 32


def settings(**proxy: Any) -> Settings:
    return Settings.model_validate(
        {
            "secret": SECRET,
            "proxy": proxy,
            "products": [
                {
                    "name": "jira",
                    "kind": "jira",
                    "upstream": "http://127.0.0.1:8080",
                    "license_group": "jira-software-users",
                }
            ],
        }
    )


def product(s: Settings | None = None) -> ProductSettings:
    return (s or settings()).products[0]


def flow(
    method: str = "GET",
    path: str = "/rest/api/2/myself",
    headers: list[tuple[bytes, bytes]] | None = None,
    status: int | None = None,
    answer_headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> http.HTTPFlow:
    f = tflow.tflow()
    f.request = tutils.treq(method=method.encode(), path=path.encode(), content=body)
    f.request.headers.fields = tuple(headers or [])
    if status is not None:
        f.response = tutils.tresp(status_code=status, content=b"{}")
        f.response.headers.fields = tuple(answer_headers or [])
    return f


def state(verdict: str = "activity", creds: Credentials | None = None) -> FlowState:
    return FlowState(product(), verdict, creds=creds or Credentials())


def state_of(user: str | None, verdict: str = "activity") -> FlowState:
    """A flow's state once the gate knows its user (None: anonymous)."""
    flow_state = state(verdict)
    flow_state.identity = Identity(user, Source.SESSION, True) if user else None
    return flow_state
