"""The blast radius of a rules edit: what it would change on recent real traffic.

Both rule sets classify the same request lines (the Redis sample or an access log); a
line whose verdict differs is a changed request, and a user with a request that stops
(or starts) being ``activity`` is a user whose work would stop (or start) counting. The
lines hold no header and no query value, so both sides see conditions on those as
unmet (headers) or empty (values); what such a condition changes is reported as not
measurable instead of as zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seatgate.rules.classifier import Classifier
from seatgate.rules.model import RuleSet
from seatgate.rules.sample import SampleLine

ACTIVITY = "activity"


@dataclass
class BlastRadius:
    source: str  # where the lines came from, for the admin
    requests: int = 0
    changed: int = 0
    # (verdict before, verdict after) → requests
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    users: int = 0  # distinct known users in the lines
    users_to_background: int = 0  # users with a request that stops counting as activity
    users_to_activity: int = 0  # users with a request that starts counting as activity
    unmeasurable: list[str] = field(default_factory=list)  # edited rules conditioned on headers/values

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "requests": self.requests,
            "changed": self.changed,
            "transitions": [
                {"before": before, "after": after, "requests": count}
                for (before, after), count in self.transitions.most_common()
            ],
            "users": self.users,
            "users_to_background": self.users_to_background,
            "users_to_activity": self.users_to_activity,
            "unmeasurable": list(self.unmeasurable),
            "summary": self.summary(),
        }

    def summary(self) -> str:
        if not self.requests:
            return f"blast radius: no requests to measure it on ({self.source})"
        moves = ", ".join(f"{count} {before} → {after}" for (before, after), count in self.transitions.most_common())
        text = (
            f"blast radius: {self.changed} of {self.requests} requests change verdict"
            + (f" ({moves})" if moves else "")
            + f"; for {self.users_to_background} of {self.users} users activity turns into background or passive,"
            f" for {self.users_to_activity} it turns into activity ({self.source})"
        )
        if self.unmeasurable:
            text += f"; not measurable here (header or query-value conditions): {', '.join(self.unmeasurable)}"
        return text


def _edited_rules(before: RuleSet, after: RuleSet) -> list[Any]:
    old = {rule.id: rule for rule in before.rules}
    return [rule for rule in after.rules if old.get(rule.id) != rule] + [
        rule for rule in before.rules if rule.id not in {r.id for r in after.rules}
    ]


def blast_radius(
    before: RuleSet,
    after: RuleSet,
    lines: Iterable[SampleLine],
    kinds: Mapping[str, str | None],
    defaults: Mapping[str, str] | None = None,
    source: str = "recent requests",
) -> BlastRadius:
    """Classify ``lines`` with both rule sets. ``kinds``: product name → kind."""
    old, new = Classifier(before, defaults), Classifier(after, defaults)
    result = BlastRadius(source=source)
    users: set[str] = set()
    lose: set[str] = set()
    gain: set[str] = set()
    for line in lines:
        kind = kinds.get(line.product) or line.product
        query = line.query
        was = old.classify(kind, line.product, line.method, line.path, query).verdict
        now = new.classify(kind, line.product, line.method, line.path, query).verdict
        result.requests += 1
        if line.user is not None:
            users.add(line.user)
        if was == now:
            continue
        result.changed += 1
        result.transitions[was, now] += 1
        if line.user is not None:
            if was == ACTIVITY:
                lose.add(line.user)
            elif now == ACTIVITY:
                gain.add(line.user)
    result.users, result.users_to_background, result.users_to_activity = len(users), len(lose), len(gain)
    result.unmeasurable = [
        rule.id for rule in _edited_rules(before, after) if rule.headers or any(c.op == "equals" for c in rule.query)
    ]
    return result
