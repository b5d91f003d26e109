"""Which configured product a flow is for, by the reverse-proxy mode it came in on."""

from __future__ import annotations

from mitmproxy import http

from seatgate.settings import ProductSettings


def origin(url: str) -> str:
    """scheme://host:port of an upstream URL (a context path is dropped: mitmproxy's
    reverse mode forwards to the origin and keeps the request's own path)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].lower()
    if ":" not in host.rsplit("]", 1)[-1]:
        host += ":443" if scheme == "https" else ":80"
    return f"{scheme}://{host}"


class ProductRouter:
    def __init__(self) -> None:
        self._by_origin: dict[str, ProductSettings] = {}
        self._by_mode: dict[str, ProductSettings | None] = {}  # memo: full mode spec → product

    def configure(self, products: list[ProductSettings]) -> None:
        self._by_origin = {origin(str(p.upstream)): p for p in products}
        self._by_mode.clear()

    def product_for(self, flow: http.HTTPFlow) -> ProductSettings | None:
        mode = flow.client_conn.proxy_mode
        spec = mode.full_spec
        if spec not in self._by_mode:
            self._by_mode[spec] = self._by_origin.get(origin(mode.data))
        return self._by_mode[spec]
