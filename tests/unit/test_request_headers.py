"""The addon decodes only the request headers that its credentials and the rules read."""

from __future__ import annotations

from mitmproxy import http

from proxy_addon.addon import SeatGate
from seatgate.rules import Classifier, RuleSet
from seatgate.rules.catalogue import load_builtin_ruleset


def request(*fields: tuple[bytes, bytes]) -> http.Request:
    req = http.Request.make("GET", "http://jira.example.com/rest/api/2/myself")
    req.headers.fields = fields
    return req


def gate(ruleset: RuleSet) -> SeatGate:
    addon = SeatGate()
    addon.traffic.use(Classifier(ruleset))
    return addon


def test_rules_name_the_headers_they_read() -> None:
    assert Classifier(load_builtin_ruleset()).header_names == {"x-atlassian-mau-ignore", "user-agent"}
    ruleset = RuleSet.model_validate(
        {
            "rules": [
                {"id": "h", "description": "d", "verdict": "background", "path": "/x", "headers": ["present:X-Custom"]},
            ]
        }
    )
    assert Classifier(ruleset).header_names == {"x-custom"}


def test_only_wanted_headers_are_read_and_repeats_are_joined() -> None:
    ruleset = RuleSet.model_validate(
        {
            "rules": [
                {"id": "h", "description": "d", "verdict": "background", "path": "/x", "headers": ["present:X-Custom"]},
            ]
        }
    )
    headers = gate(ruleset).traffic.read_headers(
        request(
            (b"Host", b"jira.example.com"),
            (b"Cookie", b"JSESSIONID=a"),
            (b"User-Agent", b"curl"),
            (b"COOKIE", b"seraph.rememberme.cookie=b"),
            (b"Authorization", b"Basic YWxpY2U6cHc="),
            (b"X-Custom", b"1"),
            (b"x-custom", b"2"),
            (b"Content-Type", b"text/plain; charset=\xe9"),
        )
    )
    assert headers == {
        "cookie": "JSESSIONID=a; seraph.rememberme.cookie=b",
        "authorization": "Basic YWxpY2U6cHc=",
        "x-custom": "1, 2",
        "content-type": "text/plain; charset=\u00e9",
    }


def test_new_rules_change_the_headers_read() -> None:
    addon = gate(RuleSet.model_validate({"rules": []}))
    req = request((b"X-Custom", b"1"))
    assert addon.traffic.read_headers(req) == {}
    addon.traffic.use(
        Classifier(
            RuleSet.model_validate(
                {
                    "rules": [
                        {
                            "id": "h",
                            "description": "d",
                            "verdict": "background",
                            "path": "/x",
                            "headers": ["present:x-custom"],
                        },
                    ]
                }
            )
        )
    )
    assert addon.traffic.read_headers(req) == {"x-custom": "1"}
