"""routing.py: a flow's product by the reverse-proxy mode it came in on."""

from __future__ import annotations

import pytest
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import tflow

from proxy_addon.routing import ProductRouter, origin
from tests.proxy_addon.support import settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://Jira:8080/jira", "http://jira:8080"),
        ("http://jira", "http://jira:80"),
        ("https://jira/", "https://jira:443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://[::1]", "http://[::1]:80"),
    ],
)
def test_origin(url: str, expected: str) -> None:
    assert origin(url) == expected


def test_router_finds_the_product_of_the_mode_and_nothing_else() -> None:
    router = ProductRouter()
    s = settings()
    router.configure(s.products)
    f = tflow.tflow()
    f.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:8080/@8081")
    assert router.product_for(f) is s.products[0]
    other = tflow.tflow()
    other.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:9999@8082")
    assert router.product_for(other) is None
