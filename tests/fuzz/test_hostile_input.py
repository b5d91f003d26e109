"""Hostile and broken input, generated with hypothesis, against every parser of outside input.

Each parser either returns a valid result or raises its own documented error with a
message; nothing else escapes. Nothing garbage yields a username that could be granted.
Runs derandomized (same examples every run) with modest example counts.
"""

from __future__ import annotations

import base64
import io
import json
import math
import string
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from proxy_addon import saml
from proxy_addon.credentials import (
    MAX_USERNAME,
    Credentials,
    applink_requestor,
    cookie_value,
    extract,
    login_claim,
    parse_basic,
    valid_username,
)
from seatgate.accesslog import FORMATS, LogFormatError, LogRecord, ParseStats, iter_records
from seatgate.keyed_hash import KeyedHasher
from seatgate.rules import VERDICTS, Classifier, RuleError, RuleSet, load_builtin_ruleset, load_ruleset_file, loads
from seatgate.rules import parse_ruleset as parse_rules
from seatgate.settings import ConfigError, Settings, load_settings

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FEW = settings(FUZZ, max_examples=60)

HASHER = KeyedHasher(b"fuzzing-key-0123456789abcdef")
SESSION_COOKIES = ["JSESSIONID"]
REMEMBERME_COOKIES = ["seraph.rememberme.cookie", "seraph.confluence"]

# Header values reach the addon decoded as latin-1: any of the 256 byte values.
latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=300)
printable = st.text(st.sampled_from(string.printable), max_size=200)
# Anything text may hold: surrogates excluded (they cannot come out of a decoded request).
anything = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)
usernames = st.one_of(
    st.sampled_from(
        [
            "alice",
            "bob",
            "admin",
            "anonymous",
            "",
            " ",
            "a:b",
            "x" * (MAX_USERNAME + 1),
            "al\x00ice",
            "\u202eecila",
            "alice ",
            "élodie",
        ]
    ),
    st.text(max_size=40),
)


def granted_shape(user: str | None) -> bool:
    """A claimed user must be None or a name the proxy could ask a grant for."""
    return user is None or (valid_username(user) and user == user.strip())


def encode_basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


authorizations = st.one_of(
    latin1,
    st.builds(encode_basic, st.binary(max_size=200)),
    st.builds(lambda u, p: encode_basic(f"{u}:{p}".encode()), usernames, anything),
    st.builds(
        lambda raw: encode_basic(raw),
        st.sampled_from([b"\xff\xfe:pw", b":", b"::", b"", b":pw", b"alice", b"alice:", b"\x00:\x00"]),
    ),
    st.sampled_from(
        [
            "Basic",
            "Basic ",
            "Basic Og==",
            "basic YWxpY2U6YWxpY2U=",
            "Basic !!!",
            "Basic " + "A" * 9001,
            "Bearer",
            "Bearer ",
            "Bearer " + "t" * 5000,
            "OAuth",
            'OAuth xoauth_requestor_id="%00"',
            'OAuth xoauth_requestor_id="alice%3Aadmin"',
            "Negotiate abc",
        ]
    ),
    st.builds(lambda scheme, rest: f"{scheme} {rest}", st.sampled_from(["Basic", "Bearer", "OAuth", "BASIC"]), latin1),
)
cookies = st.one_of(
    latin1,
    st.lists(
        st.tuples(
            st.sampled_from(
                ["JSESSIONID", "seraph.rememberme.cookie", "seraph.confluence", "x", "JSESSIONIDX", " JSESSIONID", ""]
            ),
            latin1,
        ),
        max_size=6,
    ).map(lambda pairs: "; ".join(f"{k}={v}" for k, v in pairs)),
    st.just("JSESSIONID=" + "a" * 100_000),
)
paths = st.one_of(
    st.sampled_from(
        [
            "/login.jsp",
            "/rest/gadget/1.0/login",
            "/rest/auth/1/session",
            "/dologin.action",
            "/plugins/servlet/samlconsumer",
            "/",
            "//",
            "/browse/ABC-1",
        ]
    ),
    latin1.map(lambda p: "/" + p),
)
bodies = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda u, p: f"os_username={u}&os_password={p}".encode("utf-8", "surrogatepass"), anything, anything),
    st.builds(lambda u: json.dumps({"username": u}).encode(), st.one_of(usernames, st.integers().map(str))),
    st.sampled_from(
        [
            b'{"username": 5}',
            b"[]",
            b"null",
            b"os_username=%ff%fe",
            b"os_username=a&" * 100,
            b"\xef\xbb\xbfos_username=alice",
            b'{"username": "al\\u0000ice"}',
            b"[" * 5000,
            b'{"username": ' * 3000,
        ]
    ),
)


