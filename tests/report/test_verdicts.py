"""The verdict cache never changes a verdict, and the crafted-log paths mean what the tests say."""

from __future__ import annotations

import pytest

from seatgate.accesslog import iter_records
from seatgate.report.verdicts import VERDICT_NAMES, CachedClassifier
from seatgate.rules import Classifier, load_builtin_ruleset, loads
from tests.report.conftest import ACTIVITY, BACKGROUND, PASSIVE, STATIC


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_builtin_ruleset())


@pytest.mark.parametrize(
    ("request_line", "verdict"),
    [(ACTIVITY, "activity"), (PASSIVE, "passive"), (BACKGROUND, "background"), (STATIC, "static")],
)
def test_crafted_paths(classifier, request_line, verdict):
    method, _, target = request_line.partition(" ")
    path, _, query = target.partition("?")
    assert VERDICT_NAMES[CachedClassifier(classifier, "jira").verdict(method, path, query, "UA").code] == verdict


def test_cache_agrees_with_the_classifier_on_every_real_line(classifier, real_logs):
    cached = CachedClassifier(classifier, "jira")
    records = list(iter_records(sorted(real_logs.glob("access_log.*"))))
    assert len(records) == 22_441
    for r in records:
        expected = classifier.classify("jira", "jira", r.method, r.path, r.query, {"user-agent": r.user_agent})
        got = cached.verdict(r.method, r.path, r.query, r.user_agent)
        assert (VERDICT_NAMES[got.code], got.rule_id) == (expected.verdict, expected.rule_id), r
    assert cached.calls < len(records) / 5  # and it does save most classifications


def test_query_and_user_agent_conditions_are_honoured():
    ruleset = loads(
        """
format = 1
[[rules]]
id = "poll"
description = "test rule"
path = "/api/thing"
query = ["present:etag"]
verdict = "background"
[[rules]]
id = "pinned"
description = "test rule"
path = "/api/thing"
query = ["equals:mode=42"]
verdict = "passive"
[[rules]]
id = "bot"
description = "test rule"
headers = ["equals:user-agent=bot"]
any_path = true
verdict = "static"
[[rules]]
id = "hidden"
description = "test rule"
headers = ["equals:x-atlassian-mau-ignore=true"]
any_path = true
verdict = "background"
""",
        "toml",
    )
    cached = CachedClassifier(Classifier(ruleset), "jira")

    def v(query: str, agent: str = "browser") -> str:
        return VERDICT_NAMES[cached.verdict("GET", "/api/thing", query, agent).code]

    assert [v("etag=1&_=5"), v("_=6"), v("etag=2"), v("mode=42"), v("mode=43"), v("x=1", "bot")] == [
        "background", "activity", "background", "passive", "activity", "static",
    ]  # fmt: skip


def test_context_path_is_stripped_before_classifying() -> None:
    cached = CachedClassifier(Classifier(load_builtin_ruleset()), "jira", context_path="/jira")
    plain = CachedClassifier(Classifier(load_builtin_ruleset()), "jira")
    for path in ("/rest/quickreload/latest/10000", "/s/abc/_/download/batch/x.js", "/rest/api/2/issue/X-1"):
        expected = plain.verdict("GET", path, "", "UA")
        assert cached.verdict("GET", "/jira" + path, "", "UA") == expected
    # Outside the context path nothing is stripped.
    assert cached.verdict("GET", "/jirax/s/a.js", "", "UA") == plain.verdict("GET", "/jirax/s/a.js", "", "UA")
