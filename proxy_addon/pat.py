"""Personal Access Tokens: learn a token's owner from the answer to its creation.

Jira (≥ 8.14) and Confluence (≥ 7.9) show a new token once, as ``rawToken`` in the answer
to ``POST /rest/pat/latest/tokens`` made by a logged-in user. The proxy sees that answer,
so it can map the token's keyed hash to its owner before the token is ever used: a Bearer
request of an owner who has lost their seat is then granted before it is forwarded. The
other way to learn an owner, from ``X-AUSERNAME`` on the answer to a Bearer request, is the
generic learning in the addon. Only the keyed hash is kept, never the token.
"""

from __future__ import annotations

import json

TOKENS_PATH = "/rest/pat/latest/tokens"
# A creation answer is a small JSON object; anything bigger is not one.
MAX_BODY = 64 * 1024
MAX_TOKEN = 4096  # as for Bearer values in credentials.extract


def is_creation(method: str, path: str, status: int) -> bool:
    """Whether this exchange created a token (query strings do not matter)."""
    return method == "POST" and status == 201 and path.partition("?")[0].rstrip("/") == TOKENS_PATH


def raw_token(content_type: str, body: bytes | None) -> str | None:
    """``rawToken`` of a creation answer, or None when the body is not one."""
    if not body or len(body) > MAX_BODY or "json" not in content_type.lower():
        return None
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    token = doc.get("rawToken") if isinstance(doc, dict) else None
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN and token.strip() == token:
        return token
    return None
