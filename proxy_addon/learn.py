"""Learning who sent a request from what the upstream answered (it is the authority).

An answer naming a user vouches for the secrets the request carried, and for the session
and remember-me cookies it sets; a new Personal Access Token belongs to the user who
created it. Mappings are kept as keyed hashes only.
"""

from __future__ import annotations

from collections.abc import Callable

from mitmproxy import http

from proxy_addon import metrics, pat
from proxy_addon.claims import ClaimGuard, claim_verdict, login_ok
from proxy_addon.credentials import Credentials
from proxy_addon.flow_state import FlowState
from proxy_addon.headers import AnswerHeaders
from proxy_addon.identify import NAMING_CLAIMS, Identity, Source, named_user
from proxy_addon.identity_store import IdentityStore
from proxy_addon.licence_view import LicenceView
from proxy_addon.record import ActivityRecorder
from seatgate import logs
from seatgate.keyed_hash import KeyedHasher
from seatgate.settings import ProductSettings, ProxySettings

log = logs.get("seatgate.proxy")


def vouched_digests(creds: Credentials, user: str) -> list[str]:
    """The request's secrets that an answer naming ``user`` vouches for. A session decides
    before per-request credentials (Seraph's order), so a token or password that came with
    a session cookie is not mapped to the session's user."""
    digests = [d for d in (creds.session, creds.rememberme) if d is not None]
    if creds.session is None:
        if creds.bearer is not None:
            digests.append(creds.bearer)
        if creds.basic is not None and creds.claimed_user == user:
            digests.append(creds.basic)
    return digests


class Learner:
    def __init__(
        self,
        settings: ProxySettings,
        hasher: KeyedHasher,
        identities: IdentityStore,
        claims: ClaimGuard,
        view: LicenceView,
        record: ActivityRecorder,
        client_of: Callable[[http.HTTPFlow], str],
    ) -> None:
        self._settings = settings
        self._client_of = client_of
        self._hasher = hasher
        self._identities = identities
        self._claims = claims
        self._view = view
        self._record = record

    def from_answer(self, flow: http.HTTPFlow, state: FlowState, answer: AnswerHeaders) -> None:
        """Learn what an answer (the first one, or a replayed one) says about its sender."""
        product, creds, identity = state.product, state.creds, state.identity
        assert creds is not None
        named, reason = answer.named, answer.login_reason
        state.named, state.login_reason = named, reason
        claim = identity if identity is not None and not identity.confirmed else None
        verdict = claim_verdict(claim.user, named, reason) if claim is not None else None
        if claim is not None and verdict in ("confirmed", "authenticated"):
            user = claim.user
        elif (by_name := named_user(named)) is not None:
            user = by_name
        elif named is None and identity is not None and identity.confirmed and login_ok(reason):
            user = identity.user  # e.g. a remember-me re-login on a product without X-AUSERNAME
        else:
            if named == "anonymous" and "AUTHORISATION_FAILED" not in (reason or ""):
                for digest in creds.known_digests():
                    self._identities.forget(product.name, digest)
            return
        if creds.claim_source in NAMING_CLAIMS:
            digests: list[str] = []  # the cookies a login came with predate it: only those it sets count
        elif verdict == "authenticated":
            digests = [creds.basic] if creds.basic else []  # only the credential upstream checked
        else:
            digests = vouched_digests(creds, user)
        for digest in digests:
            self._identities.learn(product.name, digest, user)
        if (
            creds.bearer is not None
            and (identity is None or identity.source is not Source.PAT)
            and creds.bearer in digests
        ):
            metrics.TOKENS_LEARNED.labels(product.name, "answer").inc()
        if self._claims.granted_ahead:
            self._claims.confirmed(product.name, user)
        if verdict == "authenticated":
            # Right credentials refused for the licence: the response hook grants and replays;
            # in shadow mode, which grants nothing, the user's real activity is a would-be seat.
            if product.mode == "shadow" and state.verdict == "activity":
                self._record.activity(product, user)
            return
        for header in answer.cookies:
            self._cookie(product, header, user)
        # Not counted at request time (identity unknown, wrong, or only claimed): count this
        # request as the user's activity if they hold a seat.
        counted = identity is not None and identity.confirmed and identity.user == user
        if not counted and state.verdict in ("activity", "passive") and self._view.is_licensed(product.name, user):
            self._record.activity(product, user)
        elif not counted and product.mode == "shadow" and state.verdict == "activity":
            self._record.activity(product, user)  # upstream vouched for the user: a would-be seat
        if claim is not None and verdict == "confirmed" and state.verdict == "activity" and product.also_grant:
            vouched, client = Identity(user, claim.source, True), self._client_of(flow)
            for linked in product.also_grant:
                self._record.grant_linked(linked, vouched, client)

    def token(self, state: FlowState, response: http.Response) -> None:
        """A new Personal Access Token: its owner is the user who created it."""
        token = pat.raw_token(response.headers.get("content-type", ""), response.get_content(strict=False))
        identity = state.identity
        owner = named_user(state.named)
        if owner is None and identity is not None and identity.confirmed:
            owner = identity.user
        if token is None or owner is None:
            return
        self._identities.learn(state.product.name, self._hasher.digest("bearer", token), owner)
        metrics.TOKENS_LEARNED.labels(state.product.name, "created").inc()
        log.info("pat_learned", product=state.product.name, user=owner)

    def _cookie(self, product: ProductSettings, header: str, user: str) -> None:
        pair, _, attributes = header.partition(";")
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip().strip('"')
        if not sep or not value or "max-age=0" in attributes.lower().replace(" ", ""):
            return
        if name in self._settings.session_cookies:
            self._identities.learn(product.name, self._hasher.digest("session", value), user)
        elif name in self._settings.rememberme_cookies:
            self._identities.learn(product.name, self._hasher.digest("rememberme", value), user)