# --- credentials ----------------------------------------------------------------------
@FUZZ
@given(authorizations)
@example("Basic " + base64.b64encode(b"a:b:c").decode())
def test_parse_basic_yields_only_grantable_names(header: str) -> None:
    pair = parse_basic(header)
    if pair is not None:
        user, password = pair
        assert granted_shape(user) and ":" not in user
        assert isinstance(password, str)


@FUZZ
@given(usernames, anything)
def test_parse_basic_round_trips_well_formed_credentials(user: str, password: str) -> None:
    pair = f"{user}:{password}"
    # RFC 7617: the user-id ends at the first colon (it cannot contain one).
    first, _, rest = pair.partition(":")
    expected = (first, rest) if valid_username(first) else None
    assert parse_basic(encode_basic(pair.encode())) == expected


@FUZZ
@given(cookies, st.sampled_from(SESSION_COOKIES + REMEMBERME_COOKIES))
def test_cookie_value_never_crosses_a_cookie(header: str, name: str) -> None:
    value = cookie_value(header, name)
    assert value is None or (value and ";" not in value)


@FUZZ
@given(
    st.sampled_from(["jira", "confluence"]),
    st.sampled_from(["POST", "GET", "PUT", "post"]),
    paths,
    st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]),
    bodies,
)
@example("jira", "POST", "/rest/auth/1/session", "application/json", b"[" * 5000)
def test_login_claim_names_only_valid_users(kind: str, method: str, path: str, content_type: str, body: bytes) -> None:
    assert granted_shape(login_claim(kind, method, path, content_type, body))


@FUZZ
@given(latin1, authorizations)
@example("xoauth_requestor_id=%00", "")
@example("xoauth_requestor_id=anonymous&xoauth_requestor_id=alice", "")
def test_applink_requestor_names_only_valid_users(query: str, authorization: str) -> None:
    assert granted_shape(applink_requestor(query, authorization))


@FUZZ
@given(
    kind=st.sampled_from(["jira", "confluence"]),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=paths,
    query=latin1,
    cookie=cookies,
    authorization=authorizations,
    content_type=latin1,
    body=bodies,
)
def test_extract_never_fails_and_claims_only_valid_users(
    kind, method, path, query, cookie, authorization, content_type, body
) -> None:
    creds = extract(
        HASHER,
        kind=kind,
        method=method,
        path=path,
        query=query,
        cookie_header=cookie,
        authorization=authorization,
        content_type=content_type,
        body=body,
        session_cookies=SESSION_COOKIES,
        rememberme_cookies=REMEMBERME_COOKIES,
    )
    assert isinstance(creds, Credentials)
    assert granted_shape(creds.claimed_user) and granted_shape(creds.applink_user)
    assert (creds.claimed_user is None) == (creds.claim_source is None)
    for digest in creds.known_digests():
        # keyed hashes only: no secret from the request survives in clear
        assert digest not in cookie and digest not in authorization


# --- SAML -----------------------------------------------------------------------------
RESPONSE = (
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
    'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{doctype}'
    '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
    "<saml:Assertion><saml:Subject><saml:NameID>{name}</saml:NameID></saml:Subject></saml:Assertion>"
    "</samlp:Response>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + RESPONSE.format(
    doctype="", name="&xxe;"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>'
    + RESPONSE.format(doctype="", name="&f;")
)
INTERNAL_ENTITY = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY who "alice">]>' + RESPONSE.format(
    doctype="", name="&who;"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def test_saml_reads_the_name_id_of_a_plain_response() -> None:
    assert saml.name_id(b64(RESPONSE.format(doctype="", name="alice"))) == "alice"


@pytest.mark.parametrize("document", [XXE, LAUGHS, INTERNAL_ENTITY], ids=["xxe", "entity-expansion", "dtd"])
def test_saml_refuses_entities_and_dtds(document: str) -> None:
    assert saml.name_id(b64(document)) is None
    form = (
        f"SAMLResponse={b64(document)}".replace("+", "%2B")
        .replace("=", "%3D")
        .replace("SAMLResponse%3D", "SAMLResponse=")
    )
    assert saml.saml_claim("application/x-www-form-urlencoded", form.encode()) is None


