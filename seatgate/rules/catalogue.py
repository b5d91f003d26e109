"""The built-in catalogue: ``catalogue.toml`` next to this module, read like any rules file.

Keeping the catalogue as data (not Python) means admins can export it, edit a copy and
import it with the very same loader and validation, and that every rule's source sits in
its description where ``rules show`` and ``rules explain`` print it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from seatgate.rules.io import loads
from seatgate.rules.model import RuleSet


@cache
def load_builtin_ruleset() -> RuleSet:
    # RuleSet is immutable, so one parsed copy can be shared by every caller.
    text = resources.files("seatgate.rules").joinpath("catalogue.toml").read_text(encoding="utf-8")
    return loads(text, "toml")
