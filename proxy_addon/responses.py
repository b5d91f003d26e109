"""Answers the proxy gives itself instead of forwarding: no free seat, or fail-closed."""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qsl

from mitmproxy import http

from proxy_addon.grant_client import GrantOutcome
from seatgate.settings import ProductSettings

DEFAULT_RETRY_AFTER = 15
MAX_RESUBMIT_BODY = 64 * 1024


def wants_html(request: http.Request) -> bool:
    """A browser navigation: a page GET, or a submitted form (a login) that the page can post again."""
    if "text/html" not in request.headers.get("accept", ""):
        return False
    return request.method == "GET" or (request.method == "POST" and _form_fields(request) is not None)


def _form_fields(request: http.Request) -> list[tuple[str, str]] | None:
    """The fields of a urlencoded form POST, or None for any other request."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return None
    raw = request.raw_content
    if raw is None or len(raw) > MAX_RESUBMIT_BODY:
        return None
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=64, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None


def _retry(request: http.Request) -> tuple[str, str]:
    """(hidden form, script) that repeat the request: a GET reloads; a form POST is posted again.

    Posting a login form again is what lets a queued user in without typing the password
    once more. The fields go back only to the browser that sent them, on a page that is
    never cached (Cache-Control: no-store), as a browser's own "resubmit" would send them.
    """
    fields = _form_fields(request) if request.method == "POST" else None
    if fields is None:
        return "", "location.reload()"
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields)
    action = "/" + request.path.lstrip("/")  # never "//host/...": the fields go back to this site only
    form = f'<form id="seatgate-resubmit" method="post" action="{html.escape(action)}">{inputs}</form>'
    return form, "document.getElementById('seatgate-resubmit').submit()"


def waiting_response(
    request: http.Request,
    product: ProductSettings,
    outcome: GrantOutcome,
    message: str = "",
    logo_url: str | None = None,
) -> http.Response:
    """No seat is free: a waiting page for a browser, 503 JSON with Retry-After for REST."""
    retry = int(outcome.retry_after or DEFAULT_RETRY_AFTER)
    headers = {"Retry-After": str(retry), "Cache-Control": "no-store", "X-Seatgate": "queued"}
    if not wants_html(request):
        body = {"error": "no_free_seat", "product": product.name, "position": outcome.position, "retry_after": retry}
        return http.Response.make(503, json.dumps(body), {**headers, "Content-Type": "application/json"})
    form, again = _retry(request)
    return http.Response.make(
        503,
        _WAITING_PAGE.format(
            product=html.escape(product.name.capitalize()),
            message=html.escape(message or "All licences are in use. You will be let in as soon as one is free."),
            position=outcome.position if outcome.position is not None else "?",
            retry=retry,
            logo=f'<img src="{html.escape(logo_url)}" alt="" class="logo">' if logo_url else "",
            form=form,
            again=again,
        ),
        {**headers, "Content-Type": "text/html; charset=utf-8"},
    )


def busy_response(request: http.Request, product: ProductSettings) -> http.Response:
    """Fail-closed: the grant could not be confirmed in time."""
    headers = {"Retry-After": "5", "Cache-Control": "no-store", "X-Seatgate": "unavailable"}
    if wants_html(request):
        form, again = _retry(request)
        page = _WAITING_PAGE.format(
            product=html.escape(product.name.capitalize()),
            message="The licence service is not answering right now. Retrying shortly.",
            position="-",
            retry=5,
            logo="",
            form=form,
            again=again,
        )
        return http.Response.make(503, page, {**headers, "Content-Type": "text/html; charset=utf-8"})
    body = json.dumps({"error": "licence_service_unavailable", "product": product.name, "retry_after": 5})
    return http.Response.make(503, body, {**headers, "Content-Type": "application/json"})


_WAITING_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Waiting for a free licence - {product}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#172b4d;
display:flex;align-items:center;justify-content:center;min-height:100vh;margin:0}}
.card{{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(9,30,66,.25);padding:32px 40px;max-width:460px;text-align:center}}
h1{{font-size:20px;margin:0 0 12px}} .pos{{font-size:40px;font-weight:700;color:#0052cc;margin:16px 0 4px}}
.logo{{max-height:48px;margin-bottom:16px}} button{{background:#0052cc;color:#fff;border:0;border-radius:3px;padding:8px 16px;font-size:14px;cursor:pointer}}
.muted{{color:#6b778c;font-size:13px}}
</style></head>
<body><div class="card" id="seatgate-waiting">{logo}
<h1>{product}: waiting for a free licence</h1>
<p id="seatgate-message">{message}</p>
<div class="pos" id="seatgate-position">{position}</div><div class="muted">your place in the queue</div>
<p>Trying again in <span id="seatgate-countdown">{retry}</span> s</p>
<button id="seatgate-retry" onclick="{again}">Try now</button>{form}
</div>
<script>
(function(){{var s={retry};var el=document.getElementById('seatgate-countdown');
var t=setInterval(function(){{s-=1;if(s<=0){{clearInterval(t);{again};}}else{{el.textContent=s;}}}},1000);}})();
</script></body></html>
"""
