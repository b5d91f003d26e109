"""SAML 2.0 SSO: the service provider's assertion consumer, and a test identity provider.

``POST /plugins/servlet/samlconsumer`` takes the browser-posted ``SAMLResponse`` (base64 XML)
and logs in the user named by ``saml:Subject/saml:NameID``, through the same licence check as a
password login. Signatures, audiences and validity windows are NOT checked: the simulator
trusts any well-formed Response (it stands in for a product whose IdP trust is configured).
The XML is parsed with defusedxml, so entity tricks in a hostile body are refused.

``GET /plugins/servlet/saml/auth?user=U`` plays the IdP: an auto-submitting form that posts a
Response for U to the consumer, as a real IdP's redirect-back would.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from html import escape
from xml.etree.ElementTree import ParseError

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from seatgate_simulator import auth
from seatgate_simulator.context import (
    AUTHENTICATED_FAILED,
    OK,
    dashboard_url,
    identity_of,
    redirect,
    state_of,
)
from seatgate_simulator.pages import LOGIN_MESSAGES, html, login_page, safe_destination
from seatgate_simulator.templating import layout

CONSUMER_PATH = "/plugins/servlet/samlconsumer"
IDP_PATH = "/plugins/servlet/saml/auth"
PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion"


class SamlError(ValueError):
    pass


def name_id(encoded: str) -> str:
    """The NameID of a base64 SAML Response; SamlError if it is not one."""
    try:
        document = base64.b64decode(encoded, validate=False)
        root = fromstring(document)
    except (binascii.Error, ValueError, ParseError, DefusedXmlException) as exc:
        raise SamlError(f"not a SAML response: {exc}") from exc
    if root.tag != f"{{{PROTOCOL_NS}}}Response":
        raise SamlError("the document is not a samlp:Response")
    node = root.find(f".//{{{ASSERTION_NS}}}Subject/{{{ASSERTION_NS}}}NameID")
    if node is None or not (node.text or "").strip():
        raise SamlError("the response has no saml:Subject/saml:NameID")
    return (node.text or "").strip()


def build_response(user: str, destination: str) -> str:
    """A minimal, unsigned SAML 2.0 Response naming ``user`` (the test IdP's output)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rid, aid = "_" + secrets.token_hex(16), "_" + secrets.token_hex(16)
    return (
        f'<samlp:Response xmlns:samlp="{PROTOCOL_NS}" xmlns:saml="{ASSERTION_NS}" ID="{rid}" Version="2.0" '
        f'IssueInstant="{now}" Destination="{escape(destination)}">'
        f"<saml:Issuer>seatgate-simulated-idp</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{now}">'
        f"<saml:Issuer>seatgate-simulated-idp</saml:Issuer>"
        f'<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">'
        f"{escape(user)}</saml:NameID></saml:Subject>"
        f"</saml:Assertion></samlp:Response>"
    )


async def consumer(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    product = state.config.product
    form = await request.post()
    relay = safe_destination(str(form.get("RelayState", "")) or None)
    try:
        user = name_id(str(form.get("SAMLResponse", "")))
    except SamlError as exc:
        return html(layout(product, "SSO failed", f'<p id="saml-error">{escape(str(exc))}</p>'), 400)
    ident = identity_of(request)
    if user not in state.users:
        ident.claimed, ident.login_reason = user, AUTHENTICATED_FAILED
        return login_page(product, message=LOGIN_MESSAGES[AUTHENTICATED_FAILED], destination=relay)
    reason = auth.login(
        state,
        ident,
        user,
        remember=False,
        via="saml",
        existing_cookie=request.cookies.get(auth.remember_me_cookie(state)),
    )
    if reason != OK:
        return login_page(product, message=LOGIN_MESSAGES[reason], destination=relay)
    return redirect(relay or dashboard_url(product))


async def identity_provider(request: web.Request) -> web.StreamResponse:
    product = state_of(request).config.product
    user = request.query.get("user", "").strip()
    if not user:
        return html(layout(product, "SSO", '<p id="saml-error">Query parameter user is required.</p>'), 400)
    destination = f"{request.scheme}://{request.host}{CONSUMER_PATH}"
    encoded = base64.b64encode(build_response(user, destination).encode()).decode()
    relay = safe_destination(request.query.get("os_destination")) or ""
    body = f"""<form id="saml-post-form" method="post" action="{CONSUMER_PATH}">
<input type="hidden" name="SAMLResponse" value="{encoded}">
<input type="hidden" name="RelayState" value="{escape(relay)}">
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("saml-post-form").submit();</script>"""
    return html(f"<!DOCTYPE html><html><head><title>SSO</title></head><body>{body}</body></html>")


def add_routes(app: web.Application) -> None:
    app.router.add_post(CONSUMER_PATH, consumer)
    app.router.add_get(IDP_PATH, identity_provider)
