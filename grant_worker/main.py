"""``seatgate worker``: the grant worker process."""

from __future__ import annotations

import argparse
import asyncio
import signal


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (TOML); SEATGATE_* environment variables also apply")


async def serve(settings) -> int:
    from aiohttp import web

    from grant_worker.admin import api_routes, token_middleware
    from grant_worker.admin_page import page_routes, session_user
    from grant_worker.admin_rules import rules_routes
    from grant_worker.worker import GrantWorker, LoopEnded
    from seatgate.ops_http import OpsServer
    from seatgate.rules import RulesStore

    worker = GrantWorker(settings)
    try:
        await worker.start()
        app = web.Application(middlewares=[token_middleware(settings.admin_token(), session_user(settings))])

        async def ready() -> dict:
            try:
                redis_ok = bool(await asyncio.wait_for(worker.redis.ping(), 2))
            except Exception:
                redis_ok = False
            directories = {f"directory_{p.name}": p.directory.breaker.state != "open" for p in worker.products}
            return {"redis": redis_ok, **directories}

        routes = api_routes(worker.redis, settings, worker.products, worker.handler)
        known = {p.name: p.kind for p in settings.products}
        routes += rules_routes(RulesStore(worker.redis, known), {p.name: p.default_verdict for p in settings.products})
        routes += page_routes(settings)
        ops = OpsServer(settings.worker.admin_listen, ready, routes, app=app)
        await ops.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stopping.set)
        try:
            await worker.run()
        except LoopEnded:
            return 1  # logged by the worker; a supervisor restarts the process
        finally:
            await ops.stop()
    finally:
        await worker.close()
    return 0


def main(args: argparse.Namespace) -> int:
    from seatgate import logs
    from seatgate.settings import load_settings

    settings = load_settings(args.config)
    settings.require_products("worker")
    logs.configure(settings.log_level, settings.log_format)
    return asyncio.run(serve(settings))
