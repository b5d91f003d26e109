"""The user a SAML single-sign-on POST logs in: the NameID of its ``SAMLResponse``.

The browser posts the identity provider's Response (base64 XML, HTTP-POST binding) to the
product's assertion consumer. Reading its NameID lets the proxy grant the seat *before*
the product's login check refuses an unlicensed user. The signature is not checked here:
that is upstream's job, and a forged assertion is a claim like any other (rate-limited,
rolled back when upstream does not log the user in).

The XML comes from the client, so it is parsed with defusedxml with DTDs, entities and
external references all refused, and only after a size check.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
# Real Responses with a signature and certificate are a few KiB to a few tens of KiB.
MAX_FORM_BYTES = 256 * 1024

_RESPONSE = f"{{{PROTOCOL_NS}}}Response"
_STATUS_CODE = f"{{{PROTOCOL_NS}}}Status/{{{PROTOCOL_NS}}}StatusCode"
# An unencrypted assertion's subject; an EncryptedAssertion cannot be read and gives None.
_NAME_ID = f"{{{ASSERTION_NS}}}Assertion/{{{ASSERTION_NS}}}Subject/{{{ASSERTION_NS}}}NameID"


def name_id(encoded: str) -> str | None:
    """The NameID of a base64 SAML 2.0 Response, or None when it is not a readable success.

    The caller still checks that the name is a plausible username.
    """
    try:
        document = base64.b64decode(encoded, validate=False)
        root = fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (binascii.Error, ValueError, ParseError, DefusedXmlException):
        return None
    if root.tag != _RESPONSE:
        return None
    status = root.find(_STATUS_CODE)
    if status is not None and status.get("Value") != SUCCESS:
        return None
    node = root.find(_NAME_ID)
    user = (node.text or "").strip() if node is not None else ""
    return user or None


def saml_claim(content_type: str, body: bytes) -> str | None:
    """The user named by the ``SAMLResponse`` field of a form POST, or None."""
    if "application/x-www-form-urlencoded" not in content_type or len(body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qsl(body.decode("ascii"), max_num_fields=16, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    for key, value in fields:
        if key == "SAMLResponse":
            return name_id(value)
    return None
