"""``seatgate proxy``: mitmproxy's Master with only the addons this job needs.

Stock ``mitmdump`` loads about forty addons and dispatches every event to each of them;
a reverse proxy for licensing needs four: the proxy server, next-layer protocol
detection, TLS configuration (for https upstreams), and seatgate's own two. The listeners
open only once every addon has started (:mod:`proxy_addon.startup`): a start-up failure is
one line on stderr and exit status 2, and no connection is accepted meanwhile. One
reverse-proxy mode per product, listening on its own port.
Events go only to the addons that handle them, and hooks whose handlers return at once run
in place rather than in a task each (:mod:`proxy_addon.dispatch`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (TOML); SEATGATE_* environment variables also apply")
    parser.add_argument(
        "--bare", action="store_true", help="forward only, without the seatgate addons (for measuring the proxy itself)"
    )


class FreezeStartupHeap:
    """Once every addon is running, take the objects built so far out of the collector's view.

    Start-up leaves a large heap of long-lived objects (settings and rules models, compiled
    patterns, client libraries) that the cyclic garbage collector would otherwise walk on
    every full collection, for as long as the proxy runs (``gc.freeze``). Added last, so
    it runs after the other addons' ``running`` hooks.
    """

    def running(self) -> None:
        gc.collect()
        gc.freeze()


def proxy_modes(settings) -> list[str]:
    modes = []
    for product in settings.products:
        listen = settings.product_listen(product)
        # The requests' paths carry the context path already (/jira/...): proxy to the origin.
        modes.append(f"reverse:{product.origin}@{listen}")
    return modes


async def run(settings, bare: bool = False) -> int:
    from mitmproxy import options
    from mitmproxy.addons import core, next_layer, proxyserver, tlsconfig

    from proxy_addon.addon import HeaderHygiene, SeatGate
    from proxy_addon.dispatch import LeanMaster, use_inline_hooks
    from proxy_addon.startup import serve

    use_inline_hooks()
    opts = options.Options()
    master = LeanMaster(opts)
    master.addons.add(core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig())
    if not bare:
        master.addons.add(HeaderHygiene(settings.proxy.strip_request_headers), SeatGate(settings))
    master.addons.add(FreezeStartupHeap())

    def configure() -> None:
        opts.update(
            mode=proxy_modes(settings),
            # Jira and Confluence build absolute links from the Host header (base URL checks).
            keep_host_header=True,
            # Attachments and exports pass through without being held in memory.
            stream_large_bodies="1m",
            # Upstream TLS stays the operator's call (ssl_insecure stays False).
            connection_strategy="lazy",
        )

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, master.shutdown)
    await serve(master, settings, configure)
    return 0


def _restart_optimised(args: argparse.Namespace) -> None:
    """Run the proxy under ``python -O``, which drops mitmproxy's per-message self-checks.

    mitmproxy type-checks every HTTP message it builds (``MessageData.__post_init__``,
    guarded by ``__debug__``) and asserts its invariants throughout its layers: together
    about a fifth of the lean runner's CPU per request. seatgate does not rely on
    ``assert``. ``SEATGATE_PYTHON_OPTIMIZE=0`` keeps the checks, for debugging.
    """
    if sys.flags.optimize or os.environ.get("SEATGATE_PYTHON_OPTIMIZE", "1") == "0":
        return
    argv = [sys.executable, "-O", "-m", "seatgate", "proxy"]
    if args.config:
        argv += ["--config", args.config]
    if args.bare:
        argv.append("--bare")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def main(args: argparse.Namespace) -> int:
    _restart_optimised(args)
    from seatgate import logs
    from seatgate.settings import load_settings

    settings = load_settings(args.config)
    settings.require_products("proxy")
    if not args.bare:
        settings.secret_key()  # fail at start-up, with one line, when the secret is missing
    logs.configure(settings.log_level, settings.log_format)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get("SEATGATE_EVENT_LOOP", "uvloop") == "uvloop" and sys.platform != "win32":
        # libuv's event loop moves the proxy's sockets with less Python per request.
        import uvloop

        uvloop.install()
    from proxy_addon.startup import StartupFailed

    try:
        return asyncio.run(run(settings, bare=args.bare))
    except StartupFailed as exc:
        print(f"seatgate proxy: start-up failed: {exc}", file=sys.stderr)
        return 2