@FUZZ
@given(
    st.one_of(
        anything,
        st.binary(max_size=600).map(lambda raw: base64.b64encode(raw).decode()),
        st.builds(lambda name: b64(RESPONSE.format(doctype="", name=name)), anything),
        st.builds(
            lambda doctype, name: b64(RESPONSE.format(doctype=doctype, name=name)),
            st.sampled_from(["<!DOCTYPE x>", '<!DOCTYPE x SYSTEM "http://127.0.0.1:1/">', "<!-- c -->"]),
            anything,
        ),
        st.builds(lambda xml: b64(xml), st.text(st.sampled_from('<>/="!&;samlp:Response xmlns?[]'), max_size=300)),
    )
)
def test_saml_name_id_never_fails(encoded: str) -> None:
    name = saml.name_id(encoded)
    assert name is None or (isinstance(name, str) and name == name.strip() and name)


@FUZZ
@given(latin1, st.binary(max_size=600))
def test_saml_claim_never_fails(content_type: str, body: bytes) -> None:
    name = saml.saml_claim(content_type, body)
    assert name is None or isinstance(name, str)


# --- the waiting page echoes a login form back: nothing in it may escape -------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self.actions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "input":
            self.inputs.append((found.get("name") or "", found.get("value") or ""))
        if tag == "form":
            self.actions.append(found.get("action") or "")


@FUZZ
@given(st.lists(st.tuples(anything, anything), max_size=6), paths)
def test_waiting_page_posts_the_form_again_and_nothing_else(fields: list[tuple[str, str]], path: str) -> None:
    from mitmproxy import http

    from proxy_addon.grant_client import GrantOutcome
    from proxy_addon.responses import waiting_response
    from seatgate.settings import ProductSettings

    body = urllib.parse.urlencode(fields).encode()
    request = http.Request.make(
        "POST",
        "http://jira.example.com/login.jsp",
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    request.path = path
    product = ProductSettings(name="jira", kind="jira", upstream="http://127.0.0.1:1", license_group="g")
    response = waiting_response(request, product, GrantOutcome("denied", position=3, retry_after=5))
    page = _Page()
    page.feed(response.get_text())
    assert page.tags.count("script") == 1 and page.tags.count("form") == 1
    # parse_qsl (what the proxy reads) drops a field without "=" only when it is empty
    assert page.inputs == urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    assert page.actions[0].startswith("/") and not page.actions[0].startswith("//")


# --- URLs and query strings through the classifier --------------------------------------
CLASSIFIER = Classifier(load_builtin_ruleset(), defaults={"jira": "activity", "confluence": "activity"})


@FUZZ
@given(
    st.sampled_from(["jira", "confluence"]),
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "X", ""]),
    paths,
    latin1,
    st.dictionaries(
        st.sampled_from(["user-agent", "x-atlassian-mau-ignore", "x-requested-with", "accept", "referer"]),
        latin1,
        max_size=4,
    ),
)
def test_classifier_decides_any_request(kind: str, method: str, path: str, query: str, headers: dict) -> None:
    decision = CLASSIFIER.classify(
        product_kind=kind, product_name=kind, method=method, path=path, query=query, headers=headers
    )
    assert decision.verdict in VERDICTS


# --- rules files --------------------------------------------------------------------------
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
rule_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.sampled_from(["r1", "r-2", "", "R", "a" * 90]), st.text(max_size=12)),
        "description": st.text(max_size=20),
        "verdict": st.one_of(st.sampled_from(list(VERDICTS)), st.text(max_size=8)),
        "path": st.one_of(
            st.sampled_from(["/a", "/rest/{x}/poll", "/a/**", "/a/**x", "a", "/a?b=1", "/{bad-name}"]),
            st.text(max_size=20),
        ),
        "regex": st.one_of(st.sampled_from(["^/a$", "(", "[", "^/rest/.*", "(?P<x>"]), st.text(max_size=10)),
        "methods": st.one_of(st.lists(st.sampled_from(["GET", "POST", "get", "", "X Y"]), max_size=3), json_values),
        "products": st.one_of(st.lists(st.sampled_from(["jira", "confluence", "nope", ""]), max_size=2), json_values),
        "query": st.lists(
            st.sampled_from(["present:etag", "absent:x", "equals:a=b", "a=b", "bogus", "present:"]), max_size=3
        ),
        "headers": st.lists(
            st.sampled_from(["present:x-atlassian-mau-ignore", "equals:x=1", ":", "absent:"]), max_size=2
        ),
        "source": st.text(max_size=10),
        "bogus": json_values,
    },
)
rule_documents = st.fixed_dictionaries(
    {"rules": st.lists(rule_fields, max_size=4)},
    optional={
        "format": st.one_of(st.just(1), json_values),
        "defaults": st.one_of(
            st.dictionaries(
                st.sampled_from(["jira", "confluence", "x"]), st.sampled_from([*VERDICTS, "nope"]), max_size=2
            ),
            json_values,
        ),
    },
)


