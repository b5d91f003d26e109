"""The mitmproxy addons of seatgate: the hooks, and nothing but the hooks.

A request goes identity → classify → gate → record: :mod:`classify` gives the rules'
verdict, :mod:`identify` works out who sent it, :mod:`gate` forwards it or holds it for a
grant, :mod:`record` writes the activity behind. An answer is learned from
(:mod:`learn`) and may need a follow-up (:mod:`followups`). :mod:`headers` reads and
rewrites header fields; :mod:`lifecycle` starts and stops what all of it uses.

Loadable with ``mitmdump -s proxy_addon/mitmdump_script.py --set seatgate_config=FILE``
or run by ``seatgate proxy`` (see runner.py), which builds a lean master around them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from mitmproxy import connection, ctx, exceptions, http

from proxy_addon import followups, metrics
from proxy_addon.classify import TrafficClassifier
from proxy_addon.credentials import Credentials
from proxy_addon.flow_state import META, FlowState
from proxy_addon.gate import Gate, RequestCounter, answer_failure
from proxy_addon.grant_client import TIMEOUT, GrantOutcome
from proxy_addon.headers import HeaderHygiene, read_answer
from proxy_addon.identify import NEEDS_LOOKUP, Identity, Source
from proxy_addon.lifecycle import RequestPath
from proxy_addon.routing import ProductRouter
from seatgate import logs
from seatgate.keyed_hash import KeyedHasher
from seatgate.rules import load_builtin_ruleset
from seatgate.settings import ConfigError, Settings, load_settings

__all__ = ["HeaderHygiene", "SeatGate"]

log = logs.get("seatgate.proxy")


class SeatGate:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings
        self.router = ProductRouter()
        self.traffic = TrafficClassifier()
        self.hasher: KeyedHasher | None = None
        self.rules_version = 0
        self._counter = RequestCounter()
        # Set once the addon has started (running). Under stock mitmdump listeners open
        # before the addons' running hooks: a request may come in while this one starts.
        self.path: RequestPath | None = None
        self._started = asyncio.Event()

    # -- lifecycle --------------------------------------------------------------------
    def load(self, loader: Any) -> None:
        loader.add_option("seatgate_config", str | None, None, "seatgate settings file (TOML)")

    def configure(self, updated: set[str]) -> None:
        if self.hasher is not None and "seatgate_config" not in updated:
            return  # nothing of ours changed (the rules in use stay as they are)
        path = getattr(ctx.options, "seatgate_config", None) if "seatgate_config" in updated else None
        if self.settings is None or path:
            try:
                self.settings = load_settings(path)
            except ConfigError as exc:
                raise exceptions.OptionsError(f"seatgate: {exc}") from None
        settings = self.settings
        if not settings.products:
            raise exceptions.OptionsError("seatgate: no [[products]] configured")
        try:
            self.hasher = KeyedHasher(settings.secret_key())
        except (ConfigError, ValueError) as exc:
            raise exceptions.OptionsError(f"seatgate: {exc}") from None
        self.router.configure(settings.products)
        # The rules an admin stored stay in use; only the products' default verdicts change.
        current = self.traffic.classifier
        self.traffic.use_rules(current.ruleset if current else load_builtin_ruleset(), settings.products)

    async def running(self) -> None:
        settings, hasher = self.settings, self.hasher
        assert settings is not None and hasher is not None
        self.path = path = await RequestPath.start(settings, hasher, self._rules_changed, self._counter)
        self._started.set()
        await path.services.start_ops()
        proxy = settings.proxy
        log.info("proxy_started", products=[p.name for p in settings.products], failure_mode=proxy.failure_mode)

    async def done(self) -> None:
        if self.path is not None:
            await self.path.services.stop()

    def client_disconnected(self, client: connection.Client) -> None:
        if self.path is not None:
            self.path.identifier.connection_closed(client.id)

    def _rules_changed(self, version: int, ruleset: Any) -> None:
        assert self.settings is not None
        self.traffic.use_rules(ruleset, self.settings.products)
        self.rules_version = version
        metrics.RULES_VERSION.set(version)
        log.info("rules_loaded", version=version)

    # -- request path -------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        request = flow.request
        if not request.stream or self.settings is None:
            return None
        # mitmproxy streams bodies above stream_large_bodies; keep the ones a replay may need.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) <= self.settings.proxy.replay_max_body:
            request.stream = False
            return None
        # The body streams: mitmproxy opens the upstream request right after this hook and
        # runs the request hook only once the body has gone through. Gate on the headers now.
        return Gate.streamed(flow, self._admit(flow))

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        if flow.response is not None or self.settings is None or META in flow.metadata:
            return None  # answered, or gated in requestheaders already (a streamed body)
        return self._admit(flow)

    def _admit(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        """identity → classify → gate for one request (its body only when it was kept)."""
        path = self.path
        if path is None:
            return self._request_once_started(flow)
        product = self.router.product_for(flow)
        if product is None:
            return None
        seen = self.traffic.classify(product, flow.request)
        state = FlowState(product, seen.verdict)
        flow.metadata[META] = state
        path.services.sample.record(product.name, flow.request.method, seen.path, seen.query, seen.verdict, state)
        if state.verdict == "static":
            self._counter.count(product.name, "static", "none")
            return None
        state.creds = creds = path.identifier.credentials(flow, product, seen)
        identity = path.identifier.cached(product, creds)
        if identity is NEEDS_LOOKUP:
            return self._identify_then_gate(path, flow, state, creds, seen.headers.get("cookie", ""))
        return path.gate.admit(flow, state, identity)

    @staticmethod
    async def _identify_then_gate(
        path: RequestPath, flow: http.HTTPFlow, state: FlowState, creds: Credentials, cookie: str
    ) -> None:
        identity = await path.identifier.resolve(state.product, creds, cookie)
        waiting = path.gate.admit(flow, state, identity)
        if waiting is not None:
            await waiting

    async def _request_once_started(self, flow: http.HTTPFlow) -> None:
        """A request that came in while the addon was starting waits for it, within the grant
        deadline, rather than going upstream ungated."""
        assert self.settings is not None
        proxy = self.settings.proxy
        try:
            await asyncio.wait_for(self._started.wait(), proxy.grant_timeout)
        except TimeoutError:
            product = self.router.product_for(flow)
            if product is not None:
                outcome = GrantOutcome(TIMEOUT, "proxy still starting")
                answer_failure(proxy, flow, product, Identity("", Source.STARTING, False), outcome)
            return
        pending = self._admit(flow)
        if pending is not None:
            await pending

    # -- response path ------------------------------------------------------------------
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state: FlowState | None = flow.metadata.get(META)
        path = self.path
        if state is None or state.creds is None or flow.response is None or path is None:
            return
        answer = read_answer(flow.response)
        path.identifier.saw_answer(state.product, answer.named)
        path.learner.from_answer(flow, state, answer)
        state.followups = followups.needed(flow, state)

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        state: FlowState | None = flow.metadata.get(META)
        path = self.path
        if state is None or path is None:
            return None
        if state.claim_token is not None:
            path.services.claims.end(state.product.name, state.claim_token)
        if not state.followups or state.answered or flow.response is None:
            return None
        return path.followups.run(flow, state, state.followups)

    def error(self, flow: http.HTTPFlow) -> None:
        state: FlowState | None = flow.metadata.get(META)
        if state is not None and state.claim_token is not None and self.path is not None:
            self.path.services.claims.end(state.product.name, state.claim_token)
