"""The HTML report (rendered in headless Chromium) and the PNG of the main chart."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from seatgate.cli import main

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def report_files(tmp_path_factory, real_logs) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", *sorted(str(p) for p in real_logs.glob("access_log.*")), "--out", str(out)]) == 0
    return out, out.with_suffix(".png")


def test_html_is_self_contained(report_files):
    html = report_files[0].read_text(encoding="utf-8")
    assert "<svg class='chart seats-chart'" in html and "<svg class='chart heatmap'" in html
    for needle in ("http://", "https://", "<script src", "<link"):
        # Only the escaped example lines of the log may contain URLs; there are none here.
        assert needle not in html.replace("http://jira.is4it-test.at", "")


def test_png_is_a_valid_image(report_files):
    data = report_files[1].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    _, kind = struct.unpack(">I4s", data[8:16])
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (kind, depth, colour) == (b"IHDR", 8, 2)
    idat = data.index(b"IDAT")
    size = struct.unpack(">I", data[idat - 4 : idat])[0]
    raw = zlib.decompress(data[idat + 4 : idat + 4 + size])
    assert len(raw) == height * (1 + 3 * width)
    assert len(set(raw[1 : 1 + 3 * width * 50])) > 2  # not a blank picture


@pytest.mark.browser
def test_html_renders_in_chromium(report_files):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1300})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report_files[0].as_uri())
            assert page.locator("svg.seats-chart path.series").count() == 3
            assert page.locator("svg.heatmap").count() == 3
            assert page.locator("svg.heatmap rect.cell").count() == 3 * 7 * 24
            box = page.locator("svg.seats-chart").bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 150
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [report_files[0].as_uri()]  # nothing fetched but the file itself
