"""Rule validation: every bad input is one clear RuleError naming the rule and field."""

from __future__ import annotations

import pytest

from seatgate.rules import Rule, RuleError, RuleSet, load_builtin_ruleset, parse_rule, parse_ruleset
from seatgate.rules.io import dumps, loads

GOOD = {"id": "x", "description": "d", "path": "/a/{b}", "verdict": "background"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"regex": "/a/(", "path": None},
            "rule 'x': regex: invalid regular expression '/a/(': missing ), unterminated subpattern at position 3",
        ),
        (
            {"verdict": "ignore"},
            "rule 'x': verdict: unknown verdict 'ignore' (one of: static, background, activity, passive)",
        ),
        ({"id": "Bad Id"}, "rule 'Bad Id': id: 'Bad Id' must be 1-80 of a-z 0-9 . _ - starting with a letter or digit"),
        ({"path": "rest/x"}, "rule 'x': path: 'rest/x' must start with /"),
        ({"path": "/a?b=1"}, "rule 'x': path: must not contain a query string: use query conditions"),
        ({"path": "/a/{b-c}"}, "rule 'x': path: '/a/{b-c}': placeholders are {name} with a-z, 0-9 and _ only"),
        ({"path": "/a/x**"}, "rule 'x': path: '/a/x**': ** must be a whole path segment"),
        ({"regex": "/a"}, "rule 'x': give path or regex, not both"),
        ({"methods": ["GE T"]}, "rule 'x': methods: unknown HTTP method 'GE T' (did you mean 'GET'?)"),
        ({"methods": ["GTE"]}, "rule 'x': methods: unknown HTTP method 'GTE' (did you mean 'GET'?)"),
        ({"methods": ["XYZZY"]}, "rule 'x': methods: unknown HTTP method 'XYZZY'"),
        (
            {"path": None},
            "rule 'x': no path or regex: the rule would match every request; give a path or regex, "
            "or set any_path (--any-path) to mean it",
        ),
        ({"any_path": True}, "rule 'x': any_path is for a rule without path or regex"),
        (
            {"query": ["nonsense"]},
            "rule 'x': query.0: 'nonsense' is not present:NAME, absent:NAME, equals:NAME=VALUE or NAME=VALUE",
        ),
        ({"headers": [{"name": "a", "op": "equals"}]}, "rule 'x': headers.0: equals takes a value"),
        ({"colour": "red"}, "rule 'x': colour: unknown field"),
        ({"pth": "/a"}, "rule 'x': pth: unknown field (did you mean 'path'?)"),
        ({"description": ""}, "rule 'x': description: String should have at least 1 character"),
    ],
)
def test_rule_refusals(change: dict, message: str) -> None:
    data = {**GOOD, **change}
    with pytest.raises(RuleError) as info:
        parse_rule({k: v for k, v in data.items() if v is not None})
    assert str(info.value) == message


def test_missing_verdict_and_bad_product() -> None:
    with pytest.raises(RuleError, match=r"^rule #1: id: is required$"):
        parse_ruleset({"rules": [{"description": "d"}]})
    with pytest.raises(RuleError, match=r"^rule 'a': verdict: is required$"):
        parse_ruleset({"rules": [{"id": "a", "description": "d"}]})
    rules = {"rules": [{**GOOD, "products": ["wiki"]}]}
    refusal = r"^rule 'x': products: unknown product 'wiki' \(known: confluence, jira\)$"
    with pytest.raises(RuleError, match=refusal):
        parse_ruleset(rules, known_products=[])
    assert parse_ruleset(rules, known_products=["wiki"]).rules[0].products == ("wiki",)


def test_duplicate_ids_refused() -> None:
    with pytest.raises(RuleError, match=r"^duplicate rule id 'x'$"):
        parse_ruleset({"rules": [GOOD, GOOD]})


def test_conditions_text_forms() -> None:
    rule = parse_rule(
        {
            **GOOD,
            "query": ["present:etag", "absent:pageid", "equals:a=b", "c=d=e"],
            "headers": ["X-Atlassian-Mau-Ignore=true"],
        }
    )
    assert [str(c) for c in rule.query] == ["present:etag", "absent:pageid", "equals:a=b", "equals:c=d=e"]
    assert [str(c) for c in rule.headers] == ["equals:x-atlassian-mau-ignore=true"]
    assert parse_rule(rule.to_dict()) == rule


def test_edits_are_validated_and_immutable() -> None:
    base = RuleSet(
        rules=(
            Rule(id="a", description="d", path="/a", verdict="static"),
            Rule(id="b", description="d", any_path=True, verdict="passive"),
        )
    )
    added = base.add(Rule(id="c", description="d", path="/c", verdict="activity"), before="b")
    assert base.add(Rule(id="c", description="d", path="/c", verdict="activity"), after="a").ids() == ["a", "c", "b"]
    assert added.move("a", before=None, after="b").ids() == ["c", "b", "a"]
    assert added.ids() == ["a", "c", "b"] and base.ids() == ["a", "b"]
    assert added.move("b", before="a").ids() == ["b", "a", "c"]
    assert added.remove("c") == base
    updated = added.update("c", {"path": "/x", "verdict": "background"})
    assert updated.get("c").path == "/x" and updated.get("c").verdict == "background"
    assert updated.update("c", {"regex": "/y"}).get("c").path is None  # path and regex replace each other
    with pytest.raises(RuleError, match="a rule with this id already exists"):
        base.add(Rule(id="a", description="d", path="/a", verdict="static"))
    with pytest.raises(RuleError, match=r"^no rule with id 'bb' \(did you mean 'b'\?\)$"):
        added.add(Rule(id="d", description="d", path="/d", verdict="static"), before="bb")
    with pytest.raises(RuleError, match=r"^no rule with id 'cc' \(did you mean 'c'\?\)$"):
        added.add(Rule(id="d", description="d", path="/d", verdict="static"), after="cc")
    with pytest.raises(RuleError, match="no rule with id 'zz'"):
        base.remove("zz")
    with pytest.raises(RuleError, match="no rule with id 'zz'"):
        base.move("a", before="zz")
    with pytest.raises(RuleError, match="rule 'a': verdict: unknown verdict"):
        base.update("a", {"verdict": "never"})
    with pytest.raises(RuleError, match="rule 'b': id: a rule with this id already exists"):
        base.update("a", {"id": "b"})


@pytest.mark.parametrize("fmt", ["toml", "yaml", "json"])
def test_catalogue_round_trips(fmt: str) -> None:
    builtin = load_builtin_ruleset()
    assert loads(dumps(builtin, fmt), fmt) == builtin


def test_unknown_format_version_refused() -> None:
    with pytest.raises(RuleError, match="format: unsupported rules format 2"):
        parse_ruleset({"format": 2, "rules": []})
