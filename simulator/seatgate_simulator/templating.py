"""The shared HTML frame of the simulator's pages: plain HTML, one stylesheet, one script.

Every asset a page references is served by the simulator itself (``static.py``), under the
same URL prefixes the real products use, so that a proxy's static-asset rules see realistic
paths.
"""

from __future__ import annotations

from html import escape

PRODUCT_NAMES = {"jira": "Jira", "confluence": "Confluence"}
SCRIPT_URL = "/s/en_GB/sim-1/1.0/_/download/batch/seatgate.sim:main/seatgate.sim:main.js"
STYLE_URL = "/download/resources/com.atlassian.auiplugin:aui/aui.css"
AVATAR_URL = "/images/icons/profilepics/default.svg"


def layout(product: str, title: str, body: str, *, user: str | None = None, data: dict[str, str] | None = None) -> str:
    """A complete page. ``data`` becomes ``data-*`` attributes on <body> for the page script."""
    name = PRODUCT_NAMES[product]
    attrs = {"product": product, **(data or {})}
    data_attrs = " ".join(f'data-{key}="{escape(str(value))}"' for key, value in attrs.items())
    if user:
        logout = "/secure/Logout!default.jspa" if product == "jira" else "/logout.action"
        header_user = (
            f'<img src="{AVATAR_URL}" alt="" width="24" height="24">'
            f' <span id="header-user">{escape(user)}</span>'
            f' <a id="logout-link" href="{logout}">Log out</a>'
        )
    else:
        header_user = '<span id="header-user">anonymous</span>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="application-name" content="{name}">
<title>{escape(title)} - {name}</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="{STYLE_URL}">
</head>
<body {data_attrs}>
<header id="header"><a id="home-link" href="/">{name} (simulated)</a> {header_user}</header>
<main id="main">
{body}
</main>
<script src="{SCRIPT_URL}"></script>
</body>
</html>
"""


def no_access_page(product: str, user: str) -> str:
    if product == "jira":
        text = (
            "You do not have access to Jira. If you think this is incorrect, "
            "please contact your Jira application administrator."
        )
    else:
        text = "Not Permitted. You are not permitted to use Confluence."
    body = f'<section id="no-access" class="aui-message error"><h1>No access</h1><p>{escape(text)}</p></section>'
    return layout(product, "No access", body, user=user)
