"""Prometheus metrics of a worker process (served on its admin listener at /metrics)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from seatgate.schema import ProductKeys
from seatgate.telemetry import GRANT_LATENCY, REDIS_ERRORS, RULES_VERSION

__all__ = ["GRANT_LATENCY", "REDIS_ERRORS", "RULES_VERSION"]

GRANTS = Counter("seatgate_grants_total", "Grant requests handled, by outcome", ["product", "outcome"])
REVOKES = Counter("seatgate_revokes_total", "Users removed from the licence group, by reason", ["product", "reason"])
SWEEPER_REVOKES = Counter("seatgate_sweeper_revokes_total", "Revokes made by the inactivity sweeper", ["product"])
SEATS_USED = Gauge("seatgate_seats_used", "Managed users holding a seat (licensed, granting or revoking)", ["product"])
SEATS_CAP = Gauge("seatgate_seats_cap", "Effective seat cap for managed users (-1: no cap)", ["product"])
QUEUE_LENGTH = Gauge("seatgate_queue_length", "Users waiting for a free seat", ["product"])
DIRECTORY_LATENCY = Histogram(
    "seatgate_directory_call_seconds",
    "Directory (Jira/Confluence/Crowd REST) call latency",
    ["product", "op", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DIRECTORY_ERRORS = Counter("seatgate_directory_errors_total", "Failed directory calls", ["product", "op", "outcome"])
RECLAIMED = Counter("seatgate_grants_reclaimed_total", "Grant requests taken over from a dead worker", ["product"])
SWEEPER_LEADER = Gauge("seatgate_sweeper_leader", "1 while this worker holds the sweeper lease")
# A product in shadow mode makes no directory change: its would-be figures go to series
# of their own, so that no dashboard or alert takes them for real grants and seats.
PRODUCT_MODE = Gauge("seatgate_product_mode", "1 for the mode each product runs in", ["product", "mode"])
SHADOW_GRANTS = Counter(
    "seatgate_shadow_grants_total", "Would-be grant decisions of a product in shadow mode", ["product", "outcome"]
)
SHADOW_REVOKES = Counter(
    "seatgate_shadow_revokes_total", "Would-be revokes of a product in shadow mode, by reason", ["product", "reason"]
)
SHADOW_SEATS_USED = Gauge("seatgate_shadow_seats_used", "Would-be seats held in shadow mode", ["product"])
SHADOW_SEATS_CAP = Gauge("seatgate_shadow_seats_cap", "Seat cap the shadow mode applies (-1: no cap)", ["product"])
SHADOW_QUEUE_LENGTH = Gauge("seatgate_shadow_queue_length", "Users who would wait for a seat", ["product"])
WHATIF_PEAK = Gauge(
    "seatgate_whatif_peak_seats",
    "Most seats the live traffic would have needed at once with this inactivity period",
    ["product", "inactivity"],
)
CIRCUIT_OPEN = Gauge("seatgate_directory_circuit_open", "1 while the directory circuit breaker is open", ["product"])


def directory_observer(product: str):
    """Turn the directory's per-call callback into metrics."""

    def observe(op: str, outcome: str, seconds: float) -> None:
        outcome = str(outcome)
        DIRECTORY_LATENCY.labels(product, op, outcome).observe(seconds)
        if outcome not in ("ok", "200", "201", "204"):
            DIRECTORY_ERRORS.labels(product, op, outcome).inc()

    return observe


def seat_series(name: str, keys: ProductKeys) -> Any:
    """The series a product's seat figure goes to: ``SHADOW_<name>`` for a shadow product."""
    return globals()[f"SHADOW_{name}" if keys.shadow else name]
