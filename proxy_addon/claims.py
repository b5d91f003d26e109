"""Seat-abuse defence for claimed usernames.

A claim is a username the request names but upstream has not vouched for yet: Basic
credentials, a login form, a SAML assertion. Granting a seat on a claim before upstream
has checked it is needed for logins (the product refuses an unlicensed user *at* login),
but it must not let anyone exhaust or steal seats by posting names with wrong passwords.
So a claim is granted ahead only when all of these hold:

- the client address and the username are within their per-minute rates (in memory, per
  proxy: a token bucket each);
- fewer than ``claim_unconfirmed_max`` grants made ahead are still waiting for upstream's
  answer on this proxy (a bound on the seats a distributed attacker can churn at once);
- upstream has not rejected a claim for this username, from any client, within
  ``claim_cooldown`` (shared by every proxy through Redis). One mistyped password costs the
  real user nothing but one extra round trip; an attacker spraying names gets at most one
  seat per name and cooldown, each rolled back within seconds.

A refused claim is not an error: the request goes upstream as it is. A wrong password
fails there as it would anyway; a right one is answered with an authorisation failure,
which proves the credentials, and the addon then grants and replays the request.

When upstream rejects a claim that was granted ahead, the proxy appends a rollback entry
to the grant stream (the worker revokes a grant that recent) and records the failure.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from proxy_addon import metrics
from seatgate import logs
from seatgate.protocol import GRANT_STREAM_MAXLEN, ROLLBACK_WINDOW, Action, GrantRequest
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient
from seatgate.schema import ProductKeys
from seatgate.settings import ProxySettings

log = logs.get("seatgate.proxy.claims")

# Grants made ahead that are older than protocol.ROLLBACK_WINDOW are no longer rolled back
# (the worker uses the same window) and no longer count as waiting for upstream's answer.
REDIS_DEADLINE = 2.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class GrantAhead:
    at: float  # when the grant was asked for (monotonic)
    confirmed: bool = False  # a confirmed identity of the user was seen on this proxy since


def client_address(peer: str, forwarded_for: str, trusted: list[Network]) -> str:
    """The client's address: the peer, or for a trusted reverse proxy the last address in
    X-Forwarded-For that is not a trusted proxy (entries before it are client-written)."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    for entry in reversed(forwarded_for.split(",")):
        address = entry.strip()
        if address and not _is_trusted(address, trusted):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return peer  # garbage where the closest proxy wrote: do not let it choose a bucket
    return peer


def _is_trusted(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class RateLimiter:
    """A token bucket per key: ``per_minute`` at once, refilled evenly over a minute."""

    def __init__(self, per_minute: int, max_keys: int = 100_000):
        self._capacity = float(per_minute)
        self._refill = per_minute / 60.0
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def allow(self, key: str, now: float) -> bool:
        if self._capacity <= 0:
            return False
        tokens, at = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - at) * self._refill)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed


