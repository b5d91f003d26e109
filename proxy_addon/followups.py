"""What an answer needs after it has arrived: the few cases that must wait for Redis or
another upstream call, run in the async response hook.

:func:`needed` decides (synchronously, in ``responseheaders``) and :class:`FollowUps`
runs them. A replayed answer goes through the same :func:`needed` and :meth:`FollowUps.run`
as a first one, so nothing learned from answers is skipped because the user was granted
in between (e.g. a token created by a replayed request).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from mitmproxy import http

from proxy_addon import metrics, pat
from proxy_addon.claims import claim_verdict
from proxy_addon.grant_client import ERROR, TIMEOUT, GrantOutcome, GrantStatus
from proxy_addon.headers import read_answer
from proxy_addon.identify import Identity, Source, named_user, secret_sources
from proxy_addon.replay import Replayer, ReplayError, licence_refusal, not_replayable
from proxy_addon.routing import origin
from seatgate import logs
from seatgate.rules import strip_context_path

if TYPE_CHECKING:
    from proxy_addon.claims import ClaimGuard
    from proxy_addon.flow_state import FlowState
    from proxy_addon.gate import Gate
    from proxy_addon.identify import Identifier
    from proxy_addon.learn import Learner
    from proxy_addon.licence_view import LicenceView
    from proxy_addon.record import ActivityRecorder
    from seatgate.settings import ProxySettings

log = logs.get("seatgate.proxy")


class FollowUp(enum.Flag):
    NONE = 0
    TOKEN = enum.auto()  # a Personal Access Token was created: learn its owner
    CLAIM_REJECTED = enum.auto()  # upstream rejected a claimed username: cool down, undo a grant ahead
    CREDENTIAL_REJECTED = enum.auto()  # a learned credential is no longer honoured: undo its grant
    REPLAY = enum.auto()  # refused for lack of a licence: grant, then send the request again


def added(grant: GrantOutcome | None) -> bool:
    """The grant put the user into the licence group (rather than finding them there)."""
    return grant is not None and grant.status == GrantStatus.GRANTED and grant.detail != "already licensed"


def needed(flow: http.HTTPFlow, state: FlowState) -> FollowUp:
    """What the answer needs from the async response hook (usually nothing)."""
    identity, grant, named, reason = state.identity, state.grant, state.named, state.login_reason
    assert flow.response is not None
    status = flow.response.status_code
    todo = FollowUp.NONE
    if status == 201 and pat.is_creation(
        flow.request.method, strip_context_path(flow.request.path, state.product.context_path), status
    ):
        todo |= FollowUp.TOKEN
    if identity is not None:
        if not identity.confirmed:
            rejected = claim_verdict(identity.user, named, reason) == "rejected"
            if rejected and (identity.source is not Source.APPLINK or state.claim_token is not None):
                todo |= FollowUp.CLAIM_REJECTED
        elif named == "anonymous" and added(grant) and "AUTHORISATION_FAILED" not in (reason or ""):
            todo |= FollowUp.CREDENTIAL_REJECTED
    # Shadow mode grants nothing: a licence refusal is the product's own answer, as today.
    refused = grant is None and licence_refusal(status, reason) and state.verdict == "activity"
    if refused and not state.answered and state.product.mode != "shadow":
        todo |= FollowUp.REPLAY
    return todo


class FollowUps:
    def __init__(
        self,
        settings: ProxySettings,
        identifier: Identifier,
        learner: Learner,
        gate: Gate,
        record: ActivityRecorder,
        claims: ClaimGuard,
        view: LicenceView,
        replayer: Replayer,
    ) -> None:
        self._settings = settings
        self._identifier = identifier
        self._learner = learner
        self._gate = gate
        self._record = record
        self._claims = claims
        self._view = view
        self._replayer = replayer

    async def run(self, flow: http.HTTPFlow, state: FlowState, todo: FollowUp) -> None:
        assert flow.response is not None
        if FollowUp.TOKEN in todo:
            self._learner.token(state, flow.response)
        if FollowUp.CLAIM_REJECTED in todo:
            await self._claim_rejected(flow, state)
        if FollowUp.CREDENTIAL_REJECTED in todo:
            await self._credential_rejected(flow, state)
        if FollowUp.REPLAY in todo and (user := await self._refused_user(state)) is not None:
            await self._grant_and_replay(flow, state, user)

    async def _claim_rejected(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """Upstream rejected a claimed username: count it for the cooldown, and undo a grant
        made ahead for it (also when the grant's outcome was not known: it may still land)."""
        identity, grant, product = state.identity, state.grant, state.product
        assert identity is not None
        ahead = state.claim_token is not None and grant is not None
        unsure = ahead and grant is not None and grant.status in (TIMEOUT, ERROR)
        roll_back = ahead and (added(grant) or unsure) and self._claims.may_roll_back(product.name, identity.user)
        await self._claims.rejected(
            product.name,
            identity.user,
            self._gate.client(flow),
            source=identity.source,
            reason=f"{identity.source} credentials rejected upstream",
            roll_back=roll_back,
            request_id=grant.request_id if grant is not None else "",
            again_after=2 * self._settings.grant_timeout if roll_back and unsure else None,
        )

    async def _credential_rejected(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """A grant was made for a learned credential that upstream no longer honours (a
        revoked token, an ended session): undo it, and forget a token everywhere so that a
        stale token grants no more."""
        identity, product, creds, grant = state.identity, state.product, state.creds, state.grant
        assert identity is not None and creds is not None and grant is not None
        if identity.source is Source.PAT and creds.bearer:
            await self._identifier.identities.forget_everywhere(product.name, creds.bearer)
        if self._claims.may_roll_back(product.name, identity.user):
            await self._claims.roll_back(
                product.name,
                identity.user,
                self._gate.client(flow),
                f"{identity.source} not honoured upstream",
                grant.request_id,
            )

    async def _refused_user(self, state: FlowState) -> str | None:
        """The user an answer refused for lack of a licence, when known by now and not licensed."""
        product, identity, creds = state.product, state.identity, state.creds
        assert creds is not None
        user = None
        if identity is not None and not identity.confirmed:
            if claim_verdict(identity.user, state.named, state.login_reason) == "authenticated":
                user = identity.user  # a right password: only the licence was missing
        elif (by_name := named_user(state.named)) is not None:
            user = by_name  # e.g. the no-access page of a session the proxy had not seen
        else:
            for digest, _source in secret_sources(creds):  # learned meanwhile, here or elsewhere
                if user := await self._identifier.identities.lookup(product.name, digest):
                    break
        if user is None or self._view.is_licensed(product.name, user) or self._view.is_excluded(product.name, user):
            return None
        return user

    async def _grant_and_replay(self, flow: http.HTTPFlow, state: FlowState, user: str) -> None:
        """Grant the refused user, then send the request again and answer with that."""
        product, creds = state.product, state.creds
        assert creds is not None
        sources = secret_sources(creds)
        source = state.identity.source if state.identity is not None else sources[0][1] if sources else Source.REPLAY
        state.identity = identity = Identity(user, source, True)
        if not await self._gate.hold(flow, state, identity) or (
            state.grant is None or state.grant.status != GrantStatus.GRANTED
        ):
            metrics.REPLAYS.labels(product.name, "not_granted").inc()
            return  # the refusal stands (or the waiting page replaced it)
        self._record.activity(product, user)
        why_not = not_replayable(flow, self._settings.replay_max_body)
        if why_not is not None:
            metrics.REPLAYS.labels(product.name, why_not).inc()
            log.info("not_replayed", product=product.name, user=user, reason=why_not)
            return  # licensed now: the client's next attempt succeeds
        try:
            answer = await self._replayer.send(flow, origin(str(product.upstream)))
        except ReplayError as exc:
            metrics.REPLAYS.labels(product.name, exc.outcome).inc()
            log.warning("replay_failed", product=product.name, user=user, outcome=exc.outcome)
            return
        flow.response = answer
        metrics.REPLAYS.labels(product.name, "replayed").inc()
        log.info(
            "replayed", product=product.name, user=user, status=answer.status_code, request_id=state.grant.request_id
        )
        # The replayed answer is learned from like a first one, with the same follow-ups
        # (a token it creates, a credential it no longer honours); it cannot ask for
        # another replay, since this request now has its grant.
        self._learner.from_answer(flow, state, read_answer(answer))
        await self.run(flow, state, needed(flow, state))
