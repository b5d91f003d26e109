"""The mitmproxy addons of seatgate.

``HeaderHygiene`` removes identity headers a client could forge and adds the
X-Forwarded-* headers. ``SeatGate`` does the licensing: it classifies each request,
works out who sent it, holds real activity of an unlicensed user until the worker has
granted a seat, records activity behind the request, and learns identities from what
the upstream answers.

Loadable with ``mitmdump -s proxy_addon/mitmdump_script.py --set seatgate_config=FILE``
or run by ``seatgate proxy`` (see runner.py), which builds a lean master around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from mitmproxy import connection, ctx, exceptions, http

from proxy_addon import metrics, pat
from proxy_addon.claims import ClaimGuard, claim_verdict, client_address, login_ok
from proxy_addon.credentials import ConnectionSecrets, Credentials, extract, valid_username
from proxy_addon.current_user import CurrentUser
from proxy_addon.events import EventListener
from proxy_addon.grant_client import ERROR, TIMEOUT, GrantClient, GrantOutcome
from proxy_addon.identity_store import IdentityStore
from proxy_addon.licence_view import LicenceView
from proxy_addon.replay import Replayer, ReplayError, licence_refusal, not_replayable
from proxy_addon.responses import busy_response, waiting_response
from proxy_addon.write_behind import WriteBehind
from seatgate import logs, redis_conn
from seatgate.keyed_hash import KeyedHasher
from seatgate.ops_http import OpsServer, UpstreamProbe
from seatgate.rules import Classifier, RulesWatcher, load_builtin_ruleset, strip_context_path
from seatgate.schema import REQUEST_GRANT, Event
from seatgate.settings import ConfigError, ProductSettings, Settings, load_settings

log = logs.get("seatgate.proxy")

META = "seatgate"
_LOOKUP = object()  # identity not in the local cache: ask Redis
# Answers in a row without X-AUSERNAME after which a product is taken not to send it, and a
# new session is resolved through the product's "current user" resource before it is gated.
AUSERNAME_MISSES = 3
# Request headers the addon itself reads (credentials, login forms); the rules add theirs.
CREDENTIAL_HEADERS = frozenset({"cookie", "authorization", "content-type"})


class HeaderHygiene:
    """Never trust identity headers on a request; tell upstream who the client is.

    Works on the raw header fields: mitmproxy's case-insensitive lookups rescan every
    header on each call. Most requests carry none of the headers this rewrites, so one
    cheap pass (comparing lengths before lower-casing) decides, and only a request that
    does have one gets its fields rebuilt.
    """

    FORWARDED_FOR, FORWARDED_PROTO = b"x-forwarded-for", b"x-forwarded-proto"

    def __init__(self, strip: list[str] | None = None):
        self.strip = frozenset(name.lower().encode() for name in (strip or ["X-AUSERNAME", "X-AUSERID"]))
        self._lengths = frozenset(len(name) for name in self.strip | {self.FORWARDED_FOR, self.FORWARDED_PROTO})

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        headers = flow.request.headers
        client_ip = (flow.client_conn.peername[0] if flow.client_conn.peername else "").encode()
        proto = (b"X-Forwarded-Proto", b"https" if flow.client_conn.tls_established else b"http")
        lengths = self._lengths
        if not any(len(name) in lengths and self._rewrites(name.lower()) for name, _ in headers.fields):
            headers.fields += ((b"X-Forwarded-For", client_ip), proto)
            return
        kept, forwarded, has_proto = [], None, False
        for name, value in headers.fields:
            lower = name.lower()
            if lower in self.strip:
                continue
            if lower == self.FORWARDED_FOR:
                forwarded = value if forwarded is None else forwarded + b", " + value
                continue
            if lower == self.FORWARDED_PROTO:
                has_proto = True
            kept.append((name, value))
        kept.append((b"X-Forwarded-For", forwarded + b", " + client_ip if forwarded else client_ip))
        if not has_proto:
            kept.append(proto)
        headers.fields = tuple(kept)

    def _rewrites(self, lower: bytes) -> bool:
        return lower in self.strip or lower == self.FORWARDED_FOR or lower == self.FORWARDED_PROTO


@dataclass(slots=True)
class Identity:
    user: str
    source: str  # session | rememberme | pat | basic | login | saml | applink
    confirmed: bool  # the upstream has vouched for this mapping before


@dataclass(slots=True)
class FlowState:
    product: ProductSettings
    verdict: str
    creds: Credentials | None = None
    identity: Identity | None = None
    grant: GrantOutcome | None = None  # the grant this request waited for, if any
    claim_token: int | None = None  # ClaimGuard.begin() of a claim granted ahead
    answered: bool = False  # the proxy answered itself (waiting or busy page)
    followup: bool = False  # the answer needs the async response hook (set by responseheaders)
    named: str | None = None  # X-AUSERNAME of upstream's answer
    login_reason: str | None = None  # X-Seraph-LoginReason of upstream's answer


class SeatGate:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings
        self.classifier: Classifier | None = None
        self.rules_version = 0
        self._by_upstream: dict[str, ProductSettings] = {}
        self._by_mode: dict[str, ProductSettings | None] = {}
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        self._counters: dict[tuple[str, str, str], Any] = {}
        self.redis: Any = None
        self.view: LicenceView | None = None
        self.grants: GrantClient | None = None
        self.writer: WriteBehind | None = None
        self.identities: IdentityStore | None = None
        self.hasher: KeyedHasher | None = None
        self._ops: OpsServer | None = None
        self._events: EventListener | None = None
        self._upstreams: UpstreamProbe | None = None
        self.claims: ClaimGuard | None = None
        self.current_user: CurrentUser | None = None
        self.replayer: Replayer | None = None
        self._saml_paths: frozenset[str] = frozenset()
        self._wanted_headers: frozenset[bytes] = frozenset()
        self._wanted_lengths: frozenset[int] = frozenset()
        self._connections: dict[str, ConnectionSecrets] = {}  # by client connection id
        # Set once the request path has all it uses. mitmproxy listens from configure on,
        # before the addons' running hooks: a request may come in while this one starts.
        self._started = asyncio.Event()
        self._ausername_misses: dict[str, int] = {}

    # -- mitmproxy lifecycle ------------------------------------------------------
    def load(self, loader: Any) -> None:
        loader.add_option("seatgate_config", str | None, None, "seatgate settings file (TOML)")

    def configure(self, updated: set[str]) -> None:
        if self.settings is None or "seatgate_config" in updated:
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
        self._by_upstream = {_norm_upstream(p.upstream): p for p in settings.products}
        self._by_mode.clear()
        self._saml_paths = frozenset(settings.proxy.saml_paths)
        self._use_classifier(Classifier(load_builtin_ruleset(), defaults=self._defaults()))

    async def running(self) -> None:
        settings = self.settings
        assert settings is not None
        names = [p.name for p in settings.products]
        proxy = settings.proxy
        self.redis = redis_conn.connect(settings.redis_url)
        await redis_conn.warm_up(self.redis)  # unreachable now is fine: every use fails open
        # Tokens outlive sessions (automation may use one monthly): keep their owners longer.
        ttl_by_kind = {"bearer": proxy.pat_ttl}
        self.writer = WriteBehind(
            self.redis, proxy.activity_flush_interval, proxy.activity_buffer_max, proxy.session_ttl, ttl_by_kind
        )
        self.identities = IdentityStore(self.redis, self.writer, proxy.session_ttl, ttl_by_kind=ttl_by_kind)
        self.claims = ClaimGuard(self.redis, proxy)
        self.current_user = CurrentUser(proxy.current_user_timeout)
        self.replayer = Replayer(proxy.replay_timeout)
        await self.current_user.start()
        await self.replayer.start()
        self.view = LicenceView(names)
        # The in-flight marker outlives the proxy's wait so that a slow grant is not
        # asked for twice; it expires so that a grant lost with a dead worker is retried.
        self.grants = GrantClient(self.redis, inflight_ttl=max(proxy.grant_timeout * 2, 30.0))
        self._events = EventListener(
            self.redis,
            names,
            [self.view.apply, self.grants.resolve],
            on_connected=self._on_redis_connected,
            on_lost=lambda: self.grants.abandon_all("events connection lost"),
        )
        watcher = RulesWatcher(self.redis, on_change=self._rules_changed, check_interval=1.0)
        self._tasks = [
            asyncio.create_task(self._events.run(), name="seatgate-events"),
            asyncio.create_task(self.writer.run(), name="seatgate-write-behind"),
            asyncio.create_task(watcher.run(), name="seatgate-rules"),
            asyncio.create_task(self._resync_loop(), name="seatgate-resync"),
        ]
        self._started.set()
        if proxy.metrics_listen:
            self._upstreams = UpstreamProbe({p.name: str(p.upstream) for p in settings.products})
            self._ops = OpsServer(proxy.metrics_listen, ready=self._ready)
            await self._ops.start()
        log.info("proxy_started", products=names, failure_mode=proxy.failure_mode)

    async def done(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 2)
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.flush(), 3)
        if self._ops is not None:
            await self._ops.stop()
        for closable in (self.claims, self.current_user, self.replayer):
            if closable is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closable.close(), 3)
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.redis.aclose(), 2)

    # -- request path ---------------------------------------------------------------
    # ``request`` is synchronous on the common path (a licensed user with a known session):
    # mitmproxy awaits a hook only when it returns an awaitable, and creating a coroutine
    # per request is a measurable part of the proxy's cost. Only a Redis lookup of an
    # unknown secret or a grant returns a coroutine.
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # mitmproxy streams bodies above stream_large_bodies; keep the ones a replay may need.
        request = flow.request
        if request.stream and self.settings is not None:
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) <= self.settings.proxy.replay_max_body:
                request.stream = False

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        if flow.response is not None or self.settings is None:
            return None
        if not self._started.is_set():
            return self._request_once_started(flow)
        product = self._product_for(flow)
        if product is None:
            return None
        request = flow.request
        path, _, query = request.path.partition("?")
        if product.context_path:
            path = strip_context_path(path, product.context_path)
        headers = self._read_headers(request)
        decision = self.classifier.classify(
            product_kind=product.kind,
            product_name=product.name,
            method=request.method,
            path=path,
            query=query,
            headers=headers,
        )
        state = FlowState(product, decision.verdict)
        flow.metadata[META] = state
        if state.verdict == "static":
            self._count(product.name, "static", "none")
            return None
        state.creds = creds = extract(
            self.hasher,
            kind=product.kind,
            method=request.method,
            path=path,
            query=query,
            cookie_header=headers.get("cookie", ""),
            authorization=headers.get("authorization", ""),
            content_type=headers.get("content-type", ""),
            body=(request.raw_content or b"") if request.method == "POST" else b"",
            session_cookies=self.settings.proxy.session_cookies,
            rememberme_cookies=self.settings.proxy.rememberme_cookies,
            saml_paths=self._saml_paths,
            seen=self._connection_secrets(flow.client_conn.id),
        )
        identity = self._identify_locally(product, creds)
        if identity is _LOOKUP:
            return self._identify_then_gate(flow, state)
        return self._gate(flow, state, identity)

    def _connection_secrets(self, connection_id: str) -> ConnectionSecrets:
        secrets = self._connections.get(connection_id)
        if secrets is None:
            secrets = self._connections[connection_id] = ConnectionSecrets()
        return secrets

    def client_disconnected(self, client: connection.Client) -> None:
        self._connections.pop(client.id, None)

    def _read_headers(self, request: http.Request) -> dict[str, str]:
        """The request headers that the credentials and the rules look at, in one pass over
        the raw fields; every later lookup is a plain dict access. Only those are decoded:
        building strings for every header of every request is a measurable part of the
        addon's cost. A repeated header is joined the way HTTP joins it."""
        wanted, lengths = self._wanted_headers, self._wanted_lengths
        headers: dict[str, str] = {}
        for name, value in request.headers.fields:
            if len(name) not in lengths:  # most names are told apart without lower-casing
                continue
            lower = name.lower()
            if lower not in wanted:
                continue
            key, text = lower.decode("latin-1"), value.decode("latin-1")
            previous = headers.get(key)
            headers[key] = text if previous is None else previous + ("; " if key == "cookie" else ", ") + text
        return headers

    async def _request_once_started(self, flow: http.HTTPFlow) -> None:
        """A request that came in while the addon was starting waits for it, within the grant
        deadline, rather than going upstream ungated."""
        try:
            await asyncio.wait_for(self._started.wait(), self.settings.proxy.grant_timeout)
        except TimeoutError:
            product = self._product_for(flow)
            if product is not None:
                outcome = GrantOutcome(TIMEOUT, "proxy still starting")
                self._on_failure(flow, product, Identity("", "starting", False), outcome)
            return
        pending = self.request(flow)
        if pending is not None:
            await pending

    async def _identify_then_gate(self, flow: http.HTTPFlow, state: FlowState) -> None:
        identity = await self._identify(state.product, state.creds, flow.request.headers.get("cookie", ""))
        awaitable = self._gate(flow, state, identity)
        if awaitable is not None:
            await awaitable

    def _gate(self, flow: http.HTTPFlow, state: FlowState, identity: Identity | None) -> Awaitable[None] | None:
        """Record activity, or return the wait for a grant when the user needs one."""
        product = state.product
        state.identity = identity
        self._count(product.name, state.verdict, identity.source if identity else "anonymous")
        if identity is None:
            return None
        if identity.source == "applink" and not self.settings.proxy.applink_activity and state.verdict == "activity":
            # App-link traffic is another server acting for the user: by default it
            # keeps a licensed user licensed but never takes a seat on its own.
            state.verdict = "passive"
        if not identity.confirmed:
            return self._gate_claim(flow, state, identity)
        user = identity.user
        if self.claims.granted_ahead:
            self.claims.confirmed(product.name, user)  # the real user is active: keep any seat
        licensed = self.view.is_licensed(product.name, user)
        if state.verdict == "activity":
            if not licensed and not self.view.is_excluded(product.name, user):
                return self._grant_then_record(flow, state, identity)
            self._record_activity(product, user)
        elif state.verdict == "passive" and licensed:
            self._record_activity(product, user)
        return None

    async def _grant_then_record(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> None:
        self.claims.note_grant_ahead(state.product.name, identity.user)
        if await self._hold_for_grant(flow, state, identity):
            self._record_activity(state.product, identity.user)

    def _gate_claim(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> Awaitable[None] | None:
        """A name upstream has not vouched for yet. Its activity is recorded once the answer
        confirms it; a grant ahead of that is made only where the product needs one."""
        product = state.product
        if (
            state.verdict != "activity"
            or self.view.is_licensed(product.name, identity.user)
            or self.view.is_excluded(product.name, identity.user)
        ):
            return None
        if identity.source == "basic" and not_replayable(flow, self.settings.proxy.replay_max_body) is None:
            # Upstream checks a Basic password on every request: let it. A wrong one costs no
            # seat; a right one without a licence is answered AUTHORISATION_FAILED, and the
            # response hook then grants and replays the request.
            return None
        return self._grant_claim_ahead(flow, state, identity)

    async def _grant_claim_ahead(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> None:
        # Logins (the product refuses an unlicensed user inside the login), SAML assertions
        # (single use: never replayable) and Basic bodies too big to replay.
        product = state.product
        client = self._client(flow)
        refusal = await self.claims.admit(product.name, identity.user, client)
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
        state.claim_token = self.claims.begin(product.name, identity.user)
        await self._hold_for_grant(flow, state, identity)

    def _identify_locally(self, product: ProductSettings, creds: Credentials) -> Identity | object | None:
        """Identity from the local cache alone, or _LOOKUP when Redis (or upstream) must be asked."""
        if creds.claim_source in ("login", "saml"):
            # A login names the user it is about, whatever cookies the browser still has.
            return Identity(creds.claimed_user, creds.claim_source, False)
        store = self.identities
        for digest, source in self._sources(creds):
            known, user = store.cached(product.name, digest)
            if not known:
                return _LOOKUP
            if user is not None:
                return Identity(user, source, True)
        if creds.session is not None and self._asks_current_user(product):
            return _LOOKUP
        return self._claimed(creds)

    async def _identify(self, product: ProductSettings, creds: Credentials, cookie: str) -> Identity | None:
        if creds.claim_source in ("login", "saml"):
            return Identity(creds.claimed_user, creds.claim_source, False)
        for digest, source in self._sources(creds):
            user = await self.identities.lookup(product.name, digest)
            if user is not None:
                return Identity(user, source, True)
        if creds.session is not None and cookie and self._asks_current_user(product):
            user = await self.current_user.resolve(product, creds.session, cookie)
            if user is not None:
                for digest in (creds.session, creds.rememberme):
                    if digest is not None:
                        self.identities.learn(product.name, digest, user)
                return Identity(user, "session", True)
        return self._claimed(creds)

    def _asks_current_user(self, product: ProductSettings) -> bool:
        """Whether a new session is resolved through the product before it is gated: the
        product is configured, or seen, not to send X-AUSERNAME."""
        return not product.ausername_header or self._ausername_misses.get(product.name, 0) >= AUSERNAME_MISSES

    @staticmethod
    def _sources(creds: Credentials) -> list[tuple[str, str]]:
        pairs = (
            (creds.session, "session"),
            (creds.bearer, "pat"),
            (creds.basic, "basic"),
            (creds.rememberme, "rememberme"),
        )
        return [(digest, source) for digest, source in pairs if digest is not None]

    @staticmethod
    def _claimed(creds: Credentials) -> Identity | None:
        if creds.claimed_user:
            return Identity(creds.claimed_user, creds.claim_source or "basic", False)
        if creds.applink_user:
            return Identity(creds.applink_user, "applink", False)
        return None

    def _count(self, product: str, verdict: str, source: str) -> None:
        # prometheus-client's labels() takes a lock and builds a key each call: cache it.
        key = (product, verdict, source)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = metrics.REQUESTS.labels(product, verdict, source)
        counter.inc()

    async def _hold_for_grant(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> bool:
        """Wait for the grant; return False when the flow was answered instead of forwarded."""
        forward = await self._wait_for_grant(flow, state, identity)
        state.answered = not forward
        return forward

    async def _wait_for_grant(self, flow: http.HTTPFlow, state: FlowState, identity: Identity) -> bool:
        proxy = self.settings.proxy
        product = state.product
        client = self._client(flow)
        gauge = metrics.HELD.labels(product.name)
        gauge.inc()
        started = time.perf_counter()
        try:
            outcome = await self.grants.request(
                product.name,
                identity.user,
                source=identity.source,
                confirmed=identity.confirmed,
                client=client,
                deadline=proxy.grant_timeout,
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
                self._grant_linked(linked, identity, client)
        if outcome.status in (Event.GRANTED, Event.EXCLUDED):
            return True
        if outcome.status == Event.DENIED:
            flow.response = waiting_response(
                flow.request, product, outcome, proxy.waiting_message, proxy.waiting_logo_url
            )
            return False
        if outcome.status == Event.FAILED and outcome.detail == "unknown_user":
            return True  # nothing to grant; upstream answers the bad login itself
        return self._on_failure(flow, product, identity, outcome)

    def _on_failure(
        self, flow: http.HTTPFlow, product: ProductSettings, identity: Identity, outcome: GrantOutcome
    ) -> bool:
        mode = self.settings.proxy.failure_mode
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

    def _grant_linked(self, name: str, identity: Identity, client: str) -> None:
        """Activity here also licenses a linked product, without holding this request."""
        if self.view.is_licensed(name, identity.user):
            self.writer.activity(name, identity.user, time.time())
            return
        task = asyncio.create_task(
            self.grants.request(
                name,
                identity.user,
                source=f"linked:{identity.source}",
                confirmed=identity.confirmed,
                client=client,
                deadline=self.settings.proxy.grant_timeout,
            )
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _record_activity(self, product: ProductSettings, user: str) -> None:
        now = time.time()
        self.writer.activity(product.name, user, now)
        for linked in product.also_grant:
            if self.view.is_licensed(linked, user):
                self.writer.activity(linked, user, now)

    # -- response path: learn identities from the upstream -------------------------
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state: FlowState | None = flow.metadata.get(META)
        if state is None or state.creds is None or flow.response is None:
            return
        named, reason, cookies = _identity_headers(flow.response)
        state.named, state.login_reason = named, reason
        if named is None:
            name = state.product.name
            self._ausername_misses[name] = self._ausername_misses.get(name, 0) + 1
        elif self._ausername_misses:
            self._ausername_misses.pop(state.product.name, None)
        self._learn_from_answer(flow, state, named, reason, cookies)
        state.followup = self._followups(flow, state)

    def _learn_from_answer(
        self, flow: http.HTTPFlow, state: FlowState, named: str | None, reason: str | None, cookies: list[str]
    ) -> None:
        """Learn what upstream's answer says about who sent the request (it is the authority)."""
        product, creds, identity = state.product, state.creds, state.identity
        claim = identity if identity is not None and not identity.confirmed else None
        verdict = claim_verdict(claim.user, named, reason) if claim is not None else None
        if verdict in ("confirmed", "authenticated"):
            user = claim.user
        elif named is not None and named != "anonymous" and valid_username(named):
            user = named
        elif named is None and identity is not None and identity.confirmed and login_ok(reason):
            user = identity.user  # e.g. a remember-me re-login on a product without X-AUSERNAME
        else:
            if named == "anonymous" and "AUTHORISATION_FAILED" not in (reason or ""):
                for digest in creds.known_digests():
                    self.identities.forget(product.name, digest)
            return
        if creds.claim_source in ("login", "saml"):
            digests: list[str] = []  # the cookies a login came with predate it: only those it sets count
        elif verdict == "authenticated":
            digests = [creds.basic] if creds.basic else []  # only the credential upstream checked
        else:
            digests = _vouched_digests(creds, user)
        for digest in digests:
            self.identities.learn(product.name, digest, user)
        if creds.bearer is not None and (identity is None or identity.source != "pat") and creds.bearer in digests:
            metrics.TOKENS_LEARNED.labels(product.name, "answer").inc()
        if self.claims.granted_ahead:
            self.claims.confirmed(product.name, user)
        if verdict == "authenticated":
            return  # right credentials refused for the licence: the response hook grants and replays
        for header in cookies:
            self._learn_cookie(product, header, user)
        # Not counted at request time (identity unknown, wrong, or only claimed): count this
        # request as the user's activity if they hold a seat.
        counted = identity is not None and identity.confirmed and identity.user == user
        if not counted and state.verdict in ("activity", "passive") and self.view.is_licensed(product.name, user):
            self._record_activity(product, user)
        if verdict == "confirmed" and state.verdict == "activity" and product.also_grant:
            vouched = Identity(user, claim.source, True)
            for linked in product.also_grant:
                self._grant_linked(linked, vouched, self._client(flow))

    def _followups(self, flow: http.HTTPFlow, state: FlowState) -> tuple[str, ...]:
        """What the answer needs from the async response hook (usually nothing)."""
        identity, grant, named, reason = state.identity, state.grant, state.named, state.login_reason
        status = flow.response.status_code
        todo: tuple[str, ...] = ()
        if status == 201 and pat.is_creation(
            flow.request.method, strip_context_path(flow.request.path, state.product.context_path), status
        ):
            todo += ("token",)
        if identity is not None:
            if not identity.confirmed:
                rejected = claim_verdict(identity.user, named, reason) == "rejected"
                if rejected and (identity.source != "applink" or state.claim_token is not None):
                    todo += ("claim_rejected",)
            elif named == "anonymous" and _added(grant) and "AUTHORISATION_FAILED" not in (reason or ""):
                todo += ("credential_rejected",)
        if grant is None and licence_refusal(status, reason) and state.verdict == "activity" and not state.answered:
            todo += ("replay",)
        return todo

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        state: FlowState | None = flow.metadata.get(META)
        if state is None:
            return None
        if state.claim_token is not None:
            self.claims.end(state.product.name, state.claim_token)
        if not state.followup or state.answered or flow.response is None:
            return None
        return self._follow_up(flow, state)

    def error(self, flow: http.HTTPFlow) -> None:
        state: FlowState | None = flow.metadata.get(META)
        if state is not None and state.claim_token is not None:
            self.claims.end(state.product.name, state.claim_token)

    async def _follow_up(self, flow: http.HTTPFlow, state: FlowState) -> None:
        todo = state.followup
        if "token" in todo:
            self._learn_token(state, flow.response)
        if "claim_rejected" in todo:
            await self._claim_rejected(flow, state)
        if "credential_rejected" in todo:
            await self._credential_rejected(flow, state)
        if "replay" in todo and (user := await self._refused_user(state)) is not None:
            await self._grant_and_replay(flow, state, user)

    def _learn_token(self, state: FlowState, response: http.Response) -> None:
        """A new Personal Access Token: its owner is the user who created it."""
        token = pat.raw_token(response.headers.get("content-type", ""), response.get_content(strict=False))
        identity, named = state.identity, state.named
        if named is not None and named != "anonymous" and valid_username(named):
            owner = named
        elif identity is not None and identity.confirmed:
            owner = identity.user
        else:
            owner = None
        if token is None or owner is None:
            return
        self.identities.learn(state.product.name, self.hasher.digest("bearer", token), owner)
        metrics.TOKENS_LEARNED.labels(state.product.name, "created").inc()
        log.info("pat_learned", product=state.product.name, user=owner)

    async def _claim_rejected(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """Upstream rejected a claimed username: count it for the cooldown, and undo a grant
        made ahead for it (also when the grant's outcome was not known: it may still land)."""
        identity, grant, product = state.identity, state.grant, state.product
        ahead = state.claim_token is not None and grant is not None
        unsure = ahead and grant.status in (TIMEOUT, ERROR)
        roll_back = ahead and (_added(grant) or unsure) and self.claims.may_roll_back(product.name, identity.user)
        await self.claims.rejected(
            product.name,
            identity.user,
            self._client(flow),
            source=identity.source,
            reason=f"{identity.source} credentials rejected upstream",
            roll_back=roll_back,
            request_id=grant.request_id if grant is not None else "",
            again_after=2 * self.settings.proxy.grant_timeout if roll_back and unsure else None,
        )

    async def _credential_rejected(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """A grant was made for a learned credential that upstream no longer honours (a
        revoked token, an ended session): undo it, and forget a token everywhere so that a
        stale token grants no more."""
        identity, product = state.identity, state.product
        if identity.source == "pat" and state.creds.bearer:
            await self.identities.forget_everywhere(product.name, state.creds.bearer)
        if self.claims.may_roll_back(product.name, identity.user):
            await self.claims.roll_back(
                product.name,
                identity.user,
                self._client(flow),
                f"{identity.source} not honoured upstream",
                state.grant.request_id,
            )

    async def _refused_user(self, state: FlowState) -> str | None:
        """The user an answer refused for lack of a licence, when known by now and not licensed."""
        product, identity, named = state.product, state.identity, state.named
        user = None
        if identity is not None and not identity.confirmed:
            if claim_verdict(identity.user, named, state.login_reason) == "authenticated":
                user = identity.user  # a right password: only the licence was missing
        elif named is not None and named != "anonymous" and valid_username(named):
            user = named  # e.g. the no-access page of a session the proxy had not seen
        else:
            for digest, _source in self._sources(state.creds):  # learned meanwhile, here or elsewhere
                if user := await self.identities.lookup(product.name, digest):
                    break
        if user is None or self.view.is_licensed(product.name, user) or self.view.is_excluded(product.name, user):
            return None
        return user

    async def _grant_and_replay(self, flow: http.HTTPFlow, state: FlowState, user: str) -> None:
        """Grant the refused user, then send the request again and answer with that."""
        product = state.product
        sources = self._sources(state.creds)
        source = state.identity.source if state.identity is not None else sources[0][1] if sources else "replay"
        state.identity = identity = Identity(user, source, True)
        if not await self._hold_for_grant(flow, state, identity) or state.grant.status != Event.GRANTED:
            metrics.REPLAYS.labels(product.name, "not_granted").inc()
            return  # the refusal stands (or the waiting page replaced it)
        self._record_activity(product, user)
        why_not = not_replayable(flow, self.settings.proxy.replay_max_body)
        if why_not is not None:
            metrics.REPLAYS.labels(product.name, why_not).inc()
            log.info("not_replayed", product=product.name, user=user, reason=why_not)
            return  # licensed now: the client's next attempt succeeds
        try:
            answer = await self.replayer.send(flow, _norm_upstream(product.upstream))
        except ReplayError as exc:
            metrics.REPLAYS.labels(product.name, exc.outcome).inc()
            log.warning("replay_failed", product=product.name, user=user, outcome=exc.outcome)
            return
        flow.response = answer
        metrics.REPLAYS.labels(product.name, "replayed").inc()
        log.info(
            "replayed", product=product.name, user=user, status=answer.status_code, request_id=state.grant.request_id
        )
        named, reason, cookies = _identity_headers(answer)
        state.named, state.login_reason = named, reason
        self._learn_from_answer(flow, state, named, reason, cookies)

    def _learn_cookie(self, product: ProductSettings, header: str, user: str) -> None:
        pair, _, attributes = header.partition(";")
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip().strip('"')
        if not sep or not value or "max-age=0" in attributes.lower().replace(" ", ""):
            return
        proxy = self.settings.proxy
        if name in proxy.session_cookies:
            self.identities.learn(product.name, self.hasher.digest("session", value), user)
        elif name in proxy.rememberme_cookies:
            self.identities.learn(product.name, self.hasher.digest("rememberme", value), user)

    # -- helpers --------------------------------------------------------------------
    def _client(self, flow: http.HTTPFlow) -> str:
        """The client's address (behind trusted reverse proxies: from X-Forwarded-For)."""
        peer = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        if not self.claims.trusted:
            return peer
        return client_address(peer, flow.request.headers.get("x-forwarded-for", ""), self.claims.trusted)

    def _product_for(self, flow: http.HTTPFlow) -> ProductSettings | None:
        mode = flow.client_conn.proxy_mode
        spec = mode.full_spec
        if spec not in self._by_mode:
            self._by_mode[spec] = self._by_upstream.get(_norm_upstream(mode.data))
        return self._by_mode[spec]

    def _defaults(self) -> dict[str, str]:
        return {p.name: p.default_verdict for p in self.settings.products}

    def _use_classifier(self, classifier: Classifier) -> None:
        names = CREDENTIAL_HEADERS | classifier.header_names
        self._wanted_headers = frozenset(name.encode("latin-1") for name in names)
        self._wanted_lengths = frozenset(map(len, self._wanted_headers))
        self.classifier = classifier

    def _rules_changed(self, version: int, ruleset: Any) -> None:
        self._use_classifier(Classifier(ruleset, defaults=self._defaults()))
        self.rules_version = version
        metrics.RULES_VERSION.set(version)
        log.info("rules_loaded", version=version)

    async def _on_redis_connected(self) -> None:
        """After every (re)connection: scripts into the cache, licensed users reloaded."""
        await redis_conn.preload_scripts(self.redis, (REQUEST_GRANT,))
        await self.view.reload(self.redis)
        self.grants.settle_licensed(self.view.is_licensed)

    async def _resync_loop(self) -> None:
        interval = self.settings.proxy.cache_resync_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.wait_for(self.view.reload(self.redis), 10)
            except Exception as exc:
                metrics.REDIS_ERRORS.labels(op="resync").inc()
                log.warning("resync_failed", error=type(exc).__name__)

    async def _ready(self) -> dict[str, Any]:
        checks: dict[str, Any] = {"events": bool(self._events and self._events.connected.is_set())}
        try:
            checks["redis"] = bool(await asyncio.wait_for(self.redis.ping(), 2))
        except Exception:
            checks["redis"] = False
        if self._upstreams is not None:
            checks.update(await self._upstreams.check())
        return checks


def _norm_upstream(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].lower()
    if ":" not in host.rsplit("]", 1)[-1]:
        host += ":443" if scheme == "https" else ":80"
    return f"{scheme}://{host}"


_ANSWER_HEADER_LENGTHS = frozenset(map(len, (b"x-ausername", b"set-cookie", b"x-seraph-loginreason")))


def _identity_headers(response: http.Response) -> tuple[str | None, str | None, list[str]]:
    """X-AUSERNAME, X-Seraph-LoginReason and Set-Cookie of an answer, in one pass over its
    header fields (mitmproxy's case-insensitive lookups would rescan them each); a name of
    another length is skipped before it is lower-cased."""
    named, reason, cookies = None, None, []
    for name, value in response.headers.fields:
        if len(name) not in _ANSWER_HEADER_LENGTHS:
            continue
        lower = name.lower()
        if lower == b"x-ausername":
            named = value.decode("latin-1")
        elif lower == b"set-cookie":
            cookies.append(value.decode("latin-1"))
        elif lower == b"x-seraph-loginreason":
            reason = value.decode("latin-1")
    return named, reason, cookies


def _vouched_digests(creds: Credentials, user: str) -> list[str]:
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


def _added(grant: GrantOutcome | None) -> bool:
    """The grant put the user into the licence group (rather than finding them there)."""
    return grant is not None and grant.status == Event.GRANTED and grant.detail != "already licensed"