def check_ruleset(ruleset: RuleSet) -> None:
    classifier = Classifier(ruleset, defaults={"jira": "activity"})
    assert classifier.classify(product_kind="jira", product_name="jira", method="GET", path="/a").verdict in VERDICTS


@FUZZ
@given(st.one_of(rule_documents, json_values))
def test_parse_ruleset_validates_or_says_why(document) -> None:
    try:
        ruleset = parse_rules(document, known_products=["jira"])
    except RuleError as exc:
        assert str(exc).strip()
        return
    check_ruleset(ruleset)


def serialised(document, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document)
    if fmt == "toml":
        try:
            return tomli_w.dumps(document)
        except (TypeError, ValueError):
            assume(False)
    import yaml

    return yaml.safe_dump(document)


@FUZZ
@given(
    st.sampled_from(["json", "toml", "yaml"]),
    st.one_of(
        anything,
        st.builds(
            lambda doc, cut: doc[:cut],
            st.builds(serialised, rule_documents, st.sampled_from(["json", "toml", "yaml"])),
            st.integers(0, 400),
        ),
        st.sampled_from(
            [
                "[" * 5000,
                "a = " + "[" * 5000,
                "{" * 3000,
                "&a [*a]",
                "!!python/object:os.system {}",
                "a: &a [*a, *a]\nrules: *a",
                "rules: [{id: x, verdict: activity, path: /a}]\n" * 3,
            ]
        ),
    ),
)
def test_rules_text_validates_or_says_why(fmt: str, text: str) -> None:
    try:
        ruleset = loads(text, fmt)
    except RuleError as exc:
        assert str(exc).strip()
        return
    check_ruleset(ruleset)


@FEW
@given(st.sampled_from([".json", ".toml", ".yaml", ".yml", ".txt", ""]), st.binary(max_size=300))
def test_rules_file_validates_or_says_why(tmp_path_factory, suffix: str, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("rules")) / f"rules{suffix}"
    path.write_bytes(raw)
    try:
        check_ruleset(load_ruleset_file(path))
    except RuleError as exc:
        assert str(exc).strip()


# --- access-log lines ---------------------------------------------------------------------
JIRA_LINE = '{client} 1x2x3 {user} [{ts}] "{method} {path} HTTP/1.1" {status} 512 12 "{ref}" "{ua}" "abc"'
CONFLUENCE_LINE = "[{ts}] {user} http-nio-8090-exec-1 {client} {method} {path} HTTP/1.1 {status} 12ms 512 {ref} {ua}"
DOCKER_LINE = '{client} {user} [{ts}] "{method} {path} HTTP/1.1" {status} 512 12 /x 3 "{ua}"'
stamps = st.one_of(
    st.just("24/Nov/2015:08:25:29 +0100"),
    st.builds(
        lambda d, m, y, h, mi, s, o: f"{d}/{m}/{y}:{h}:{mi}:{s} {o}",
        st.sampled_from(["24", "00", "99", "٣٣", "²4", "+1"]),
        st.sampled_from(["Nov", "Foo", "nov", ""]),
        st.sampled_from(["2015", "0000", "99999", "20a5"]),
        st.sampled_from(["08", "25", "99", " 8"]),
        st.sampled_from(["25", "60", "+5", "²5"]),
        st.sampled_from(["29", "99", "-1"]),
        st.sampled_from(["+0100", "-1230", "+9999", "0100", "+01", "x"]),
    ),
    printable,
)
field_text = st.one_of(st.sampled_from(["-", "alice", "anonymous", '"', "\\", "a b", ""]), printable, anything)
log_lines = st.one_of(
    st.builds(
        lambda template, **f: template.format(**f),
        st.sampled_from([JIRA_LINE, CONFLUENCE_LINE, DOCKER_LINE]),
        client=field_text,
        user=field_text,
        ts=stamps,
        method=st.sampled_from(["GET", "POST", "get", "", 'G"ET']),
        path=st.one_of(st.sampled_from(["/browse/X-1", "/a?b=c", "/?", "/a b", '/"x']), field_text),
        status=st.sampled_from(["200", "999", "20", "abc", "٢٠٠"]),
        ref=field_text,
        ua=field_text,
    ),
    anything,
)


