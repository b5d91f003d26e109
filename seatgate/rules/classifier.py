"""The classifier: the proxy's per-request question "what is this request?".

Built once per rules version, then read-only (safe to share between threads and to swap
atomically by assigning a new instance). Rules are indexed by the literal start of their
path pattern, up to two segments (``/rest/quickreload``): a request only scans the rules
of its own prefix plus the few whose pattern starts with a wildcard, in rule order, so
first-match-wins is kept while most rules are never tried. Query strings are parsed only
when a candidate rule has query conditions, and the returned :class:`Decision` objects
are built at compile time, so a classification allocates almost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from seatgate.rules.matcher import CompiledRule, Decision, headers_ok, parse_query, query_ok, request_keys
from seatgate.rules.model import VERDICTS, RuleError, RuleSet

_NO_HEADERS: Mapping[str, str] = {}


def strip_context_path(path: str, context_path: str) -> str:
    """The path as the application names it. Jira and Confluence are often deployed under
    a context path (``https://host/jira/...``); rules are written without it, so
    ``/jira/rest/api/2/myself`` under ``/jira`` is classified as ``/rest/api/2/myself``.
    Paths outside the context path are returned unchanged."""
    if not context_path or not path.startswith(context_path):
        return path
    rest = path[len(context_path) :]
    if not rest:
        return "/"
    return rest if rest[0] == "/" else path  # "/jirafoo" is not under "/jira"


class Classifier:
    """Classify requests with a rule set. ``defaults`` (product name → verdict) override the
    rule set's own defaults, e.g. ``default_verdict`` from each product's settings."""

    __slots__ = ("_by1", "_by2", "_default_cache", "_defaults", "_wild", "compiled", "header_names", "ruleset")

    def __init__(self, ruleset: RuleSet, defaults: Mapping[str, str] | None = None):
        for product, verdict in (defaults or {}).items():
            if verdict not in VERDICTS:
                choices = ", ".join(VERDICTS)
                raise RuleError(f"defaults: {product}: unknown verdict {verdict!r} (one of: {choices})")
        self.ruleset = ruleset
        self._defaults = dict(defaults or {})
        self._default_cache: dict[tuple[str, str], Decision] = {}
        self.compiled: tuple[CompiledRule, ...] = tuple(
            CompiledRule.build(rule, order) for order, rule in enumerate(ruleset.rules)
        )
        # The (lower-case) request headers any rule looks at: a caller need decode no others.
        self.header_names: frozenset[str] = frozenset(c.name for rule in self.compiled for c in rule.headers)
        wild: list[CompiledRule] = []
        depth1: dict[str, list[CompiledRule]] = {}
        depth2: dict[str, list[CompiledRule]] = {}
        for rule in self.compiled:
            if not rule.key:
                wild.append(rule)
            elif rule.key.count("/") == 1:
                depth1.setdefault(rule.key, []).append(rule)
            else:
                depth2.setdefault(rule.key, []).append(rule)

        def ordered(*groups: list[CompiledRule]) -> tuple[CompiledRule, ...]:
            return tuple(sorted((r for g in groups for r in g), key=lambda r: r.order))

        self._wild = ordered(wild)
        self._by1 = {key: ordered(rules, wild) for key, rules in depth1.items()}
        # A depth-2 bucket also holds its parent's depth-1 rules: one lookup finds all.
        self._by2 = {
            key: ordered(rules, depth1.get(key[: key.find("/", 1)], []), wild) for key, rules in depth2.items()
        }

    def candidates(self, path: str) -> tuple[CompiledRule, ...]:
        """The rules that can match ``path``, in rule order."""
        key1, key2 = request_keys(path)
        if key2 is not None:
            found = self._by2.get(key2)
            if found is not None:
                return found
        return self._by1.get(key1, self._wild)

    def classify(
        self,
        product_kind: str,
        product_name: str,
        method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] = _NO_HEADERS,
    ) -> Decision:
        """First matching rule's decision, else the product's default.

        ``path`` excludes the query string; ``headers`` needs only ``get(lowercase_name)``
        (mitmproxy's ``Headers`` or a dict with lower-case keys).
        """
        # Inlined candidates(): this is the proxy's hot path.
        i = path.find("/", 1)
        found = None
        if i >= 0:
            j = path.find("/", i + 1)
            found = self._by2.get(path[:j] if j >= 0 else path)
            if found is None:
                found = self._by1.get(path[:i], self._wild)
        else:
            found = self._by1.get(path, self._wild)
        params = None
        for rule in found:
            if rule.methods is not None and method not in rule.methods:
                continue
            products = rule.products
            if products is not None and product_kind not in products and product_name not in products:
                continue
            needle = rule.needle
            if needle is not None and needle not in path:
                continue
            if rule.match is not None and rule.match(path) is None:
                continue
            if rule.query:
                if params is None:
                    params = parse_query(query)
                if not query_ok(rule.query, params):
                    continue
            if rule.headers and not headers_ok(rule.headers, headers):
                continue
            return rule.decision
        return self.default(product_kind, product_name)

    def default(self, product_kind: str | None, product_name: str | None) -> Decision:
        """The decision when no rule matches: settings' default, else the rule set's."""
        cache_key = (product_kind or "", product_name or "")
        decision = self._default_cache.get(cache_key)
        if decision is None:
            verdict = self._defaults.get(product_name or "") or self.ruleset.default_for(product_kind, product_name)
            decision = self._default_cache[cache_key] = Decision(verdict, None)
        return decision
