"""The recent-request sample that measures a rules edit before it is saved.

The proxies keep one bounded list of recent request lines per product in Redis
(:attr:`seatgate.schema.ProductKeys.request_sample`, written by
``proxy_addon/request_sample.py``). A line holds only what the rules look at and nothing
secret: method, path, the *names* of the query parameters, the verdict it got, and, when
the user is known, a keyed hash of the user name (HMAC with ``secret``). The hash is
needed to say for how many *users* an edit changes anything; it cannot be turned back
into a name without the secret. No cookie, token, header or query value is kept, and a
path segment naming a user (``/~name``: Confluence personal spaces) is kept as ``/~user``.

``rules test`` and the edit commands can read lines from an access log instead
(:func:`lines_from_logs`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from seatgate.schema import REQUEST_SAMPLE_MAXLEN, ProductKeys

USER_HASH_KIND = "sampleuser"  # the keyed hash's prefix: a digest of its own kind


@dataclass(frozen=True, slots=True)
class SampleLine:
    product: str  # configured product name
    method: str
    path: str
    query_names: tuple[str, ...]
    verdict: str | None = None  # the verdict the proxy gave (absent for log lines)
    user: str | None = None  # keyed hash of the user (sample) or the user name (log file)
    at: float = 0.0

    @property
    def query(self) -> str:
        """A query string with the names only: conditions on a value see an empty value."""
        return "&".join(f"{name}=" for name in self.query_names)

    def encode(self) -> str:
        data: dict[str, Any] = {"m": self.method, "p": self.path, "q": list(self.query_names)}
        if self.verdict is not None:
            data["v"] = self.verdict
        if self.user is not None:
            data["u"] = self.user
        data["t"] = round(self.at)
        return json.dumps(data, separators=(",", ":"))


# Confluence's personal spaces carry the user name in the path (/display/~alice/Home,
# /spaces/~alice/...): such a segment is kept as "~user", which rules match the same way.
_PERSONAL_SPACE = re.compile(r"/~[^/]*")


def scrub_path(path: str) -> str:
    """The path with the user names it may hold (``/~name`` segments) replaced."""
    return _PERSONAL_SPACE.sub("/~user", path) if "/~" in path else path


def query_names(query: str) -> tuple[str, ...]:
    """The parameter names of a query string, in order, without their values."""
    names: dict[str, None] = {}
    for part in query.split("&"):
        name = part.partition("=")[0]
        if name:
            names[name] = None
    return tuple(names)


def decode(product: str, text: str | bytes) -> SampleLine | None:
    """One stored line, or None when it is not one (never raises on bad data)."""
    try:
        data = json.loads(text)
        return SampleLine(
            product=product,
            method=str(data["m"]),
            path=str(data["p"]),
            query_names=tuple(str(n) for n in data.get("q", ())),
            verdict=data.get("v"),
            user=data.get("u"),
            at=float(data.get("t", 0)),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def read_sample(redis: Any, products: Iterable[str], count: int = REQUEST_SAMPLE_MAXLEN) -> list[SampleLine]:
    """The newest ``count`` lines of each product, from Redis."""
    products = list(products)
    pipe = redis.pipeline(transaction=False)
    for product in products:
        pipe.lrange(ProductKeys(product).request_sample, 0, count - 1)
    lines: list[SampleLine] = []
    for product, texts in zip(products, await pipe.execute(), strict=True):
        lines.extend(line for line in (decode(product, t) for t in texts) if line is not None)
    return lines


def lines_from_logs(paths: Iterable[str], product: str, fmt: str = "auto") -> Iterator[SampleLine]:
    """Request lines of access logs (user names as logged: they never leave the process)."""
    from seatgate.accesslog import iter_records

    for record in iter_records(list(paths), fmt):
        yield SampleLine(product, record.method, record.path, query_names(record.query), None, record.user, record.ts)
