"""Access log lines in the products' default patterns (compared with real sample lines)."""

from __future__ import annotations

import re

from tests.simulator.conftest import ADMIN, form_login, license_user

JIRA_LINE = re.compile(
    r'^(?P<ip>\S+) (?P<rid>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<url>\S+) (?P<proto>\S+)" '
    r'(?P<status>\d{3}) (?P<bytes>\S+) (?P<ms>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" "(?P<session>[^"]*)"$'
)
CONFLUENCE_LINE = re.compile(
    r"^\[(?P<time>[^\]]+)\] (?P<user>\S+) (?P<thread>\S+) (?P<host>\S+) (?P<method>\S+) (?P<url>\S+) "
    r"(?P<proto>HTTP/\S+) (?P<status>\d{3}) (?P<ms>\d+)ms (?P<bytes>\S+) (?P<referer>\S+) (?P<agent>.*)$"
)
# Real lines, from the public Jira logs in the project's data and from Atlassian's documentation.
REAL_JIRA = (
    '85.90.246.161 572x3194x1 radim [25/Nov/2015:09:32:29 +0000] "POST /secure/QuickEditIssue.jspa'
    '?issueId=10981&decorator=none HTTP/1.1" 200 - 1685 "http://jira.is4it-test.at/browse/MUS-5" '
    '"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:42.0) Gecko/20100101 Firefox/42.0" "xyagwn"'
)
REAL_CONFLUENCE = (
    "[18/Dec/2020:12:57:20 +1100] testuser http-nio-8090-exec-5 0:0:0:0:0:0:0:1 GET "
    "/rest/quickreload/latest/2129924?since=1608256850024&_=1608256758069 HTTP/1.1 200 12ms 152 "
    "http://localhost:8090/pages/viewpage.action?pageId=2129924 Mozilla/5.0 (Macintosh)"
)


def test_patterns_match_real_lines() -> None:
    assert JIRA_LINE.match(REAL_JIRA)
    assert CONFLUENCE_LINE.match(REAL_CONFLUENCE)


async def test_jira_access_log(make_client, tmp_path) -> None:
    path = tmp_path / "access_log"
    client = await make_client(product="jira", access_log=path)
    await license_user(client, "alice")
    await form_login(client, "alice")
    await client.get("/browse/SIM-1?x=1", headers={"Referer": "http://jira/", "User-Agent": "Test/1.0"})
    client.session.cookie_jar.clear()
    await client.get("/rest/api/2/myself", headers=ADMIN)
    await client.get("/__sim/state")  # not logged
    lines = [JIRA_LINE.match(line) for line in path.read_text().splitlines()]
    assert all(lines) and len(lines) == 3
    login, browse, basic = lines
    assert login["user"] == "alice" and login["method"] == "POST" and login["status"] == "302"
    assert browse["user"] == "alice" and browse["url"] == "/browse/SIM-1?x=1" and browse["status"] == "200"
    assert browse["referer"] == "http://jira/" and browse["agent"] == "Test/1.0"
    assert re.fullmatch(r"\d+x\d+x\d+", browse["rid"]) and browse["session"] != "-"
    assert basic["user"] == "admin" and basic["session"] not in ("-", browse["session"])  # Basic opens a session
    assert re.fullmatch(r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}", browse["time"])


async def test_confluence_access_log(make_client, tmp_path) -> None:
    path = tmp_path / "conf_access_log.log"
    client = await make_client(product="confluence", access_log=path)
    await client.get("/rest/quickreload/latest/5?since=0")
    await client.get("/rest/api/user/current", headers=ADMIN)
    await client.post("/__sim/config", json={"ausername": False})
    await client.get("/status")
    lines = [CONFLUENCE_LINE.match(line) for line in path.read_text().splitlines()]
    assert all(lines) and len(lines) == 3
    assert lines[0]["user"] == "anonymous" and lines[0]["status"] == "401"
    assert lines[1]["user"] == "admin" and lines[1]["thread"].startswith("http-nio-")
    assert lines[2]["user"] == "-"  # %{X-AUSERNAME}o without the header
