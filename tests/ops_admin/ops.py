"""Helpers of the operations tests: scrape /metrics, call a JSON endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, list[tuple[dict[str, str], float]]]


def fetch(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str) -> tuple[int, Any]:
    status, body = fetch(url)
    return status, json.loads(body)


def scrape(url: str) -> tuple[str, Samples]:
    """The raw text of a /metrics page and its samples by sample name (``_bucket`` etc. kept)."""
    status, body = fetch(url)
    assert status == 200, (url, status)
    text = body.decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return text, samples
