"""Identity headers from clients are dropped; upstream learns who the client is."""

from __future__ import annotations

import pytest
from mitmproxy.test import tflow

from proxy_addon.headers import HeaderHygiene


def flow_with(*fields: tuple[bytes, bytes], tls: bool = False):
    flow = tflow.tflow()
    flow.client_conn.peername = ("192.0.2.7", 50000)
    if not tls:
        flow.client_conn.timestamp_tls_setup = None
    flow.request.headers.fields = fields
    return flow


def test_plain_request_gets_forwarded_headers() -> None:
    flow = flow_with((b"Host", b"jira"), (b"Accept", b"*/*"))
    HeaderHygiene().requestheaders(flow)
    assert flow.request.headers.fields == (
        (b"Host", b"jira"),
        (b"Accept", b"*/*"),
        (b"X-Forwarded-For", b"192.0.2.7"),
        (b"X-Forwarded-Proto", b"http"),
    )


@pytest.mark.parametrize("name", [b"X-AUSERNAME", b"x-ausername", b"X-AUserId"])
def test_identity_headers_are_removed_whatever_their_case(name: bytes) -> None:
    flow = flow_with((b"Host", b"jira"), (name, b"admin"), (b"Cookie", b"a=b"))
    HeaderHygiene().requestheaders(flow)
    assert flow.request.headers.fields == (
        (b"Host", b"jira"),
        (b"Cookie", b"a=b"),
        (b"X-Forwarded-For", b"192.0.2.7"),
        (b"X-Forwarded-Proto", b"http"),
    )


def test_existing_forwarded_headers_are_merged_and_kept() -> None:
    flow = flow_with(
        (b"x-forwarded-for", b"203.0.113.1"), (b"X-Forwarded-For", b"10.0.0.1"), (b"X-Forwarded-Proto", b"https")
    )
    HeaderHygiene().requestheaders(flow)
    assert flow.request.headers.fields == (
        (b"X-Forwarded-Proto", b"https"),
        (b"X-Forwarded-For", b"203.0.113.1, 10.0.0.1, 192.0.2.7"),
    )


def test_configured_strip_list() -> None:
    flow = flow_with((b"X-AUSERNAME", b"kept"), (b"X-Remote-User", b"admin"))
    HeaderHygiene(["X-Remote-User"]).requestheaders(flow)
    assert flow.request.headers.fields == (
        (b"X-AUSERNAME", b"kept"),
        (b"X-Forwarded-For", b"192.0.2.7"),
        (b"X-Forwarded-Proto", b"http"),
    )


def test_proto_says_https_when_the_client_came_over_tls() -> None:
    flow = flow_with((b"Host", b"jira"), tls=True)
    HeaderHygiene().requestheaders(flow)
    assert flow.request.headers.fields[-1] == (b"X-Forwarded-Proto", b"https")