def check_records(records: list[LogRecord]) -> None:
    for record in records:
        assert math.isfinite(record.ts)
        assert 0 <= record.status <= 999
        assert record.user is None or record.user not in ("-", "anonymous", "")
        assert "?" not in record.path


@FUZZ
@given(
    st.sampled_from(["auto", *FORMATS]),
    st.lists(log_lines, min_size=1, max_size=8),
    st.sampled_from(["\n", "\r\n", "\n\n"]),
)
def test_access_log_lines_parse_or_count_as_bad(fmt: str, lines: list[str], newline: str) -> None:
    stats = ParseStats()
    try:
        records = list(iter_records([io.StringIO(newline.join(lines))], fmt, stats))
    except LogFormatError as exc:
        assert fmt == "auto" and str(exc).strip()
        return
    check_records(records)
    assert stats.parsed == len(records) and stats.bad + stats.parsed <= stats.lines


@FEW
@given(st.binary(max_size=2000))
def test_access_log_bytes_of_any_encoding(raw: bytes) -> None:
    try:
        check_records(list(iter_records([io.BytesIO(raw)], "jira")))
    except LogFormatError:
        pytest.fail("an explicit format never refuses a source")


# --- settings files -----------------------------------------------------------------------
setting_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "90s",
            "30m",
            "1h30m",
            "250ms",
            "-1s",
            "1x",
            "",
            "redis://127.0.0.1:6379/0",
            "redis://[::1",
            "redis://h:99999",
            "redis+sentinel://h:1/",
            "http://127.0.0.1:8080",
            "jira",
            "open",
            "127.0.0.1:8080",
            "0.0.0.0:99999",
            "secret-secret-secret",
        ]
    ),
    st.text(max_size=12),
)
section_names = {
    "proxy": [
        "listen",
        "metrics_listen",
        "grant_timeout",
        "failure_mode",
        "activity_flush_interval",
        "activity_buffer_max",
        "session_ttl",
        "cache_resync_interval",
        "unknown_key",
    ],
    "worker": [
        "admin_listen",
        "concurrency",
        "takeover_after",
        "sweep_interval",
        "revoke_grace",
        "directory_timeout",
        "directory_retries",
        "queue_timeout",
        "nope",
    ],
}
product_keys = [
    "name",
    "kind",
    "upstream",
    "license_group",
    "seats",
    "inactivity",
    "allow_short_inactivity",
    "directory",
    "exclude_users",
    "listen",
    "also_grant",
    "evict_after",
    "pressure_eviction",
    "x",
]
settings_documents = st.fixed_dictionaries(
    {},
    optional={
        "redis_url": setting_values,
        "secret": setting_values,
        "log_level": setting_values,
        "_env_file": setting_values,
        "_secrets_dir": setting_values,
        "proxy": st.dictionaries(st.sampled_from(section_names["proxy"]), setting_values, max_size=4),
        "worker": st.dictionaries(st.sampled_from(section_names["worker"]), setting_values, max_size=4),
        "products": st.lists(
            st.one_of(
                st.dictionaries(st.sampled_from(product_keys), setting_values, max_size=6),
                st.just({"name": "jira", "kind": "jira", "upstream": "http://127.0.0.1:8090", "license_group": "g"}),
            ),
            max_size=3,
        ),
    },
)


def toml_text(document: dict) -> str:
    clean = json.loads(json.dumps(document), object_hook=lambda d: {k: v for k, v in d.items() if v is not None})
    return tomli_w.dumps({k: v for k, v in clean.items() if v is not None})


@FUZZ
@given(
    st.one_of(
        st.builds(toml_text, settings_documents),
        anything,
        st.sampled_from(
            [
                "a = " + "[" * 3000,
                "_cli_parse_args = true",
                "[products]\nname = 1",
                "[[proxy]]",
                "products = [{}]",
                'redis_url = "redis://h:0x1"',
            ]
        ),
    )
)
def test_settings_files_validate_or_say_why(tmp_path_factory, text: str) -> None:
    path = Path(tmp_path_factory.mktemp("settings")) / "seatgate.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        loaded = load_settings(path)
    except ConfigError as exc:
        assert str(exc).strip()
        return
    assert isinstance(loaded, Settings)
