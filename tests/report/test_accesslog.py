"""The shared parser: the three Atlassian formats, offsets, anonymous users, bad lines."""

from __future__ import annotations

import calendar
import gzip
import io
import sys

import pytest

from seatgate.accesslog import LogFormatError, ParseStats, detect_format, iter_records

# Verbatim sample lines in the formats of docs/atlassian-facts.md ("Access log formats").
JIRA = (
    '85.90.246.161 476x2680x1 radim [25/Nov/2015:07:56:14 +0000] "GET /rest/greenhopper/1.0/xboard/work/allData.json'
    '?rapidViewId=5&selectedProjectKey=WUT&etag=5%2C1447962772000%2C%5B%5D%2C%5B%5D%2C8&_=1448438175103 HTTP/1.1" 200'
    ' 168 7 "http://jira.is4it-test.at/secure/RapidBoard.jspa?rapidView=5&projectKey=WUT" "Mozilla/5.0 (Windows NT 6.1;'
    ' WOW64; Trident/7.0; rv:11.0) like Gecko" "1ha2hc7"'
)
JIRA_ANON = (
    '85.90.246.161 3x2282x1 - [24/Nov/2015:00:03:02 +0000] "GET /rest/capabilities HTTP/1.1" 200 1504 4 "-"'
    ' "Confluence-5.7.3 (5785)" "-"'
)
JIRA_OFFSET = (
    '192.3.2.1 687x406810x28 userX [17/Apr/2015:11:27:43 -0700] "GET /rest/zephyr/latest/audit?entityType=TESTSTEP'
    '&_=1429295263223 HTTP/1.1" 200 47 91 "https://jira.company.com/issues/?filter=39318" "Mozilla/5.0" "2c0qst"'
)
CONFLUENCE = (
    "[18/Dec/2020:13:02:20 +1100] testuser http-nio-8090-exec-5 0:0:0:0:0:0:0:1 GET /rest/quickreload/latest/2129924"
    "?since=1608256850024&_=1608256758069 HTTP/1.1 200 12ms 152 http://localhost:8090/pages/viewpage.action?pageId="
    "2129924 Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko)"
)
CONFLUENCE_XFF = (
    "[17/Jun/2021:12:57:26 +0200] 192.168.1.15 testuser http-nio-8080-exec-6 0:0:0:0:0:0:0:1 GET /index.action"
    " HTTP/1.1 200 1020ms 7881 http://localhost/ Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6)"
)
CONFLUENCE_DOCKER = (
    '172.17.0.1 admin [23/Nov/2022:23:59:30 +0000] "POST /rest/analytics/1.0/publish/bulk HTTP/1.1" 200 40 13'
    ' /rest/analytics/1.0/publish/bulk http-nio-8090-exec-4 "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"'
)


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, s)))


def parse(text: str, fmt: str = "auto", stats: ParseStats | None = None) -> list:
    return list(iter_records([io.StringIO(text)], fmt, stats))


def test_jira_line_fields():
    (r,) = parse(JIRA + "\n")
    assert r.ts == utc(2015, 11, 25, 7, 56, 14)
    assert (r.user, r.method, r.path, r.status, r.client) == (
        "radim", "GET", "/rest/greenhopper/1.0/xboard/work/allData.json", 200, "85.90.246.161",
    )  # fmt: skip
    assert r.query.startswith("rapidViewId=5&") and r.query.endswith("&_=1448438175103")
    assert r.user_agent == "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"


def test_anonymous_is_none_and_offsets_are_honoured():
    anon, west = parse(JIRA_ANON + "\n" + JIRA_OFFSET + "\n")
    assert anon.user is None and anon.query == ""
    assert west.ts == utc(2015, 4, 17, 18, 27, 43)  # 11:27:43 -0700


def test_confluence_formats():
    (c,) = parse(CONFLUENCE + "\n")
    assert c.ts == utc(2020, 12, 18, 2, 2, 20)  # +1100: the previous day in UTC
    assert (c.user, c.path, c.client) == ("testuser", "/rest/quickreload/latest/2129924", "0:0:0:0:0:0:0:1")
    assert c.query == "since=1608256850024&_=1608256758069"
    assert c.user_agent.startswith("Mozilla/5.0 (Macintosh;")
    (x,) = parse(CONFLUENCE_XFF + "\n")
    assert (x.user, x.path, x.ts) == ("testuser", "/index.action", utc(2021, 6, 17, 10, 57, 26))
    (d,) = parse(CONFLUENCE_DOCKER + "\n")
    assert (d.user, d.method, d.path, d.status) == ("admin", "POST", "/rest/analytics/1.0/publish/bulk", 200)
    assert d.user_agent == "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        (JIRA, "jira"),
        (CONFLUENCE, "confluence"),
        (CONFLUENCE_XFF, "confluence"),
        (CONFLUENCE_DOCKER, "confluence-docker"),
    ],
)
def test_detection(line, fmt):
    assert detect_format([line]) == fmt
    stats = ParseStats()
    parse(line + "\n", stats=stats)
    assert list(stats.formats.values()) == [fmt]


def test_bad_lines_are_counted_with_examples_never_fatal():
    garbage = [f"garbage line {i}" for i in range(8)] + [JIRA.replace("25/Nov/2015", "25/Xyz/2015")]
    stats = ParseStats()
    records = parse("\n".join([JIRA, *garbage, "", JIRA_ANON]) + "\n", "jira", stats)
    assert len(records) == 2
    assert (stats.lines, stats.parsed, stats.bad) == (11, 2, 9)
    assert stats.bad_examples == garbage[:5]


def test_escaped_quote_in_user_agent():
    line = JIRA.replace('"Mozilla/5.0 (Windows', '"Mozilla/5.0 \\"quoted\\" (Windows')
    (r,) = parse(line + "\n", "jira")
    assert r.user_agent.startswith('Mozilla/5.0 \\"quoted\\" (Windows')


def test_gzip_file_and_stdin(tmp_path, monkeypatch):
    gz = tmp_path / "access_log.gz"
    with gzip.open(gz, "wt") as f:
        f.write(JIRA + "\n" + JIRA_ANON + "\n")
    assert [r.user for r in iter_records([gz])] == ["radim", None]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((JIRA + "\r\n").encode())))
    assert [r.user for r in iter_records(["-"])] == ["radim"]


def test_unknown_format_and_undetectable_source():
    with pytest.raises(LogFormatError):
        parse(JIRA, "nginx")
    with pytest.raises(LogFormatError, match="no known access-log format"):
        parse("hello world\n")
    assert parse("\n\n") == []  # empty is not an error


def test_a_file_without_final_newline_and_crlf():
    records = parse(JIRA + "\r\n" + JIRA_ANON)
    assert [r.user for r in records] == ["radim", None]
