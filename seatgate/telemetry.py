"""Metrics that the proxy and the worker both expose, defined once.

Both components may run in one Python process (tests, embedded use), and
prometheus-client refuses to register the same name twice, so shared series live here.
"""

from prometheus_client import Counter, Gauge, Histogram

# seatgate_grant_latency_seconds: 1 ms … 10 s, dense where grants normally land.
GRANT_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

GRANT_LATENCY = Histogram(
    "seatgate_grant_latency_seconds",
    "Grant latency: stage=proxy is how long a request was held, stage=worker is from the "
    "grant request to the confirmed directory change",
    ["product", "outcome", "stage"],
    buckets=GRANT_LATENCY_BUCKETS,
)
REDIS_ERRORS = Counter("seatgate_redis_errors_total", "Redis operations that failed", ["op"])
RULES_VERSION = Gauge("seatgate_rules_version", "Version of the traffic rules in use")
