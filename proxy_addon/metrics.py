"""Prometheus metrics of a proxy process (served on ``[proxy] metrics_listen``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from seatgate.telemetry import GRANT_LATENCY, REDIS_ERRORS, RULES_VERSION

__all__ = ["GRANT_LATENCY", "REDIS_ERRORS", "RULES_VERSION"]

REQUESTS = Counter("seatgate_requests_total", "Requests seen by the proxy", ["product", "verdict", "identity_source"])
HELD = Gauge("seatgate_requests_held", "Requests currently held for a grant", ["product"])
FAILURE_MODE = Counter(
    "seatgate_grant_failures_total",
    "Grants that timed out or failed, by what the proxy then did (open: forwarded, closed: 503)",
    ["product", "mode", "reason"],
)
WRITE_BEHIND_DROPPED = Counter(
    "seatgate_write_behind_dropped_total", "Buffered activity entries dropped because the buffer was full"
)
FLUSH_SECONDS = Histogram("seatgate_write_behind_flush_seconds", "Duration of one write-behind flush")
LICENSED_CACHED = Gauge("seatgate_licensed_users_cached", "Licensed users in this proxy's cache", ["product"])
REPLAYS = Counter(
    "seatgate_replays_total",
    "Requests refused upstream for lack of a licence, then granted and sent again, by outcome",
    ["product", "outcome"],
)
CLAIMS_REFUSED = Counter(
    "seatgate_claims_refused_total",
    "Claimed usernames not granted before upstream checked them (rate limit, cooldown, ...)",
    ["product", "reason"],
)
CLAIMS_REJECTED = Counter(
    "seatgate_claims_rejected_total", "Claimed usernames whose credentials upstream rejected", ["product", "source"]
)
ROLLBACKS = Counter(
    "seatgate_rollbacks_requested_total",
    "Grants the proxy asked the worker to undo because upstream rejected the credentials",
    ["product"],
)
CURRENT_USER_LOOKUPS = Counter(
    "seatgate_current_user_lookups_total",
    "Who-is-this-session lookups for products that do not send X-AUSERNAME, by outcome",
    ["product", "outcome"],
)
TOKENS_LEARNED = Counter(
    "seatgate_pat_learned_total", "Personal Access Tokens whose owner the proxy learned, by how", ["product", "how"]
)
EVENTS_MALFORMED = Counter(
    "seatgate_events_malformed_total",
    "Messages on a product's events channel that are not protocol.GrantEvent",
    ["product"],
)
