"""Replay access logs through the rules: hits per rule, and per user what would count.

This is how an admin sees the effect of a rules change before saving it: run it once
with the current rules and once with the edited file (``rules test --rules FILE``), or
let it compare both at once (``--compare``). Log lines carry a User-Agent and no other
request header, so header rules other than on ``user-agent`` never match here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seatgate.accesslog import ParseStats, iter_records, source_name
from seatgate.rules.classifier import Classifier
from seatgate.rules.model import VERDICTS

ANONYMOUS = "(anonymous)"
DEFAULT = "(default)"
# Log formats → product kind, for logs replayed without --product.
_FORMAT_KIND = {"jira": "jira", "confluence": "confluence", "confluence-docker": "confluence"}


@dataclass
class LogTestResult:
    requests: int = 0
    # (rule id or None for the product default, verdict) → requests
    per_rule: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    # user → verdict → requests
    per_user: dict[str, Counter[str]] = field(default_factory=dict)
    stats: ParseStats = field(default_factory=ParseStats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "lines": self.stats.lines,
            "bad_lines": self.stats.bad,
            "formats": dict(self.stats.formats),
            "rules": [
                {"rule": rule_id, "verdict": verdict, "hits": hits}
                for (rule_id, verdict), hits in self.per_rule.most_common()
            ],
            "users": {
                user: {verdict: counts[verdict] for verdict in VERDICTS}
                for user, counts in sorted(self.per_user.items(), key=_busiest)
            },
        }


def _busiest(item: tuple[str, Counter[str]]) -> tuple[int, str]:
    return (-sum(item[1].values()), item[0])


def replay(
    sources: Iterable[str | Path],
    classifier: Classifier,
    product_kind: str | None = None,
    product_name: str | None = None,
    fmt: str = "auto",
) -> LogTestResult:
    """Classify every request of the logs. Without a product, each log's format decides
    (Jira format → jira, Confluence formats → confluence)."""
    result = LogTestResult()
    per_rule = result.per_rule
    per_user = result.per_user
    for source in sources:
        name = source_name(source)
        kind, product = product_kind, product_name
        for record in iter_records([source], fmt, result.stats):
            if kind is None:
                kind = _FORMAT_KIND.get(result.stats.formats.get(name, ""), "jira")
                product = kind
            headers = {"user-agent": record.user_agent} if record.user_agent else {}
            decision = classifier.classify(kind, product or kind, record.method, record.path, record.query, headers)
            per_rule[decision.rule_id, decision.verdict] += 1
            user = record.user or ANONYMOUS
            counts = per_user.get(user)
            if counts is None:
                counts = per_user[user] = Counter()
            counts[decision.verdict] += 1
            result.requests += 1
    return result


def render(result: LogTestResult, top_users: int = 30, baseline: LogTestResult | None = None) -> str:
    """Plain-text tables: hits per rule, then per user activity vs background."""
    lines = [
        f"{result.requests} requests from {result.stats.lines} lines"
        + (f" ({result.stats.bad} lines not understood)" if result.stats.bad else "")
    ]
    totals = Counter[str]()
    for (_, verdict), hits in result.per_rule.items():
        totals[verdict] += hits
    lines.append("by verdict: " + ", ".join(f"{v} {totals[v]}" for v in VERDICTS))
    lines += ["", "Hits per rule", f"  {'hits':>8}  {'verdict':<10}  rule"]
    for (rule_id, verdict), hits in result.per_rule.most_common():
        lines.append(f"  {hits:>8}  {verdict:<10}  {rule_id or DEFAULT}")
    lines += ["", "Requests per user" + (" (with the current rules → with the tested rules)" if baseline else "")]
    header = f"  {'user':<24}  {'activity':>15}  {'passive':>15}  {'background':>15}  {'static':>15}"
    lines.append(header)
    users = sorted(result.per_user.items(), key=_busiest)
    for user, counts in users[:top_users]:
        before = baseline.per_user.get(user, Counter()) if baseline else None
        cells = [
            _cell(counts[v], before[v] if before is not None else None)
            for v in ("activity", "passive", "background", "static")
        ]
        lines.append(f"  {user[:24]:<24}  " + "  ".join(f"{c:>15}" for c in cells))
    if len(users) > top_users:
        lines.append(f"  ... and {len(users) - top_users} more users (--top-users to see them)")
    return "\n".join(lines)


def _cell(now: int, before: int | None) -> str:
    return str(now) if before is None or before == now else f"{before} → {now}"
