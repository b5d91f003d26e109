"""addon.py: the hooks. configure acts only on what changed."""

from __future__ import annotations

from proxy_addon.addon import SeatGate
from seatgate.rules import RuleSet
from tests.proxy_addon.support import settings

STORED = RuleSet.model_validate(
    {"rules": [{"id": "admin.x", "description": "an admin's rule", "verdict": "background", "path": "/x"}]}
)


def test_an_unrelated_option_change_keeps_the_stored_rules() -> None:
    addon = SeatGate(settings())
    addon.configure(set())  # mitmproxy's first configure
    builtin = addon.traffic.classifier
    assert builtin is not None and builtin.ruleset is not STORED
    addon._rules_changed(7, STORED)  # what the rules watcher calls after an admin's save
    addon.configure({"stream_large_bodies"})  # another addon's option changed
    assert addon.traffic.classifier is not None
    assert addon.traffic.classifier.ruleset is STORED
    assert addon.rules_version == 7


def test_first_configure_builds_the_classifier_and_hasher() -> None:
    addon = SeatGate(settings())
    addon.configure(set())
    assert addon.hasher is not None
    assert addon.traffic.classifier is not None
    assert len(addon.traffic.classifier.ruleset.rules) > 20  # the built-in catalogue
