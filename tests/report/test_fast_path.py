"""The parser's fast path (lean patterns, block reading) gives what the full patterns give.

Every line below is parsed twice: as the report and ``seatgate rules test`` parse it, and
with the lean patterns switched off, which leaves the format's full patterns (fast, then
slow) as the only judge. Records, report rows and counters must be the same.
"""

from __future__ import annotations

import gzip
import io

import pytest

from seatgate import accesslog
from seatgate.accesslog import ParseStats, iter_records, iter_report_rows
from seatgate.report.verdicts import VERDICT_NAMES, CachedClassifier
from seatgate.rules import Classifier, loads
from tests.report.test_accesslog import CONFLUENCE_DOCKER, JIRA, JIRA_ANON

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"


def jira(client="10.0.0.1", user="alice", stamp="24/Nov/2015:08:00:00 +0000", request="GET /browse/X-1 HTTP/1.1",
         status="200", tail=f' 100 5 "https://jira.example.com/" "{UA}" "abc"') -> str:  # fmt: skip
    return f'{client} 1x1x1 {user} [{stamp}] "{request}" {status}{tail}'


def docker(user="admin", request="POST /rest/x HTTP/1.1", agent="Mozilla/5.0 (Macintosh)") -> str:
    stamp = "23/Nov/2022:23:59:30 +0000"
    return f'172.17.0.1 {user} [{stamp}] "{request}" 200 40 13 /rest/x http-nio-8090-exec-4 "{agent}"'


TRICKY_JIRA = [
    jira(),
    JIRA,
    JIRA_ANON,
    jira(user="-"),
    jira(user="anonymous"),
    jira(client="2001:db8::1"),
    jira(client="::1", user="bob"),
    jira(request="GET /issues/?jql=project%20%3D%20X+AND+status%3DOpen HTTP/1.1"),  # spaces encoded
    jira(request="GET /x? HTTP/1.1"),  # empty query
    jira(request="GET /x?a=1?b=2 HTTP/1.1"),  # a "?" inside the query
    jira(request="GET  HTTP/1.1"),  # empty target
    jira(request="GET /x"),  # no protocol
    jira(request="GET /x "),  # empty protocol
    jira(request="GET /x HTTP/1.1 extra"),  # one token too many
    jira(request='GET /a"b HTTP/1.1'),  # a quote in the target
    jira(request="get /x HTTP/1.1"),  # not a method
    jira(request="PROPFIND /x HTTP/1.1"),  # an unusual method
    jira(request="GET /caf\u00e9?q=\u00fc HTTP/1.1"),
    jira(tail=' 100 5 "https://x/" "Mozilla \\"quoted\\" (X11)" "abc"'),  # escaped quotes in the agent
    jira(tail=' 100 5 "https://x/?q=\\"a\\"" "' + UA + '" "abc"'),  # escaped quotes in the referer
    jira(tail=' 100 5 "-" "a\\" \\"b" "abc"'),  # an escaped '" "' in the agent
    jira(tail=f' 100 5 "-" "{UA}"'),  # no session field
    jira(tail=f' 100 5 "-" "{UA}"   '),  # trailing spaces
    jira(tail=f' 100 5 "-" "{UA}" x'),  # junk after the agent
    jira(tail=' 100 5 "-"'),  # no agent
    jira(tail=' - - "-" "" "-"'),  # empty agent, "-" for bytes and duration
    jira(user="al\tice"),  # whitespace other than a space in a field
    jira(client="10.0.0.1\u00a0x"),
    jira(status="\u0662\u0660\u0660"),  # Arabic-Indic digits: \d matches them
    jira(status="2000"),
    jira(stamp="24/Nov/2015:08:00:00 -0700"),
    jira(stamp="24/Nov/2015:08:00:01 +0000"),
    jira(stamp="24/Nov/2015:08X00Y02 +0000"),  # odd separators in an hour already seen
    jira(stamp="24/Nov]2015:08:00:00 +0000"),
    jira(stamp="24/Xyz/2015:08:00:00 +0000"),
    jira(stamp="24/Nov/2015:08:00:00 +0000 "),
    "this is not an access log line",
    "",
    "   ",
    jira() + "\r",
    jira(request="GET /" + "x" * 5000 + " HTTP/1.1"),
]

TRICKY_DOCKER = [
    CONFLUENCE_DOCKER,
    docker(),
    docker(user="-"),
    docker(request="GET /x?a=1&b=%20 HTTP/1.1"),
    docker(request="GET /x"),
    docker(request='GET /a"b HTTP/1.1'),
    docker(agent='a \\"b\\" c'),
    docker(agent="") + "  ",
    docker() + " trailing",
]


