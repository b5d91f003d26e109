"""A minimal upstream for proxy benchmarks: 200 with X-AUSERNAME taken from Basic auth.

It does as little as possible so that the proxy's own cost dominates the figures.
"""

import base64
import json
import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    user = "anonymous"
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        user = base64.b64decode(auth[6:]).decode().partition(":")[0]
    return web.Response(
        text=json.dumps({"name": user}),
        content_type="application/json",
        headers={"X-AUSERNAME": user, "X-Seraph-LoginReason": "OK"},
    )


app = web.Application()
app.router.add_route("*", "/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
