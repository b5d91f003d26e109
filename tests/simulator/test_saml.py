"""SAML SSO: the assertion consumer and the test identity provider."""

from __future__ import annotations

import base64
import re
from html import unescape

from tests.simulator.conftest import license_user, sim_state, state

CONSUMER = "/plugins/servlet/samlconsumer"


def saml_response(user: str) -> str:
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0">'
        "<saml:Assertion><saml:Subject><saml:NameID>" + user + "</saml:NameID></saml:Subject></saml:Assertion>"
        "</samlp:Response>"
    )
    return base64.b64encode(xml.encode()).decode()


async def test_saml_login_goes_through_the_licence_check(jira) -> None:
    refused = await jira.post(CONSUMER, data={"SAMLResponse": saml_response("alice")}, allow_redirects=False)
    assert refused.status == 200 and refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    assert "You do not have a permission to log in" in await refused.text()
    await license_user(jira, "alice")
    ok = await jira.post(
        CONSUMER, data={"SAMLResponse": saml_response("alice"), "RelayState": "/browse/A-1"}, allow_redirects=False
    )
    assert ok.status == 302 and ok.headers["Location"] == "/browse/A-1"
    assert ok.headers["X-Seraph-LoginReason"] == "OK" and "JSESSIONID" in ok.cookies
    me = await jira.get("/rest/api/2/myself")
    assert (await me.json())["name"] == "alice"
    records = (await sim_state(jira))["requests"]
    assert [r["via"] for r in records if r["path"] == CONSUMER] == ["saml", "saml"]


async def test_saml_rejects_garbage_and_unknown_users(confluence) -> None:
    for bad in ("not base64!", base64.b64encode(b"<a/>").decode(), ""):
        assert (await confluence.post(CONSUMER, data={"SAMLResponse": bad})).status == 400
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&b;</samlp:Response>'
    )
    entity = await confluence.post(CONSUMER, data={"SAMLResponse": base64.b64encode(bomb.encode()).decode()})
    assert entity.status == 400  # defusedxml refuses entity declarations
    unknown = await confluence.post(CONSUMER, data={"SAMLResponse": saml_response("nobody")})
    assert unknown.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert not state(confluence).sessions


async def test_test_identity_provider_round_trip(confluence) -> None:
    await license_user(confluence, "bob")
    idp = await confluence.get("/plugins/servlet/saml/auth?user=bob&os_destination=/pages/viewpage.action?pageId=7")
    text = await idp.text()
    assert idp.status == 200 and 'id="saml-post-form"' in text and ".submit()" in text
    fields = {name: unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', text)}
    done = await confluence.post(CONSUMER, data=fields, allow_redirects=False)
    assert done.status == 302 and done.headers["Location"] == "/pages/viewpage.action?pageId=7"
    assert (await confluence.get("/plugins/servlet/saml/auth")).status == 400
