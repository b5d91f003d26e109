"""Assemble the simulated product: state, filter chain, and the routes of each area."""

from __future__ import annotations

from aiohttp import web

from seatgate_simulator import (
    attachments,
    background,
    confluence_api,
    content_api,
    crowd_api,
    directory_api,
    introspection,
    jira_api,
    login,
    pages,
    pat,
    saml,
    static,
)
from seatgate_simulator.accesslog import AccessLog
from seatgate_simulator.config import SimConfig
from seatgate_simulator.context import STATE_KEY
from seatgate_simulator.middleware import ACCESS_LOG_KEY, FilterChain, stamp_headers
from seatgate_simulator.state import SimState

# Comment and page bodies are small; anything bigger is a client bug worth a 413.
MAX_BODY = 4 * 1024 * 1024


def create_app(config: SimConfig | None = None) -> web.Application:
    config = config or SimConfig()
    config.validate()
    app = web.Application(middlewares=[FilterChain()], client_max_size=MAX_BODY)
    app[STATE_KEY] = SimState(config)
    if config.access_log is not None:
        app[ACCESS_LOG_KEY] = AccessLog(config.access_log, config.product)
        app.on_cleanup.append(_close_access_log)
    app.on_response_prepare.append(stamp_headers)

    product = config.product
    introspection.add_routes(app)
    login.add_routes(app, product)
    saml.add_routes(app)
    pat.add_routes(app)
    directory_api.add_routes(app, product)
    crowd_api.add_routes(app)
    if product == "jira":
        content_api.add_routes(app)
        jira_api.add_routes(app)
        attachments.add_routes(app)
    else:
        confluence_api.add_routes(app)
    background.add_routes(app, product)
    pages.add_routes(app, product)
    static.add_routes(app)
    return app


async def _close_access_log(app: web.Application) -> None:
    app[ACCESS_LOG_KEY].close()
