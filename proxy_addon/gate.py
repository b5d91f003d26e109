"""The gate: forward, or hold a request until the worker has granted its user a seat.

Synchronous on the common path (a licensed user): mitmproxy awaits a hook only when it
returns an awaitable, and a coroutine per request is a measurable part of the proxy's
cost. Only a grant returns one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from mitmproxy import http

from proxy_addon import metrics
from proxy_addon.claims import ClaimGuard, client_address
from proxy_addon.flow_state import FlowState
from proxy_addon.grant_client import ERROR, TIMEOUT, GrantClient, GrantOutcome, GrantStatus
from proxy_addon.identify import Identity, Source
from proxy_addon.licence_view import LicenceView
from proxy_addon.record import ActivityRecorder
from proxy_addon.replay import not_replayable
from proxy_addon.responses import busy_response, waiting_response
from seatgate import logs
from seatgate.policy import refreshes_seat
from seatgate.settings import ProductSettings, ProxySettings

log = logs.get("seatgate.proxy")


class RequestCounter:
    """seatgate_requests_total, with the label children cached: prometheus-client's
    labels() takes a lock and builds a key on every call."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, str], Any] = {}

    def count(self, product: str, verdict: str, source: str) -> None:
        key = (product, verdict, source)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metrics.REQUESTS.labels(product, verdict, source)
        child.inc()


def _answer_unstreamed(flow: http.HTTPFlow) -> None:
    if flow.response is not None:
        flow.request.stream = False


async def _admitted_then_answer_unstreamed(flow: http.HTTPFlow, admitting: Awaitable[None]) -> None:
    await admitting
    _answer_unstreamed(flow)