class ClaimGuard:
    def __init__(self, redis: RedisClient, settings: ProxySettings):
        self._redis = redis
        self._cooldown = int(settings.claim_cooldown)
        self._unconfirmed_max = settings.claim_unconfirmed_max
        self._per_client = RateLimiter(settings.claim_rate_per_client)
        self._per_user = RateLimiter(settings.claim_rate_per_user)
        self.trusted = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]
        self._tokens = itertools.count()
        # product → token → started (monotonic): grants made ahead, upstream's answer pending
        self._waiting: dict[str, dict[int, float]] = {}
        # (product, user) → grants made before upstream's answer, which a rejection may roll
        # back. Usually empty, so the hot path only tests it for truth.
        self.granted_ahead: dict[tuple[str, str], GrantAhead] = {}
        self._background: set[asyncio.Task] = set()

    # -- before forwarding ------------------------------------------------------------
    async def admit(self, product: str, user: str, client: str) -> str | None:
        """None when the claim may be granted ahead, else the reason it may not."""
        now = time.monotonic()
        waiting = self._waiting.setdefault(product, {})
        for token in [t for t, started in waiting.items() if now - started > ROLLBACK_WINDOW]:
            del waiting[token]  # its answer never came (client gone)
        if len(waiting) >= self._unconfirmed_max:
            return "unconfirmed_limit"
        if not self._per_client.allow(f"{product}\0{client}", now):
            return "client_rate"
        if not self._per_user.allow(f"{product}\0{user}", now):
            return "user_rate"
        try:
            rejected = await asyncio.wait_for(
                self._redis.exists(ProductKeys(product).claim_rejected(user)), REDIS_DEADLINE
            )
        except REDIS_UNAVAILABLE:
            metrics.REDIS_ERRORS.labels(op="claim_check").inc()
            return "redis_error"  # cannot tell: let upstream check the credentials first
        return "cooldown" if rejected else None

    def begin(self, product: str, user: str) -> int:
        """A grant is being made ahead for this claim; returns the token for :meth:`end`."""
        token = next(self._tokens)
        self._waiting.setdefault(product, {})[token] = time.monotonic()
        self.note_grant_ahead(product, user)
        return token

    def note_grant_ahead(self, product: str, user: str) -> None:
        """A grant is being made before upstream has answered this request."""
        now = time.monotonic()
        self._prune_granted(now)
        self.granted_ahead[(product, user)] = GrantAhead(now)

    def end(self, product: str, token: int) -> None:
        self._waiting.get(product, {}).pop(token, None)

    # -- after upstream answered --------------------------------------------------------
    def confirmed(self, product: str, user: str) -> None:
        """Upstream vouched for this user (any credential): a rollback would hit them."""
        entry = self.granted_ahead.get((product, user)) if self.granted_ahead else None
        if entry is not None:
            entry.confirmed = True

    def may_roll_back(self, product: str, user: str) -> bool:
        """A grant was made ahead for user recently and no confirmed identity of theirs was
        seen on this proxy since (else the real user is active and keeps the seat)."""
        entry = self.granted_ahead.get((product, user))
        return entry is not None and not entry.confirmed and time.monotonic() - entry.at <= ROLLBACK_WINDOW

    async def rejected(
        self,
        product: str,
        user: str,
        client: str,
        *,
        source: str,
        reason: str,
        roll_back: bool,
        request_id: str,
        again_after: float | None = None,
    ) -> None:
        """Upstream rejected a claim: record it for the cooldown, roll back a grant made for it.

        ``again_after``: the grant's outcome was not known (timeout), so it may still land;
        the rollback is sent once more after this many seconds.
        """
        metrics.CLAIMS_REJECTED.labels(product, source).inc()
        keys = ProductKeys(product)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(keys.claim_rejected(user))
        pipe.expire(keys.claim_rejected(user), self._cooldown)
        if roll_back:
            self._queue_rollback(pipe, keys, user, client, reason, request_id)
        try:
            await asyncio.wait_for(pipe.execute(), REDIS_DEADLINE)
        except REDIS_UNAVAILABLE as exc:
            metrics.REDIS_ERRORS.labels(op="claim_rejected").inc()
            log.warning("claim_rejection_not_recorded", product=product, user=user, error=type(exc).__name__)
            return
        if roll_back:
            metrics.ROLLBACKS.labels(product).inc()
            self.granted_ahead.pop((product, user), None)
            log.info(
                "rollback_requested", product=product, user=user, client=client, reason=reason, request_id=request_id
            )
            if again_after is not None:
                self._spawn(self._rollback_later(product, user, client, reason, request_id, again_after))

    async def roll_back(self, product: str, user: str, client: str, reason: str, request_id: str) -> None:
        """Ask for a rollback only (a confirmed credential that upstream no longer honours)."""
        keys = ProductKeys(product)
        pipe = self._redis.pipeline(transaction=False)
        self._queue_rollback(pipe, keys, user, client, reason, request_id)
        try:
            await asyncio.wait_for(pipe.execute(), REDIS_DEADLINE)
        except REDIS_UNAVAILABLE:
            metrics.REDIS_ERRORS.labels(op="rollback").inc()
            return
        metrics.ROLLBACKS.labels(product).inc()
        log.info("rollback_requested", product=product, user=user, client=client, reason=reason, request_id=request_id)

    @staticmethod
    def _queue_rollback(pipe: Any, keys: ProductKeys, user: str, client: str, reason: str, request_id: str) -> None:
        rollback = GrantRequest(user, request_id, time.time(), client, action=Action.ROLLBACK, reason=reason)
        pipe.xadd(keys.grants, rollback.to_fields(), maxlen=GRANT_STREAM_MAXLEN, approximate=True)

    async def _rollback_later(
        self, product: str, user: str, client: str, reason: str, request_id: str, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        await self.roll_back(product, user, client, reason, request_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _prune_granted(self, now: float) -> None:
        if len(self.granted_ahead) > 1000:
            for key in [k for k, entry in self.granted_ahead.items() if now - entry.at > ROLLBACK_WINDOW]:
                del self.granted_ahead[key]

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=2)


def claim_verdict(claimed: str, named: str | None, login_reason: str | None) -> str | None:
    """What upstream's answer says about a claimed username.

    ``"rejected"`` — wrong credentials (AUTHENTICATED_FAILED, or the answer is anonymous);
    ``"authenticated"`` — right credentials but no application access (AUTHORISATION_FAILED):
    the claim is proven, only the licence is missing;
    ``"confirmed"`` — logged in as the claimed user (X-AUSERNAME, or a login answered OK by a
    product that does not send X-AUSERNAME);
    None — the answer does not tell (another credential of the request decided it).
    """
    reasons = login_reason or ""
    if "AUTHENTICATED_FAILED" in reasons:
        return "rejected"
    if "AUTHORISATION_FAILED" in reasons:
        return "authenticated"
    if named is not None:
        if named == claimed:
            return "confirmed"
        return "rejected" if named == "anonymous" else None
    return "confirmed" if login_ok(reasons) else None


def login_ok(login_reason: str | None) -> bool:
    """X-Seraph-LoginReason says the request's own login went through (``OK``, or ``OUT, OK``)."""
    return login_reason is not None and login_reason.rpartition(",")[2].strip() == "OK"
