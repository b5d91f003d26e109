"""Traffic classification: which requests count as work.

An ordered list of admin-editable rules (first match wins) with a built-in catalogue of
Atlassian's background endpoints; a fast :class:`Classifier` for the proxy's hot path;
a Redis-backed, versioned, audited :class:`RulesStore`; and a :class:`RulesWatcher` that
hands every proxy each new version within seconds.
"""

from seatgate.rules.catalogue import load_builtin_ruleset
from seatgate.rules.classifier import Classifier, strip_context_path
from seatgate.rules.io import dumps, load_ruleset_file, loads
from seatgate.rules.matcher import Decision
from seatgate.rules.model import (
    PRODUCT_KINDS,
    VERDICTS,
    Condition,
    Rule,
    RuleError,
    RuleSet,
    parse_rule,
    parse_ruleset,
)
from seatgate.rules.store import RulesStore
from seatgate.rules.watcher import RulesWatcher

__all__ = [
    "PRODUCT_KINDS",
    "VERDICTS",
    "Classifier",
    "Condition",
    "Decision",
    "Rule",
    "RuleError",
    "RuleSet",
    "RulesStore",
    "RulesWatcher",
    "dumps",
    "load_builtin_ruleset",
    "load_ruleset_file",
    "loads",
    "parse_rule",
    "parse_ruleset",
    "strip_context_path",
]
