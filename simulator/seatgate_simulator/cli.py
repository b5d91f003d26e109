"""``seatgate simulate``: run the Jira/Confluence simulator until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

SHUTDOWN_DEADLINE_S = 5.0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product", choices=("jira", "confluence"), required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--users", type=int, default=0, help="extra users user0001..userNNNN")
    parser.add_argument("--seats", type=int, default=None, help="licensed seats (default 10000)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to directory calls")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of directory calls failing with 500")
    parser.add_argument("--no-ausername", action="store_true", help="do not send X-AUSERNAME")
    parser.add_argument(
        "--name-refused-users",
        action="store_true",
        help="X-AUSERNAME names a user refused for lack of a licence (default: anonymous)",
    )
    parser.add_argument(
        "--confluence-api",
        choices=("rest", "jsonrpc"),
        default="rest",
        help="rest = Confluence 9.x membership REST; jsonrpc = 7.x/8.x (REST writes 404)",
    )
    parser.add_argument("--poll-interval", type=float, default=30.0, help="seconds between page polls")
    parser.add_argument("--access-log", type=Path, default=None, help="write an access log in the product format")
    parser.add_argument(
        "--license-group", default=None, help="licence group (default jira-software-users / confluence-users)"
    )
    parser.add_argument(
        "--access-groups",
        default=None,
        help="comma-separated groups the Jira application role grants at start (default: the licence group); "
        "missing ones are created holding every user",
    )


def _config(args: argparse.Namespace):  # -> SimConfig; ValueError with a one-line reason
    from seatgate_simulator.config import DEFAULT_SEATS, SimConfig

    if not 0 <= args.port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, not {args.port}")
    return SimConfig(
        product=args.product,
        users=args.users,
        seats=DEFAULT_SEATS if args.seats is None else args.seats,
        license_group=args.license_group,
        access_groups=tuple(g.strip() for g in args.access_groups.split(",")) if args.access_groups else (),
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        ausername=not args.no_ausername,
        name_refused=args.name_refused_users,
        confluence_api=args.confluence_api,
        poll_interval=args.poll_interval,
        access_log=args.access_log,
    )


async def _serve(config, host: str, port: int) -> int:
    from aiohttp import web

    from seatgate_simulator.app import create_app

    runner = web.AppRunner(create_app(config), access_log=None, shutdown_timeout=SHUTDOWN_DEADLINE_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            print(f"seatgate simulate: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        bound = runner.addresses[0][1] if runner.addresses else port
        print(f"simulator: {config.product} on http://{host}:{bound} (license group {config.group})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()  # ends only by a signal: serving is the job
    finally:
        await asyncio.wait_for(runner.cleanup(), SHUTDOWN_DEADLINE_S * 2)
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        if config.access_log is not None and not config.access_log.parent.is_dir():
            raise ValueError(f"access log directory does not exist: {config.access_log.parent}")
    except ValueError as exc:
        print(f"seatgate simulate: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(config, args.host, args.port))
