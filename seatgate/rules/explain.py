"""Why a request gets its verdict: the deciding rule, its reason, and the near misses.

Explain walks every rule in order with :meth:`CompiledRule.why_not` instead of the
classifier's index, so it doubles as a check of that index: both must always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seatgate.rules.classifier import Classifier
from seatgate.rules.matcher import parse_query
from seatgate.rules.model import PRODUCT_KINDS, RuleError


def resolve_product(product: str | None, products: Mapping[str, str | None]) -> tuple[str | None, str | None]:
    """``(kind, name)`` for a product given by configured name or by kind; (None, None) for none.

    ``products`` maps configured names to kinds (a kind of None: unknown, filters on
    kinds are then ignored for it)."""
    if not product:
        return None, None
    if product in products:
        return products[product], product
    if product in PRODUCT_KINDS:
        return product, product
    known = ", ".join(sorted({*PRODUCT_KINDS, *products}))
    raise RuleError(f"unknown product {product!r} (known: {known})")


@dataclass
class Explanation:
    method: str
    path: str
    query: str
    product: str | None
    verdict: str
    rule_id: str | None
    reason: str
    description: str | None = None
    # Rules whose path pattern matched but that another condition ruled out: (id, why).
    near_misses: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "description": self.description,
            "product": self.product,
            "request": {"method": self.method, "path": self.path, "query": self.query},
            "near_misses": [{"rule": rule_id, "reason": why} for rule_id, why in self.near_misses],
        }

    def render(self) -> str:
        target = f"{self.method} {self.path}{'?' + self.query if self.query else ''}"
        lines = [f"{target}  →  {self.verdict}"]
        if self.rule_id is not None:
            lines.append(f"decided by rule {self.rule_id}: {self.reason}")
            lines.append(f"  {self.description}")
        else:
            lines.append(f"no rule matched: {self.reason}")
        for rule_id, why in self.near_misses:
            lines.append(f"  skipped {rule_id}: {why}")
        return "\n".join(lines)


def explain(
    classifier: Classifier,
    method: str,
    path: str,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    product_kind: str | None = None,
    product_name: str | None = None,
) -> Explanation:
    """Explain a request. Without a product, rules' product filters are ignored."""
    method = method.upper()
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    params = parse_query(query)
    product = product_name or product_kind
    near: list[tuple[str, str]] = []
    for rule in classifier.compiled:
        why_not = rule.why_not(product_kind, product_name, method, path, params, lowered)
        if why_not is None:
            return Explanation(
                method, path, query, product, rule.rule.verdict, rule.rule.id, rule.why(), rule.rule.description, near
            )
        if rule.match is not None and rule.match(path) is not None:
            near.append((rule.rule.id, why_not))
    decision = classifier.default(product_kind, product_name)
    where = f"the default verdict for {product}" if product else "the default verdict"
    return Explanation(method, path, query, product, decision.verdict, None, where, None, near)
