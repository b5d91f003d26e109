"""One HTTP call to a directory with every safeguard: deadline, retries, breaker, metrics.

Retried: timeouts, connection errors, 5xx and 429 (Atlassian's rate limiter), because
those say nothing about the request itself. Never retried: other 4xx, which are the
directory's verdict on the request and are returned to the caller to interpret.
Retrying a write is safe because every write here is made idempotent by its caller
("already a member" is re-checked, never trusted blindly).
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
import yarl

from .breaker import CircuitBreaker
from .errors import CircuitOpen, DirectoryError

# observer(op, outcome, seconds): outcome is "ok", an HTTP status such as "404",
# "timeout", "error" (connection) or "circuit_open".
Observer = Callable[[str, str, float], None]

RETRYABLE_4XX = frozenset({429})


@dataclass(frozen=True)
class Reply:
    """A directory's answer: status and body (parsed JSON, else text, else ``None``)."""

    status: int
    body: Any
    # Response headers, for the few calls that need one (the ETag of an application role).
    headers: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def excerpt(self, limit: int = 200) -> str:
        """The body on one short line, for error messages."""
        if self.body is None:
            return "(empty body)"
        text = self.body if isinstance(self.body, str) else jsonlib.dumps(self.body, ensure_ascii=False)
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def basic_authorization(user: str, password: str) -> str:
    """An ``Authorization: Basic`` value (RFC 7617, UTF-8); it holds the password, never log it."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)).

    Full jitter (rather than a fixed doubling) spreads the retries of many grants that
    failed together, so a recovering directory is not hit by synchronised waves.
    """
    return rng() * min(cap, base * 2.0**attempt)


async def _read_body(resp: aiohttp.ClientResponse) -> Any:
    raw = await resp.read()
    if not raw:
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        # Jira answers some 400s with a bare string, not its usual JSON error bean.
        return raw.decode("utf-8", "replace")


class Transport:
    """Owns the single aiohttp session of one directory and makes every call through it."""

    def __init__(
        self,
        *,
        timeout: float,
        retries: int,
        breaker: CircuitBreaker,
        observer: Observer | None = None,
        log: structlog.typing.FilteringBoundLogger,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.breaker = breaker
        self._observer = observer
        self._log = log
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rng = rng
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use so the session binds to the loop that actually runs the calls.
        if self._closed:
            # A call still running after close() must not quietly open a new session.
            raise DirectoryError("directory client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _observe(self, op: str, outcome: str, seconds: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer(op, outcome, seconds)
        except Exception:
            # Metrics must never break a grant.
            self._log.exception("directory_observer_failed", op=op)

    async def call(
        self,
        op: str,
        method: str,
        url: yarl.URL,
        *,
        authorization: str | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Make the call; return any answer below 500 (429 aside), raise after the last retry.

        Raises :class:`CircuitOpen` when the breaker refuses (before or between attempts)
        and :class:`DirectoryError` when every attempt failed.
        """
        attempts = (self.retries if retries is None else retries) + 1
        headers = dict(headers or {})
        if authorization:
            headers["Authorization"] = authorization
        if method != "GET":
            # Atlassian's XSRF check refuses non-GET requests from clients without it.
            headers["X-Atlassian-Token"] = "no-check"
        detail, last_status = "", None
        for attempt in range(attempts):
            if attempt:
                await self._sleep(backoff_delay(attempt - 1, self._backoff_base, self._backoff_cap, self._rng))
            try:
                self.breaker.acquire()
            except CircuitOpen as exc:
                exc.attempted = attempt > 0
                self._observe(op, "circuit_open", 0.0)
                raise
            started = time.monotonic()
            status: int | None = None
            try:
                async with self._client().request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=headers,
                    # A redirect (to a login page, say) is an answer to report, not to follow.
                    allow_redirects=False,
                ) as resp:
                    body = await _read_body(resp)
                    status = resp.status
                    answer_headers = resp.headers.copy()  # case-insensitive
            except TimeoutError:
                outcome, detail = "timeout", f"no answer within {self.timeout.total:g}s"
            except aiohttp.ClientError as exc:
                outcome, detail = "error", f"{type(exc).__name__}: {exc}"
            except BaseException:
                # Cancelled (or a bug): no verdict on the directory, but a half-open
                # breaker's trial slot must not stay taken forever.
                self.breaker.release()
                raise
            elapsed = time.monotonic() - started
            if status is not None:
                reply = Reply(status, body, answer_headers)
                if status < 500 and status not in RETRYABLE_4XX:
                    self.breaker.success()
                    self._observe(op, "ok" if reply.ok else str(status), elapsed)
                    return reply
                outcome, detail, last_status = str(status), f"HTTP {status}: {reply.excerpt()}", status
            self.breaker.failure()
            self._observe(op, outcome, elapsed)
            self._log.warning(
                "directory_call_failed",
                op=op,
                method=method,
                path=url.path,
                outcome=outcome,
                attempt=attempt + 1,
                attempts=attempts,
            )
        raise DirectoryError(
            f"{op}: {method} {url.with_query(None)} failed after {attempts} attempt"
            f"{'s' if attempts > 1 else ''}: {detail}",
            status=last_status,
        )
