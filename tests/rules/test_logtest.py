"""Log replay on Confluence's default access-log format (lines from Atlassian's docs)."""

from __future__ import annotations

from seatgate.rules import Classifier, load_builtin_ruleset
from seatgate.rules.logtest import render, replay

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0 Safari/537.36"
CONFLUENCE_LINES = [
    f"[18/Dec/2020:12:57:26 +1100] testuser http-nio-8090-exec-6 0:0:0:0:0:0:0:1 GET /index.action HTTP/1.1 200 "
    f"1020ms 7881 http://localhost:8090/login.action {UA}",
    f"[18/Dec/2020:12:57:26 +1100] testuser http-nio-8090-exec-1 0:0:0:0:0:0:0:1 GET "
    f"/images/icons/profilepics/default.svg HTTP/1.1 200 46ms 1206 http://localhost:8090/index.action {UA}",
    f"[18/Dec/2020:13:02:20 +1100] testuser http-nio-8090-exec-5 0:0:0:0:0:0:0:1 GET "
    f"/rest/quickreload/latest/2129924?since=1608256850024&_=1608256758069 HTTP/1.1 200 12ms 152 "
    f"http://localhost:8090/pages/viewpage.action?pageId=2129924 {UA}",
    f"[18/Dec/2020:13:02:50 +1100] testuser http-nio-8090-exec-5 0:0:0:0:0:0:0:1 POST /dologin.action "
    f"HTTP/1.1 302 12ms 0 http://localhost:8090/login.action {UA}",
]


def test_confluence_log(tmp_path) -> None:
    log = tmp_path / "conf_access_log.2020-12-18.log"
    log.write_text("\n".join(CONFLUENCE_LINES) + "\n")
    result = replay([log], Classifier(load_builtin_ruleset()))
    assert result.stats.formats == {str(log): "confluence"}
    assert dict(result.per_rule) == {
        (None, "activity"): 1,
        ("static.images", "static"): 1,
        ("confluence.quick-reload", "background"): 1,
        ("login.confluence-form", "activity"): 1,  # applies because the format says Confluence
    }
    assert dict(result.per_user["testuser"]) == {"activity": 2, "static": 1, "background": 1}
    text = render(result)
    assert "4 requests from 4 lines" in text and "confluence.quick-reload" in text
    assert result.to_dict()["users"]["testuser"] == {"static": 1, "background": 1, "activity": 2, "passive": 0}