def both_ways(monkeypatch: pytest.MonkeyPatch, text: str, fmt: str) -> tuple[tuple, tuple]:
    def run() -> tuple:
        stats, report_stats = ParseStats(), ParseStats()
        records = [tuple(r) for r in iter_records([io.StringIO(text)], fmt, stats)]
        report = [row for rows in iter_report_rows([io.StringIO(text)], fmt, report_stats) for row in rows]
        counters = (stats.lines, stats.parsed, stats.bad, stats.bad_examples, stats.utc_offsets)
        assert counters == (report_stats.lines, report_stats.parsed, report_stats.bad,
                            report_stats.bad_examples, report_stats.utc_offsets)  # fmt: skip
        assert report == [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in records]
        return records, counters

    fast = run()
    with monkeypatch.context() as patched:
        patched.setattr(accesslog, "_LEAN", {})
        patched.setattr(accesslog, "_LEAN_REPORT", {})
        full = run()
    return fast, full


@pytest.mark.parametrize("line", TRICKY_JIRA, ids=range(len(TRICKY_JIRA)))
def test_each_tricky_jira_line_parses_as_the_full_patterns_parse_it(monkeypatch, line):
    # After a well-formed line of the same hour, so that the timestamp caches are warm.
    fast, full = both_ways(monkeypatch, jira() + "\n" + line + "\n", "jira")
    assert fast == full


@pytest.mark.parametrize("line", TRICKY_DOCKER, ids=range(len(TRICKY_DOCKER)))
def test_each_tricky_docker_line_parses_as_the_full_patterns_parse_it(monkeypatch, line):
    fast, full = both_ways(monkeypatch, docker() + "\n" + line + "\n", "confluence-docker")
    assert fast == full


def test_all_tricky_lines_together_with_detection(monkeypatch):
    fast, full = both_ways(monkeypatch, "\n".join(TRICKY_JIRA) + "\n", "auto")
    assert fast == full
    assert fast[1][2] > 5  # several of them are bad lines


def test_the_lean_pattern_vouches_for_well_formed_lines():
    for line in (jira(), JIRA, JIRA_ANON, jira(request="GET /x?a=1?b=2 HTTP/1.1")):
        m = accesslog._LEAN_REPORT["jira"].match(line)
        assert m is not None and '"' not in m.group(4)
    assert accesslog._LEAN_REPORT["confluence-docker"].match(docker()) is not None


def lines_of(data: bytes, tmp_path, block_size: int, monkeypatch) -> dict[str, tuple]:
    """Records read from bytes every way a source can come, with small blocks."""
    monkeypatch.setattr(accesslog, "BLOCK_SIZE", block_size)
    plain, packed = tmp_path / "access_log", tmp_path / "access_log.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline=None).read()
    out = {}
    for name, source in [("text", io.StringIO(text)), ("bytes", io.BytesIO(data)), ("file", plain), ("gz", packed)]:
        stats = ParseStats()
        out[name] = ([tuple(r) for r in iter_records([source], "auto", stats)], stats.lines, stats.bad)
    return out


@pytest.mark.parametrize("block_size", [1, 7, 64, 1 << 16])
def test_binary_reading_decodes_like_a_text_stream(tmp_path, monkeypatch, block_size):
    lines = [jira(), jira(user="b\u00e9r\u00e9nice"), jira(user="bob"), "garbage", jira(user="carol")]
    data = "\r\n".join(lines[:2]).encode() + b"\r" + lines[2].encode() + b"\n\xff\xfe broken \xc3\n"
    data += "\n".join(lines[3:]).encode()  # no final newline
    got = lines_of(data, tmp_path, block_size, monkeypatch)
    assert got["bytes"] == got["file"] == got["gz"] == got["text"]
    records, n_lines, bad = got["file"]
    assert [r[1] for r in records] == ["alice", "b\u00e9r\u00e9nice", "bob", "carol"]
    assert (n_lines, bad) == (6, 2)


def test_verdict_cache_with_a_user_agent_rule_before_query_rules():
    ruleset = loads(
        """
format = 1
[[rules]]
id = "bot"
description = "test rule"
headers = ["equals:user-agent=bot"]
any_path = true
verdict = "static"
[[rules]]
id = "poll"
description = "test rule"
path = "/api/*"
query = ["present:etag", "absent:x y"]
verdict = "background"
[[rules]]
id = "pinned"
description = "test rule"
path = "/api/thing"
query = ["equals:mode=42"]
verdict = "passive"
""",
        "toml",
    )
    classifier = Classifier(ruleset)
    cached = CachedClassifier(classifier, "jira")
    queries = ["", "etag=1", "etag", "&etag&", "%65tag=1", "et%61g", "etag+=1", "etag=1&x+y=2", "etag=1&x%20y",
               "mode=42", "mode=43&etag=1", "_=1&etag=5%2C1%2C", "etagx=1", "x=etag", "a=1&=etag"]  # fmt: skip
    for path in ("/api/thing", "/api/other", "/elsewhere"):
        for agent in ("bot", "browser", ""):
            headers = {"user-agent": agent} if agent else {}
            for query in queries * 2:  # the second time from the cache
                expected = classifier.classify("jira", "jira", "GET", path, query, headers)
                got = cached.verdict("GET", path, query, agent)
                assert (VERDICT_NAMES[got.code], got.rule_id) == (expected.verdict, expected.rule_id), query
