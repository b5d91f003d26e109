"""The identity modules on their own: SAML parsing, token learning, claim rules, replay checks."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from mitmproxy.test import tflow, tutils

from proxy_addon import pat
from proxy_addon.claims import ClaimGuard, RateLimiter, claim_verdict, client_address
from proxy_addon.credentials import extract
from proxy_addon.replay import licence_refusal, not_replayable
from proxy_addon.saml import MAX_FORM_BYTES, name_id, saml_claim
from seatgate.keyed_hash import KeyedHasher
from seatgate.schema import ProductKeys
from seatgate.settings import ProxySettings
from seatgate_simulator.saml import build_response

FORM = "application/x-www-form-urlencoded"


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


# -- SAML -------------------------------------------------------------------------------
def test_name_id_of_an_identity_providers_response() -> None:
    assert name_id(encoded(build_response("alice", "https://jira/plugins/servlet/samlconsumer"))) == "alice"


@pytest.mark.parametrize(
    "xml",
    [
        # entity expansion ("billion laughs") and external entities: refused by the parser
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&b;</samlp:Response>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        # a DTD alone is refused too
        '<?xml version="1.0"?><!DOCTYPE r><r/>',
        # not a Response, a failed login, an encrypted assertion, no subject
        '<r xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><NameID>alice</NameID></r>',
        build_response("alice", "x").replace("status:Success", "status:Requester"),
        build_response("alice", "x").replace("saml:Assertion", "saml:EncryptedAssertion"),
        build_response("alice", "x").replace("saml:Subject", "saml:Other"),
        "not xml at all",
    ],
)
def test_name_id_refuses_what_is_not_a_plain_successful_response(xml: str) -> None:
    assert name_id(encoded(xml)) is None


def test_saml_claim_reads_only_a_form_of_bounded_size() -> None:
    body = urlencode({"SAMLResponse": encoded(build_response("bob", "x")), "RelayState": "/"}).encode()
    assert saml_claim(FORM, body) == "bob"
    assert saml_claim("application/json", body) is None
    assert saml_claim(FORM, body + b"&pad=" + b"x" * MAX_FORM_BYTES) is None
    assert saml_claim(FORM, b"RelayState=%2F") is None


def test_a_saml_post_to_a_consumer_path_is_a_claim() -> None:
    hasher = KeyedHasher(b"k" * 32)
    body = urlencode({"SAMLResponse": encoded(build_response("carol", "x"))}).encode()
    consumers = frozenset({"/plugins/servlet/samlconsumer"})
    common = dict(
        kind="jira",
        method="POST",
        query="",
        cookie_header="",
        authorization="",
        content_type=FORM,
        body=body,
        session_cookies=["JSESSIONID"],
        rememberme_cookies=[],
        saml_paths=consumers,
    )
    creds = extract(hasher, path="/plugins/servlet/samlconsumer", **common)
    assert (creds.claimed_user, creds.claim_source) == ("carol", "saml")
    assert extract(hasher, path="/elsewhere", **common).claimed_user is None


# -- Personal Access Tokens ---------------------------------------------------------------
def test_token_creation_answer() -> None:
    assert pat.is_creation("POST", "/rest/pat/latest/tokens", 201)
    assert pat.is_creation("POST", "/rest/pat/latest/tokens/?x=1", 201)
    assert not pat.is_creation("POST", "/rest/pat/latest/tokens", 400)
    assert not pat.is_creation("GET", "/rest/pat/latest/tokens", 201)
    assert not pat.is_creation("POST", "/rest/api/content", 201)  # a page could echo {"rawToken": …}
    assert pat.raw_token("application/json;charset=UTF-8", b'{"id": 1, "rawToken": "NjU2ODk0"}') == "NjU2ODk0"
    assert pat.raw_token("text/html", b'{"rawToken": "x"}') is None
    assert pat.raw_token("application/json", b'{"rawToken": 5}') is None
    assert pat.raw_token("application/json", b"[1]") is None
    assert pat.raw_token("application/json", b"{") is None


# -- claims ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("named", "reason", "verdict"),
    [
        ("alice", None, "confirmed"),
        (None, "OK", "confirmed"),  # a product without X-AUSERNAME: the login went through
        (None, "OUT, OK", "confirmed"),
        ("anonymous", "AUTHENTICATED_FAILED", "rejected"),
        (None, "AUTHENTICATED_FAILED", "rejected"),
        ("anonymous", None, "rejected"),
        ("anonymous", "AUTHORISATION_FAILED", "authenticated"),  # right password, no licence
        ("alice", "AUTHORISATION_FAILED", "authenticated"),
        ("bob", None, None),  # another credential (a session) decided the answer
        (None, None, None),
    ],
)
def test_claim_verdict(named: str | None, reason: str | None, verdict: str | None) -> None:
    assert claim_verdict("alice", named, reason) == verdict


def test_client_address_behind_trusted_proxies() -> None:
    from ipaddress import ip_network

    trusted = [ip_network("127.0.0.1/32"), ip_network("10.1.0.0/16")]
    assert client_address("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"  # not a trusted peer
    assert client_address("127.0.0.1", "1.2.3.4, 10.1.2.3, 127.0.0.1", trusted) == "1.2.3.4"
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4, 127.0.0.1", trusted) == "1.2.3.4"  # first is forged
    assert client_address("127.0.0.1", "127.0.0.1", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "junk, 127.0.0.1", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.2.3.4", []) == "127.0.0.1"


def test_rate_limiter_refills_over_a_minute() -> None:
    limiter = RateLimiter(per_minute=2)
    assert [limiter.allow("a", 0.0) for _ in range(3)] == [True, True, False]
    assert limiter.allow("b", 0.0)  # per key
    assert not limiter.allow("a", 20.0)
    assert limiter.allow("a", 31.0)
    assert not RateLimiter(per_minute=0).allow("a", 0.0)


async def test_claim_guard_cooldown_is_shared_and_rollback_is_queued(fake_redis) -> None:
    settings = ProxySettings(claim_rate_per_client=100, claim_rate_per_user=100, claim_unconfirmed_max=2)
    one, other = ClaimGuard(fake_redis, settings), ClaimGuard(fake_redis, settings)  # two proxies
    assert await one.admit("jira", "alice", "1.1.1.1") is None
    one.begin("jira", "alice")
    assert one.may_roll_back("jira", "alice")
    await one.rejected("jira", "alice", "1.1.1.1", source="login", reason="wrong", roll_back=True, request_id="r1")
    assert await other.admit("jira", "alice", "2.2.2.2") == "cooldown"  # any client, any proxy
    assert await other.admit("jira", "bob", "1.1.1.1") is None
    entries = await fake_redis.xrange(ProductKeys("jira").grants)
    assert [e[1] for e in entries] == [
        {
            "action": "rollback",
            "user": "alice",
            "request_id": "r1",
            "client": "1.1.1.1",
            "reason": "wrong",
            "requested_at": entries[0][1]["requested_at"],
        }
    ]
    # A confirmed identity of the user seen since the grant: no rollback.
    one.begin("jira", "carol")
    one.confirmed("jira", "carol")
    assert not one.may_roll_back("jira", "carol")


async def test_claim_guard_bounds_grants_waiting_for_upstream(fake_redis) -> None:
    guard = ClaimGuard(fake_redis, ProxySettings(claim_unconfirmed_max=1))
    token = guard.begin("jira", "alice")
    assert await guard.admit("jira", "bob", "1.1.1.1") == "unconfirmed_limit"
    guard.end("jira", token)
    assert await guard.admit("jira", "bob", "1.1.1.1") is None


async def test_claim_guard_rates_per_client_and_per_user(fake_redis) -> None:
    guard = ClaimGuard(fake_redis, ProxySettings(claim_rate_per_client=2, claim_rate_per_user=1))
    assert await guard.admit("jira", "a", "1.1.1.1") is None
    assert await guard.admit("jira", "a", "2.2.2.2") == "user_rate"
    assert await guard.admit("jira", "b", "1.1.1.1") is None
    assert await guard.admit("jira", "c", "1.1.1.1") == "client_rate"


# -- replay ---------------------------------------------------------------------------------
def test_what_can_be_replayed() -> None:
    flow = tflow.tflow(req=tutils.treq(content=b"x" * 10), resp=tutils.tresp())
    assert not_replayable(flow, 10) is None
    assert not_replayable(flow, 9) == "too_large"
    flow.response.stream = True
    assert not_replayable(flow, 10) == "streamed"
    streamed = tflow.tflow(req=tutils.treq(content=b""))
    streamed.request.stream = True
    assert not_replayable(streamed, 10) == "streamed"
    assert licence_refusal(200, "AUTHORISATION_FAILED")
    assert licence_refusal(403, None) and licence_refusal(401, None)
    assert not licence_refusal(200, "OK") and not licence_refusal(302, None)
