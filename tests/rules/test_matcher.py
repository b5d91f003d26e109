"""Path patterns and the classifier's prefix index."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatgate.rules import Classifier, Rule, RuleSet
from seatgate.rules.matcher import glob_to_regex, index_key


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("/rest/quickreload/latest/{pageId}", "/rest/quickreload/latest/123", True),
        ("/rest/quickreload/latest/{pageId}", "/rest/quickreload/latest/", False),
        ("/rest/quickreload/latest/{pageId}", "/rest/quickreload/latest/1/2", False),
        ("/s/**", "/s/a/b/c.js", True),
        ("/s/**", "/s", True),
        ("/s/**", "/sx/a", False),
        ("/rest/**/remotelink", "/rest/remotelink", True),
        ("/rest/**/remotelink", "/rest/api/2/issue/1/remotelink", True),
        ("/json/*.action", "/json/heartbeat.action", True),
        ("/json/*.action", "/json/a/b.action", False),
        ("/a.b", "/aXb", False),
    ],
)
def test_glob(glob: str, path: str, matches: bool) -> None:
    assert (re.fullmatch(glob_to_regex(glob), path) is not None) is matches


@pytest.mark.parametrize(
    ("field", "pattern", "key"),
    [
        ("path", "/rest/quickreload/latest/{id}", "/rest/quickreload"),
        ("path", "/status", "/status"),
        ("path", "/s/**", "/s"),
        ("path", "/{x}/y", ""),
        ("path", "/rest/quick*/x", "/rest"),
        ("regex", "/rest/(?:wrm|webResources)/.*", "/rest"),
        ("regex", "^/rest/analytics/.*$", "/rest/analytics"),
        ("regex", "/rest/analytics/?", "/rest"),
        ("regex", "/rest/a|/json/b", ""),
        ("regex", "(?i)/rest/a/b", ""),
        ("regex", r"/rest/com\.x/1/y", "/rest/com.x"),
        ("regex", r"/rest/x\d/y", "/rest"),
    ],
)
def test_index_key(field: str, pattern: str, key: str) -> None:
    rule = Rule.model_validate({"id": "r", "description": "d", field: pattern, "verdict": "static"})
    assert index_key(rule) == key


SEGMENTS = st.sampled_from(["rest", "api", "s", "x", "1", "a.b", "status", ""])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=5).map(lambda segs: "/" + "/".join(segs))
GLOB_SEGMENTS = st.sampled_from(["rest", "api", "s", "x", "1", "a.b", "status", "{p}", "*", "**", "a*"])
GLOBS = st.lists(GLOB_SEGMENTS, min_size=1, max_size=4).map(lambda segs: "/" + "/".join(segs))
REGEXES = st.sampled_from(
    [
        r"/rest/.*",
        r"/rest/x(?:/1)?",
        r"/s/[^/]+",
        r"/(rest|api)/x",
        r"/status/?",
        r"/rest/a\.b/.*",
        r"/x|/rest/x",
        r".*",
    ]
)


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    rules = []
    for i in range(draw(st.integers(1, 12))):
        spec = {"id": f"r{i}", "description": "d", "verdict": draw(st.sampled_from(["static", "passive"]))}
        kind = draw(st.sampled_from(["path", "regex", "none"]))
        if kind == "path":
            spec["path"] = draw(GLOBS)
        elif kind == "regex":
            spec["regex"] = draw(REGEXES)
        else:
            spec["any_path"] = True
        if draw(st.booleans()):
            spec["methods"] = [draw(st.sampled_from(["GET", "POST"]))]
        rules.append(spec)
    return RuleSet.model_validate({"rules": rules})


@settings(max_examples=300, deadline=None)
@given(rulesets(), PATHS, st.sampled_from(["GET", "POST"]))
def test_index_agrees_with_linear_scan(ruleset: RuleSet, path: str, method: str) -> None:
    classifier = Classifier(ruleset)
    matching = [c.rule.id for c in classifier.compiled if c.why_not(None, None, method, path, {}, {}) is None]
    expected = matching[0] if matching else None
    assert classifier.classify("jira", "jira", method, path).rule_id == expected


@pytest.mark.parametrize(
    "path,context,expected",
    [
        ("/jira/rest/api/2/myself", "/jira", "/rest/api/2/myself"),
        ("/jira", "/jira", "/"),
        ("/jira/", "/jira", "/"),
        ("/jirafoo/rest", "/jira", "/jirafoo/rest"),
        ("/rest/api/2/myself", "/jira", "/rest/api/2/myself"),
        ("/wiki/rest/x", "/wiki", "/rest/x"),
        ("/rest/x", "", "/rest/x"),
    ],
)
def test_strip_context_path(path: str, context: str, expected: str) -> None:
    from seatgate.rules import strip_context_path

    assert strip_context_path(path, context) == expected
