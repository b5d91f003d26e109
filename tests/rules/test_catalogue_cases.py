"""The built-in catalogue against requests taken from the research (polling-endpoints.md).

Each case is (product kind, method, URL as logged, request headers, expected verdict,
expected deciding rule or None for the product default). Real log lines are from the
JALA Jira logs (2015), the Confluence access-log docs and Atlassian's performance toolkit.
"""

from __future__ import annotations

import pytest

from seatgate.rules import Classifier, load_builtin_ruleset
from seatgate.rules.explain import explain

HIDDEN = {"x-atlassian-mau-ignore": "true"}
EAZYBI = {"user-agent": "eazyBI (https://eazybi.com)"}
APPLINK = {"user-agent": "Confluence-5.7.3 (5785)"}

CASES: list[tuple[str, str, str, dict[str, str], str, str | None]] = [
    # --- static assets -------------------------------------------------------------
    (
        "jira",
        "GET",
        "/s/cb66ed2404b01894eb019aade42f38cd-CDN/en_UK-bheeaj/64017/28/1/_/download/contextbatch/js/atl.admin/batch.js",
        {},
        "static",
        "static.resources",
    ),
    ("jira", "GET", "/s/en_UK842x65/64017/28/_/images/icon-jira-logo.png", {}, "static", "static.resources"),
    (
        "confluence",
        "GET",
        "/download/batch/confluence.web.resources:ajs/confluence.web.resources:ajs.js",
        {},
        "static",
        "static.download-batch",
    ),
    ("confluence", "GET", "/download/contextbatch/css/main/batch.css", {}, "static", "static.download-batch"),
    (
        "jira",
        "GET",
        "/download/resources/is.origo.jira.tempo-plugin/img/loadingAnimation.gif",
        {},
        "static",
        "static.download-resources",
    ),
    ("jira", "GET", "/images/icons/emoticons/wink.gif", {}, "static", "static.images"),
    ("confluence", "GET", "/images/icons/profilepics/default.svg", {}, "static", "static.images"),
    ("jira", "GET", "/favicon.ico", {}, "static", "static.favicon"),
    ("jira", "GET", "/secure/useravatar?ownerId=radim&avatarId=10625&s=48", {}, "static", "static.avatars"),
    (
        "jira",
        "GET",
        "/secure/viewavatar?size=xsmall&avatarId=10617&avatarType=issuetype",
        {},
        "static",
        "static.avatars",
    ),
    (
        "jira",
        "GET",
        "/plugins/servlet/gadgets/js/auth-refresh.js?v=5d17&container=atlassian",
        {},
        "static",
        "static.gadget-js",
    ),
    ("jira", "GET", "/servicedesk/issue-type-icons?icon=task", {}, "static", "static.jsm-issue-type-icons"),
    # static wins even from a hidden tab: assets are never identified
    ("jira", "GET", "/s/x/_/download/batch/a.js", HIDDEN, "static", "static.resources"),
    # --- logins always grant ------------------------------------------------------------
    ("jira", "POST", "/login.jsp", {}, "activity", "login.jira-form"),
    ("jira", "POST", "/rest/gadget/1.0/login", {}, "activity", "login.jira-gadget"),
    ("jira", "POST", "/rest/auth/1/session", {}, "activity", "login.jira-rest-session"),
    ("confluence", "POST", "/dologin.action", {}, "activity", "login.confluence-form"),
    ("jira", "POST", "/rest/gadget/1.0/login", HIDDEN, "activity", "login.jira-gadget"),
    # --- hidden tab ----------------------------------------------------------------------
    ("jira", "GET", "/browse/SK-14", HIDDEN, "background", "hidden-tab"),
    (
        "confluence",
        "GET",
        "/pages/viewpage.action?pageId=2129924",
        {"x-atlassian-mau-ignore": "TRUE"},
        "background",
        "hidden-tab",
    ),
    ("jira", "GET", "/browse/SK-14", {"x-atlassian-mau-ignore": "false"}, "activity", None),
    # --- row 1a/1b/1c: JSM ---------------------------------------------------------------
    (
        "jira",
        "GET",
        "/rest/servicedesk/1/servicedesk/SD/queues/poll?projectStateHash=undefined?_",
        {},
        "background",
        "jsm.queue-poll",
    ),
    (
        "jira",
        "GET",
        "/rest/servicedesk/1/servicedesk/ITSM/issuelist/updated?asc=false&currentIssueHash=f28505024e00a8d3cc3a408bffacba4d44803233",
        {},
        "background",
        "jsm.queue-issuelist-updated",
    ),
    (
        "jira",
        "POST",
        "/rest/servicedesk/1/servicedesk/sla/admin/task/destructive/reconstruct?force=true",
        {},
        "activity",
        "jsm.sla-reconstruct",
    ),
    # --- row 2: Quick Reload ---------------------------------------------------------------
    (
        "confluence",
        "GET",
        "/rest/quickreload/latest/2129924?since=1608256850024&_=1608256758069",
        {},
        "background",
        "confluence.quick-reload",
    ),
    ("confluence", "GET", "/rest/quickreload/latest/123?since=1", {}, "background", "confluence.quick-reload"),
    ("jira", "GET", "/rest/quickreload/latest/0", {}, "background", "confluence.quick-reload"),
    # --- row 3: notifications -------------------------------------------------------------
    (
        "confluence",
        "GET",
        "/rest/mywork/latest/status/notification/count?_=1502416641768",
        {},
        "background",
        "confluence.notification-count",
    ),
    (
        "confluence",
        "GET",
        "/rest/mywork/latest/status/notification/count",
        {},
        "background",
        "confluence.notification-count",
    ),
    (
        "confluence",
        "GET",
        "/rest/mywork/latest/status/notification/count?pageid=11174759",
        {},
        "passive",
        "confluence.notification-count-page-load",
    ),
    # --- row 4: analytics ------------------------------------------------------------------
    ("jira", "POST", "/rest/analytics/1.0/publish/bulk", {}, "background", "analytics.publish"),
    ("confluence", "POST", "/rest/analytics/1.0/publish/bulk", {}, "background", "analytics.publish"),
    # --- row 5/5b/6/7: Confluence editor ----------------------------------------------------
    ("confluence", "POST", "/json/startheartbeatactivity.action", {}, "background", "confluence.editor-heartbeat"),
    ("confluence", "POST", "/json/heartbeat.action", {}, "background", "confluence.editor-heartbeat"),
    ("confluence", "POST", "/json/stopheartbeatactivity.action", {}, "passive", "confluence.editor-heartbeat-stop"),
    ("confluence", "POST", "/rest/tinymce/1/drafts", {}, "activity", "confluence.draft-save"),
    (
        "confluence",
        "GET",
        "/rest/synchrony/1.0/token/2129924/generate?errorType=expired",
        {},
        "background",
        "confluence.synchrony-token",
    ),
    ("confluence", "GET", "/synchrony/v1/bayeux-sync1", {}, "passive", "confluence.synchrony-transport"),
    ("confluence", "GET", "/rest/synchrony-interop/configuration", {}, "passive", "confluence.synchrony-interop"),
    ("confluence", "GET", "/rest/synchrony-interop/synchrony-status", {}, "passive", "confluence.synchrony-interop"),
    # --- row 8: board -----------------------------------------------------------------------
    (
        "jira",
        "GET",
        "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=5&selectedProjectKey=WUT&etag=5%2C1447962772000%2C%5B%5D%2C%5B%5D%2C8&_=1448438175103",
        {},
        "background",
        "jira.board-poll",
    ),
    (
        "jira",
        "GET",
        "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=5&selectedProjectKey=WUT&_=1448438143125",
        {},
        "passive",
        "jira.board-load",
    ),
    # --- rows 9-12: dashboard -------------------------------------------------------------------
    (
        "jira",
        "GET",
        "/rest/gadget/1.0/issueTable/filter?num=20&filterId=10300&_=1447331782348",
        {},
        "background",
        "jira.gadget-data",
    ),
    (
        "jira",
        "GET",
        "/rest/gadget/1.0/createdVsResolved/generate?projectOrFilterId=filter-10300",
        {},
        "background",
        "jira.gadget-data",
    ),
    ("jira", "POST", "/plugins/servlet/gadgets/security-tokens", {}, "background", "jira.gadget-security-tokens"),
    ("jira", "POST", "/plugins/servlet/gadgets/dashboard-diagnostics", {}, "passive", "jira.dashboard-diagnostics"),
    (
        "jira",
        "GET",
        "/plugins/servlet/gadgets/ifr?container=atlassian&mid=1&country=UK",
        {},
        "passive",
        "jira.gadget-iframe",
    ),
    (
        "jira",
        "GET",
        "/rest/activity-stream/1.0/preferences?_=1447303866504",
        {},
        "passive",
        "jira.activity-stream-preferences",
    ),
    (
        "jira",
        "GET",
        "/plugins/servlet/streams?maxResults=10&relativeLinks=true&_=1",
        {},
        "background",
        "jira.activity-stream",
    ),
    # --- rows 13-21: page-load satellites ------------------------------------------------------
    ("jira", "POST", "/rest/webResources/1.0/resources", {}, "passive", "wrm.resources"),
    ("confluence", "POST", "/rest/wrm/2.0/resources", {}, "passive", "wrm.resources"),
    (
        "confluence",
        "GET",
        "/rest/troubleshooting/1.0/check/admin?_=1669247969899",
        {},
        "passive",
        "troubleshooting.health-check-notice",
    ),
    ("jira", "GET", "/rest/supportHealthCheck/1.0/check/radim", {}, "passive", "troubleshooting.health-check-notice"),
    ("jira", "GET", "/rest/plugins/1.0/notifications", {}, "passive", "upm.notifications"),
    ("jira", "GET", "/rest/plugins/1.0/notifications/radim", {}, "passive", "upm.notifications"),
    ("jira", "GET", "/rest/helptips/1.0/tips", {}, "passive", "helptips.load"),
    ("confluence", "POST", "/rest/helptips/1.0/tips", {}, "activity", "helptips.dismiss"),
    ("jira", "GET", "/rest/nps/1.0/config", {}, "passive", "nps.config"),
    ("jira", "GET", "/rest/menu/latest/appswitcher?_=1447330882000", {}, "passive", "navlinks.appswitcher"),
    (
        "jira",
        "GET",
        "/rest/menu/latest/isAppSuggestionAvailable?_=1447330882001",
        {},
        "passive",
        "navlinks.appswitcher",
    ),
    ("jira", "GET", "/rest/scriptrunner/1.0/message?_=1447303839840", {}, "passive", "scriptrunner.message"),
    ("jira", "PUT", "/rest/projects/1.0/project/ANFO/lastVisited", {}, "passive", "jira.project-last-visited"),
    ("jira", "GET", "/rest/internal/1.0/licensebanner/markup", {}, "passive", "jira.license-banner"),
    # --- rows 22-28: non-browser and others -------------------------------------------------------
    ("jira", "GET", "/rest/capabilities", APPLINK, "background", "applinks.capabilities"),
    ("jira", "GET", "/rest/capabilities/navigation?lang=de-DE", APPLINK, "background", "applinks.capabilities"),
    ("jira", "GET", "/rest/applinks/1.0/manifest", {}, "background", "applinks.manifest"),
    (
        "jira",
        "GET",
        "/rest/remote-event-consumer/1/capabilities",
        {},
        "background",
        "applinks.remote-event-capabilities",
    ),
    ("jira", "GET", "/status", {}, "background", "health.status"),
    ("confluence", "GET", "/status", {}, "background", "health.status"),
    ("confluence", "GET", "/synchrony/heartbeat", {}, "background", "confluence.synchrony-heartbeat"),
    (
        "confluence",
        "POST",
        "/rest/mobile/1.0/push-notification/registration",
        {},
        "background",
        "confluence.mobile-push",
    ),
    ("jira", "POST", "/rest/nativemobile/1.0/batch", {}, "passive", "jira.mobile-batch"),
    ("confluence", "POST", "/rest/mywork/1/client/pong?appId=abc", {}, "background", "mywork.client-registration"),
    ("jira", "POST", "/rest/mywork-client/1/registration", {}, "background", "mywork.client-registration"),
    (
        "confluence",
        "GET",
        "/rest/dashboardmacros/1.0/updates?maxResults=40&tab=all",
        {},
        "passive",
        "confluence.dashboard-updates",
    ),
    (
        "confluence",
        "GET",
        "/rest/jira-metadata/1.0/metadata/aggregate?pageId=1",
        {},
        "passive",
        "confluence.jira-metadata",
    ),
    ("confluence", "POST", "/chat/heartbeat.action", {}, "background", "confluence.chat-heartbeat"),
    ("jira", "GET", "/rest/tempo-teams/1/team", EAZYBI, "background", "eazybi.import"),
    (
        "jira",
        "GET",
        "/rest/com.onresolve.jira.plugin.Behaviours/1.0/behaviours/validators.json?issueId=1",
        {},
        "passive",
        "scriptrunner.behaviours",
    ),
    # --- real work: product default (activity) ----------------------------------------------------
    ("jira", "GET", "/browse/SK-14", {}, "activity", None),
    ("jira", "POST", "/secure/QuickEditIssue.jspa?issueId=10981&decorator=none", {}, "activity", None),
    ("jira", "GET", "/secure/Dashboard.jspa", {}, "activity", None),
    ("jira", "GET", "/secure/RapidBoard.jspa?rapidView=5&projectKey=WUT", {}, "activity", None),
    ("jira", "POST", "/rest/issueNav/1/issueTable", {}, "activity", None),
    ("jira", "GET", "/rest/api/2/issue/10981", {}, "activity", None),
    ("confluence", "GET", "/index.action", {}, "activity", None),
    ("confluence", "GET", "/pages/viewpage.action?pageId=2129924", {}, "activity", None),
    ("confluence", "GET", "/download/attachments/2129924/report.pdf", {}, "activity", None),
    # method and product filters
    ("jira", "GET", "/login.jsp", {}, "activity", None),
    ("jira", "DELETE", "/rest/helptips/1.0/tips", {}, "activity", "helptips.dismiss"),
    ("jira", "POST", "/rest/quickreload/latest/5", {}, "activity", None),
    ("confluence", "GET", "/rest/gadget/1.0/issueTable/filter", {}, "activity", None),
    ("confluence", "POST", "/login.jsp", {}, "activity", None),
]


