"""The main chart as a PNG, with no imaging library: a tiny rasteriser over a bytearray
and a PNG writer on zlib and struct.

A line chart needs only filled rectangles, thick line segments and a few digits, which
fit in ~100 lines; Pillow or matplotlib would add a heavy dependency (and fonts) for a
single picture. Text is limited to tick labels drawn with a 3x5 pixel font.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from typing import Any

from seatgate.report.chart import line_chart

# 3x5 glyphs, one string of 15 bits per character (rows top to bottom).
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001010010",
    "8": "111101111101111", "9": "111101111001111", "-": "000000111000000", ":": "000010000010000",
    " ": "000000000000000", "m": "000110111101101", "h": "100100111101101", "s": "000011010001110",
}  # fmt: skip
_SCALE = 2  # glyph pixel size


class Canvas:
    def __init__(self, width: int, height: int, background: tuple[int, int, int] = (255, 255, 255)):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def fill(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        """Fill the rectangle [x0, x1) x [y0, y1), clipped to the canvas."""
        x0, x1 = max(0, x0), min(self.width, x1)
        if x0 >= x1:
            return
        run = bytes(colour) * (x1 - x0)
        for y in range(max(0, y0), min(self.height, y1)):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(run)] = run

    def line(self, x0: float, y0: float, x1: float, y1: float, colour: tuple[int, int, int], width: int = 2) -> None:
        """A segment of ``width`` pixels, stepped along its longer axis."""
        steps = max(1, int(max(abs(x1 - x0), abs(y1 - y0))))
        for i in range(steps + 1):
            t = i / steps
            x, y = round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t)
            self.fill(x - width // 2, y - width // 2, x - width // 2 + width, y - width // 2 + width, colour)

    def text(self, x: int, y: int, text: str, colour: tuple[int, int, int], align: str = "left") -> None:
        advance = 4 * _SCALE
        if align == "right":
            x -= advance * len(text)
        elif align == "center":
            x -= advance * len(text) // 2
        for char in text:
            glyph = _FONT.get(char, _FONT[" "])
            for bit, on in enumerate(glyph):
                if on == "1":
                    gx, gy = x + (bit % 3) * _SCALE, y + (bit // 3) * _SCALE
                    self.fill(gx, gy, gx + _SCALE, gy + _SCALE, colour)
            x += advance

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3]) for y in range(self.height)
        )
        return b"".join(
            [
                b"\x89PNG\r\n\x1a\n",
                _chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)),
                _chunk(b"IDAT", zlib.compress(raw, 9)),
                _chunk(b"IEND", b""),
            ]
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def render(report: dict[str, Any], width: int = 960, height: int = 360) -> bytes:
    chart = line_chart(report, width, height)
    canvas = Canvas(width, height + 24)
    grid, axis, label = (227, 229, 232), (95, 99, 104), (95, 99, 104)
    for y, value in chart.y_ticks:
        canvas.fill(chart.left, round(y), chart.right, round(y) + 1, grid)
        canvas.text(chart.left - 6, round(y) - 5, str(value), label, align="right")
    for x, tick in chart.x_ticks:
        canvas.fill(round(x), chart.top, round(x) + 1, chart.bottom, grid)
        canvas.text(round(x), chart.bottom + 8, tick, label, align="center")
    canvas.fill(chart.left, chart.bottom, chart.right, chart.bottom + 1, axis)
    for i, s in enumerate(chart.series):
        colour = _rgb(s.colour)
        for segment in s.segments:
            for (x0, y0), (x1, y1) in itertools.pairwise(segment):
                canvas.line(x0, y0, x1, y1, colour)
        x = chart.left + i * 120  # legend: swatch and period ("30m")
        canvas.fill(x, height + 8, x + 24, height + 14, colour)
        canvas.text(x + 30, height + 6, s.label.split(" ")[0], label)
    return canvas.png()
