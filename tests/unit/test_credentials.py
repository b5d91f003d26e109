import base64

import pytest

from proxy_addon.credentials import cookie_value, extract, login_claim, parse_basic
from seatgate.keyed_hash import KeyedHasher

HASHER = KeyedHasher(b"0123456789abcdef0123456789abcdef")


def basic(text: bytes) -> str:
    return "Basic " + base64.b64encode(text).decode()


def creds(**kw):
    args = dict(
        kind="jira",
        method="GET",
        path="/",
        query="",
        cookie_header="",
        authorization="",
        content_type="",
        body=b"",
        session_cookies=["JSESSIONID"],
        rememberme_cookies=["seraph.rememberme.cookie", "seraph.confluence"],
    )
    args.update(kw)
    return extract(HASHER, **args)


@pytest.mark.parametrize(
    "header,expected",
    [
        (basic(b"alice:pw"), ("alice", "pw")),
        (basic(b"alice:pw:with:colons"), ("alice", "pw:with:colons")),
        (basic(b"alice:"), ("alice", "")),
        (basic(b":pw"), None),
        (basic(b"alice"), None),
        (basic(b"\xff\xfe:pw"), None),
        (basic(b"anonymous:x"), None),
        ("Basic !!!notbase64", None),
        ("Basic ", None),
        ("Bearer abc", None),
        ("Basic " + "A" * 9000, None),
    ],
)
def test_parse_basic(header, expected):
    assert parse_basic(header) == expected


def test_cookie_value_is_exact_name():
    header = "XJSESSIONID=evil; JSESSIONID=good; seraph.rememberme.cookie=rm"
    assert cookie_value(header, "JSESSIONID") == "good"
    assert cookie_value(header, "seraph.rememberme.cookie") == "rm"
    assert cookie_value("a=1", "JSESSIONID") is None
    assert cookie_value("JSESSIONID=", "JSESSIONID") is None


def test_login_forms():
    form = "application/x-www-form-urlencoded"
    assert login_claim("jira", "POST", "/login.jsp", form, b"os_username=bob&os_password=x") == "bob"
    assert login_claim("jira", "POST", "/rest/gadget/1.0/login", form, b"os_username=bob") == "bob"
    assert login_claim("confluence", "POST", "/dologin.action", form, b"os_username=carol") == "carol"
    assert login_claim("jira", "POST", "/rest/auth/1/session", "application/json", b'{"username":"dave"}') == "dave"
    assert login_claim("jira", "GET", "/login.jsp", form, b"os_username=bob") is None
    assert login_claim("jira", "POST", "/dologin.action", form, b"os_username=bob") is None
    assert login_claim("jira", "POST", "/rest/auth/1/session", "application/json", b"[1,2]") is None
    assert login_claim("jira", "POST", "/login.jsp", form, b"os_username=%ff") is None


def test_extract_hashes_secrets_and_never_keeps_them():
    c = creds(cookie_header="JSESSIONID=abc; seraph.rememberme.cookie=rm1", authorization=basic(b"alice:pw"))
    assert c.claimed_user == "alice" and c.claim_source == "basic"
    assert c.session == HASHER.digest("session", "abc")
    assert c.rememberme == HASHER.digest("rememberme", "rm1")
    assert c.basic == HASHER.digest("basic", "alice:pw")
    text = repr(c)
    assert "abc" not in text.replace(c.session, "") and "pw" not in text and "rm1" not in text


def test_bearer_and_applink():
    assert creds(authorization="Bearer tok").bearer == HASHER.digest("bearer", "tok")
    c = creds(authorization='OAuth oauth_consumer_key="x", xoauth_requestor_id="bob"')
    assert c.applink_user == "bob"
    assert creds(query="xoauth_requestor_id=carol&a=1").applink_user == "carol"


def test_digests_depend_on_key():
    other = KeyedHasher(b"another-key-another-key-another!!")
    assert other.digest("session", "abc") != HASHER.digest("session", "abc")
    with pytest.raises(ValueError):
        KeyedHasher(b"short")


@pytest.mark.parametrize("key", [b"k" * 16, b"0123456789abcdef" * 2, b"long-key" * 20])
@pytest.mark.parametrize("value", ["", "JSESSIONID-value", "näme:pässword", b"\x00\xff raw bytes"])
def test_keyed_hash_is_hmac_sha256(key: bytes, value: str | bytes) -> None:
    import hashlib
    import hmac

    data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    expected = hmac.new(key, b"session\0" + data, hashlib.sha256).hexdigest()[:32]
    assert KeyedHasher(key).digest("session", value) == f"session:{expected}"


def test_connection_secrets_reuse_digests_of_unchanged_headers() -> None:
    from proxy_addon.credentials import ConnectionSecrets

    class Counting(KeyedHasher):
        calls = 0

        def digest(self, kind: str, value: str | bytes) -> str:
            Counting.calls += 1
            return super().digest(kind, value)

    hasher = Counting(b"0123456789abcdef0123456789abcdef")
    seen = ConnectionSecrets()
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()

    def run(cookie: str, authorization: str):
        return extract(
            hasher,
            kind="jira",
            method="GET",
            path="/",
            query="",
            cookie_header=cookie,
            authorization=authorization,
            content_type="",
            body=b"",
            session_cookies=["JSESSIONID"],
            rememberme_cookies=["seraph.rememberme.cookie"],
            seen=seen,
        )

    first = run("JSESSIONID=s1", basic)
    assert Counting.calls == 2
    again = run("JSESSIONID=s1", basic)
    assert Counting.calls == 2 and again == first
    assert (again.claimed_user, again.claim_source) == ("alice", "basic")
    changed = run("JSESSIONID=s2", basic)
    assert Counting.calls == 3 and changed.session != first.session and changed.basic == first.basic
    bearer = run("JSESSIONID=s2", "Bearer tok")
    assert Counting.calls == 4 and bearer.basic is None and bearer.claimed_user is None
    assert run("JSESSIONID=s2", "Bearer tok") == bearer and Counting.calls == 4
    # An app-link header is not remembered: its user also depends on the query.
    assert run("", 'OAuth xoauth_requestor_id="bob"').applink_user == "bob"
    oauth = 'OAuth oauth_consumer_key="app"'

    def applink(query: str) -> str | None:
        return extract(
            hasher,
            kind="jira",
            method="GET",
            path="/",
            query=query,
            cookie_header="",
            authorization=oauth,
            content_type="",
            body=b"",
            session_cookies=[],
            rememberme_cookies=[],
            seen=seen,
        ).applink_user

    assert applink("") is None
    assert applink("xoauth_requestor_id=carol") == "carol"
    assert run("", "").session is None