def _split(url: str) -> tuple[str, str]:
    path, _, query = url.partition("?")
    return path, query


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    covered = {rule_id for *_, rule_id in CASES}
    # every built-in rule is exercised by at least one case
    assert set(load_builtin_ruleset().ids()) <= covered


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_builtin_ruleset())


@pytest.mark.parametrize(("kind", "method", "url", "headers", "verdict", "rule_id"), CASES)
def test_builtin_classification(
    classifier: Classifier,
    kind: str,
    method: str,
    url: str,
    headers: dict[str, str],
    verdict: str,
    rule_id: str | None,
) -> None:
    path, query = _split(url)
    decision = classifier.classify(
        product_kind=kind, product_name=kind, method=method, path=path, query=query, headers=headers
    )
    assert (decision.verdict, decision.rule_id) == (verdict, rule_id)
    # explain must tell the same story as the hot path
    explained = explain(classifier, method, path, query, headers, product_kind=kind, product_name=kind)
    assert (explained.verdict, explained.rule_id) == (verdict, rule_id)


def test_settings_default_overrides_ruleset_default() -> None:
    classifier = Classifier(load_builtin_ruleset(), defaults={"wiki": "passive"})
    assert classifier.classify("confluence", "wiki", "GET", "/index.action").verdict == "passive"
    assert classifier.classify("confluence", "other", "GET", "/index.action").verdict == "activity"
    # rules still win over defaults
    assert classifier.classify("confluence", "wiki", "GET", "/status").verdict == "background"