class Gate:
    def __init__(
        self,
        settings: ProxySettings,
        view: LicenceView,
        grants: GrantClient,
        claims: ClaimGuard,
        record: ActivityRecorder,
        counter: RequestCounter,
    ) -> None:
        self._settings = settings
        self._view = view
        self._grants = grants
        self._claims = claims
        self._record = record
        self._counter = counter

    def admit(self, flow: http.HTTPFlow, state: FlowState, identity: Identity | None) -> Awaitable[None] | None:
        """Record activity, or return the wait for a grant when the user needs one."""
        product = state.product
        state.identity = identity
        self._counter.count(product.name, state.verdict, identity.source if identity else "anonymous")
        if identity is None:
            return None
        if identity.source is Source.APPLINK and not self._settings.applink_activity and state.verdict == "activity":
            # App-link traffic is another server acting for the user: by default it
            # keeps a licensed user licensed but never takes a seat on its own.
            state.verdict = "passive"
        if product.mode == "shadow":
            self._observe_only(state, identity)
            return None
        if not identity.confirmed:
            return self._admit_claim(flow, state, identity)
        user = identity.user
        if self._claims.granted_ahead:
            self._claims.confirmed(product.name, user)  # the real user is active: keep any seat
        licensed = self._view.is_licensed(product.name, user)
        if state.verdict == "activity":
            if not licensed and not self._view.is_excluded(product.name, user):
                return self._grant_then_record(flow, state, identity)
            self._record.activity(product, user)
        elif state.verdict == "passive" and licensed:
            self._record.activity(product, user)
        return None

    @staticmethod
    def streamed(flow: http.HTTPFlow, admitting: Awaitable[None] | None) -> Awaitable[None] | None:
        """Admit a request whose body streams, from ``requestheaders``. A Basic claim cannot be
        replayed then, so :meth:`_admit_claim` grants it ahead like a login. When the gate
        answers itself (waiting or busy page), mitmproxy cannot stream the request as well:
        the body is read in, and the answer sent once it has arrived."""
        if admitting is None:
            _answer_unstreamed(flow)
            return None
        return _admitted_then_answer_unstreamed(flow, admitting)

    def _observe_only(self, state: FlowState, identity: Identity) -> None:
        """Shadow mode: record what enforce mode would count; hold, queue or ask for nothing.
        A claimed name counts once the upstream's answer confirms it (Learner.from_answer)."""
        user = identity.user
        if identity.confirmed and refreshes_seat(state.verdict, self._view.is_licensed(state.product.name, user)):
            self._record.activity(state.product, user)

    async def _grant_then_record(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> None:
        self._claims.note_grant_ahead(state.product.name, identity.user)
        if await self.hold(flow, state, identity):
            self._record.activity(state.product, identity.user)

    def _admit_claim(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> Awaitable[None] | None:
        """A name upstream has not vouched for yet. Its activity is recorded once the answer
        confirms it; a grant ahead of that is made only where the product needs one."""
        product = state.product
        if (
            state.verdict != "activity"
            or self._view.is_licensed(product.name, identity.user)
            or self._view.is_excluded(product.name, identity.user)
        ):
            return None
        if identity.source is Source.BASIC and not_replayable(flow, self._settings.replay_max_body) is None:
            # Upstream checks a Basic password on every request: let it. A wrong one costs no
            # seat; a right one without a licence is answered AUTHORISATION_FAILED, and the
            # response hook then grants and replays the request.
            return None
        return self._grant_claim_ahead(flow, state, identity)

    async def _grant_claim_ahead(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> None:
        # Logins (the product refuses an unlicensed user inside the login), SAML assertions
        # (single use: never replayable) and Basic bodies too big to replay or streamed.
        product = state.product
        client = self.client(flow)
        refusal = await self._claims.admit(product.name, identity.user, client)
        if refusal is not None:
            metrics.CLAIMS_REFUSED.labels(product.name, refusal).inc()
            log.debug(
                "claim_not_granted_ahead",
                product=product.name,
                user=identity.user,
                source=identity.source,
                client=client,
                reason=refusal,
            )
            return
        state.claim_token = self._claims.begin(product.name, identity.user)
        await self.hold(flow, state, identity)

    async def hold(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> bool:
        """Wait for the grant; return False when the flow was answered instead of forwarded."""
        forward = await self._wait_for_grant(flow, state, identity)
        state.answered = not forward
        return forward

    async def _wait_for_grant(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> bool:
        settings, product = self._settings, state.product
        client = self.client(flow)
        gauge = metrics.HELD.labels(product.name)
        gauge.inc()
        started = time.perf_counter()
        try:
            outcome = await self._grants.request(
                product.name,
                identity.user,
                source=identity.source,
                confirmed=identity.confirmed,
                client=client,
                deadline=settings.grant_timeout,
            )
        finally:
            gauge.dec()
        state.grant = outcome
        held = time.perf_counter() - started
        metrics.GRANT_LATENCY.labels(product.name, outcome.status, "proxy").observe(held)
        log.info(
            "grant_held",
            product=product.name,
            user=identity.user,
            source=identity.source,
            outcome=outcome.status,
            held_ms=round(held * 1000, 2),
            request_id=outcome.request_id,
        )
        if identity.confirmed:  # a claim's linked grants wait for upstream's confirmation
            for linked in product.also_grant:
                self._record.grant_linked(linked, identity, client)
        status = outcome.status
        if status is GrantStatus.GRANTED or status is GrantStatus.EXCLUDED:
            return True
        if status is GrantStatus.DENIED:
            flow.response = waiting_response(
                flow.request, product, outcome, settings.waiting_message, settings.waiting_logo_url
            )
            return False
        if status is GrantStatus.FAILED and outcome.detail == "unknown_user":
            return True  # nothing to grant; upstream answers the bad login itself
        return self.on_failure(flow, product, identity, outcome)

    def on_failure(
        self, flow: http.HTTPFlow, product: ProductSettings, identity: Identity, outcome: GrantOutcome
    ) -> bool:
        return answer_failure(self._settings, flow, product, identity, outcome)

    def client(self, flow: http.HTTPFlow) -> str:
        """The client's address (behind trusted reverse proxies: from X-Forwarded-For)."""
        peer = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        if not self._claims.trusted:
            return peer
        return client_address(peer, flow.request.headers.get("x-forwarded-for", ""), self._claims.trusted)


def answer_failure(
    settings: ProxySettings, flow: http.HTTPFlow, product: ProductSettings, identity: Identity, outcome: GrantOutcome
) -> bool:
    """No confirmed grant: forward anyway (fail open, True) or answer 503 (fail closed)."""
    mode = settings.failure_mode
    reason = outcome.status if outcome.status in (TIMEOUT, ERROR) else "failed"
    metrics.FAILURE_MODE.labels(product.name, mode, reason).inc()
    log.warning(
        "grant_not_confirmed",
        product=product.name,
        user=identity.user,
        outcome=outcome.status,
        detail=outcome.detail,
        mode=mode,
        request_id=outcome.request_id,
    )
    if mode == "closed":
        flow.response = busy_response(flow.request, product)
        return False
    return True
