"""Static assets under the products' own prefixes (``/s/``, ``/download/resources/``, ``/images/``).

They are served to anyone, like the real products' resources, and carry long cache headers,
so a proxy or nginx rule that bypasses static files has realistic paths to match.
"""

from __future__ import annotations

import struct
import zlib
from importlib import resources

from aiohttp import web

CACHE_FOREVER = {"Cache-Control": "public, max-age=31536000"}


def _read(name: str) -> bytes:
    return resources.files("seatgate_simulator").joinpath("static", name).read_bytes()


def favicon() -> bytes:
    """A 16x16 PNG inside an ICO container (valid since Windows Vista and in every browser)."""
    raw = b"".join(b"\x00" + bytes((0x20, 0x50, 0xA0, 0xFF)) * 16 for _ in range(16))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    header = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(png), 22)
    return header + png


class Assets:
    def __init__(self) -> None:
        self.script = _read("sim.js")
        self.style = _read("aui.css")
        self.avatar = _read("default.svg")
        self.icon = favicon()

    def _by_suffix(self, tail: str) -> web.Response:
        if tail.endswith(".js"):
            return web.Response(body=self.script, content_type="application/javascript", headers=CACHE_FOREVER)
        if tail.endswith(".css"):
            return web.Response(body=self.style, content_type="text/css", headers=CACHE_FOREVER)
        if tail.endswith(".svg"):
            return web.Response(body=self.avatar, content_type="image/svg+xml", headers=CACHE_FOREVER)
        return web.Response(status=404, text="Not Found")

    async def resource(self, request: web.Request) -> web.StreamResponse:
        return self._by_suffix(request.match_info["tail"])

    async def favicon(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.icon, content_type="image/x-icon", headers=CACHE_FOREVER)


def add_routes(app: web.Application) -> None:
    assets = Assets()
    for prefix in ("/s/", "/download/resources/", "/download/batch/", "/images/"):
        app.router.add_get(prefix + "{tail:.+}", assets.resource)
    app.router.add_get("/favicon.ico", assets.favicon)
