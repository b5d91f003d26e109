"""Who sent a request: from the secrets it carries, mapped to users the upstream vouched for.

One decision path, run in two steps. :meth:`Identifier.cached` decides from this proxy's
cache alone and answers :data:`NEEDS_LOOKUP` when a secret is not in it (or a product that
sends no ``X-AUSERNAME`` must be asked who a new session is); :meth:`Identifier.resolve`
fills the cache from Redis or the product, then takes the same decision again. So the
common request (a known session) is identified without a coroutine or a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Final

from mitmproxy import http

from proxy_addon.classify import ClassifiedRequest
from proxy_addon.credentials import ConnectionSecrets, Credentials, extract, valid_username
from proxy_addon.current_user import CurrentUser
from proxy_addon.identity_store import IdentityStore
from seatgate.keyed_hash import KeyedHasher
from seatgate.settings import ProductSettings, ProxySettings

# Answers in a row without X-AUSERNAME after which a product is taken not to send it, and a
# new session is resolved through the product's "current user" resource before it is gated.
AUSERNAME_MISSES = 3


class Source(StrEnum):
    """Where the proxy learned who sent a request (a metric label and a grant's source)."""

    SESSION = "session"
    REMEMBERME = "rememberme"
    PAT = "pat"
    BASIC = "basic"
    LOGIN = "login"
    SAML = "saml"
    APPLINK = "applink"
    REPLAY = "replay"  # a refused request whose user became known only from the answer
    STARTING = "starting"  # placeholder while the proxy starts (no user known yet)


# Claims that name the user a request is about, whatever cookies it still carries.
NAMING_CLAIMS = frozenset({Source.LOGIN, Source.SAML})


@dataclass(slots=True)
class Identity:
    user: str
    source: Source
    confirmed: bool  # the upstream has vouched for this mapping before


class NeedsLookup(Enum):
    """The cache cannot decide: Redis or the product must be asked (see Identifier.resolve).
    An enum of one member, so that ``is NEEDS_LOOKUP`` is both cheap and understood by the
    type checker."""

    NEEDED = "needs lookup"


NEEDS_LOOKUP: Final = NeedsLookup.NEEDED


def secret_sources(creds: Credentials) -> list[tuple[str, Source]]:
    """The request's secrets in the order that decides (Seraph checks a session first)."""
    pairs = (
        (creds.session, Source.SESSION),
        (creds.bearer, Source.PAT),
        (creds.basic, Source.BASIC),
        (creds.rememberme, Source.REMEMBERME),
    )
    return [(digest, source) for digest, source in pairs if digest is not None]


def named_user(named: str | None) -> str | None:
    """The user an answer's X-AUSERNAME names, if it names a real one."""
    if named is not None and named != "anonymous" and valid_username(named):
        return named
    return None


def claimed(creds: Credentials) -> Identity | None:
    """A username the request claims but upstream has not vouched for (yet)."""
    if creds.claimed_user:
        return Identity(creds.claimed_user, Source(creds.claim_source or Source.BASIC), False)
    if creds.applink_user:
        return Identity(creds.applink_user, Source.APPLINK, False)
    return None


class Identifier:
    def __init__(
        self,
        settings: ProxySettings,
        hasher: KeyedHasher,
        identities: IdentityStore,
        current_user: CurrentUser,
    ) -> None:
        self._settings = settings
        self._hasher = hasher
        self._saml_paths = frozenset(settings.saml_paths)
        self.identities = identities
        self._current_user = current_user
        self._connections: dict[str, ConnectionSecrets] = {}  # by client connection id
        self._ausername_misses: dict[str, int] = {}

    # -- the secrets of a request -----------------------------------------------------
    def credentials(self, flow: http.HTTPFlow, product: ProductSettings, seen: ClassifiedRequest) -> Credentials:
        request, headers = flow.request, seen.headers
        return extract(
            self._hasher,
            kind=product.kind,
            method=request.method,
            path=seen.path,
            query=seen.query,
            cookie_header=headers.get("cookie", ""),
            authorization=headers.get("authorization", ""),
            content_type=headers.get("content-type", ""),
            body=(request.raw_content or b"") if request.method == "POST" else b"",
            session_cookies=self._settings.session_cookies,
            rememberme_cookies=self._settings.rememberme_cookies,
            saml_paths=self._saml_paths,
            seen=self._connection_secrets(flow.client_conn.id),
        )

    def _connection_secrets(self, connection_id: str) -> ConnectionSecrets:
        secrets = self._connections.get(connection_id)
        if secrets is None:
            secrets = self._connections[connection_id] = ConnectionSecrets()
        return secrets

    def connection_closed(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    # -- the decision -------------------------------------------------------------------
    def cached(self, product: ProductSettings, creds: Credentials) -> Identity | NeedsLookup | None:
        """The identity from this proxy's cache alone, or NEEDS_LOOKUP."""
        return self._decide(product, creds, looked_up=False)

    async def resolve(self, product: ProductSettings, creds: Credentials, cookie: str) -> Identity | None:
        """Fill the cache for the secrets :meth:`cached` could not decide on, then decide."""
        for digest, _source in secret_sources(creds):
            if await self.identities.lookup(product.name, digest) is not None:
                break  # the first known secret decides; the later ones need no lookup
        else:
            if creds.session is not None and cookie and self.asks_current_user(product):
                user = await self._current_user.resolve(product, creds.session, cookie)
                if user is not None:
                    for cookie_digest in (creds.session, creds.rememberme):
                        if cookie_digest is not None:
                            self.identities.learn(product.name, cookie_digest, user)
        return self._decide(product, creds, looked_up=True)  # type: ignore[return-value]

    def _decide(
        self, product: ProductSettings, creds: Credentials, *, looked_up: bool
    ) -> Identity | NeedsLookup | None:
        if creds.claim_source in NAMING_CLAIMS:
            return Identity(creds.claimed_user or "", Source(creds.claim_source), False)
        for digest, source in secret_sources(creds):
            known, user = self.identities.cached(product.name, digest)
            if not known and not looked_up:
                return NEEDS_LOOKUP
            if user is not None:
                return Identity(user, source, True)
        if creds.session is not None and not looked_up and self.asks_current_user(product):
            return NEEDS_LOOKUP
        return claimed(creds)

    # -- products that do not name the user on their answers ------------------------------
    def asks_current_user(self, product: ProductSettings) -> bool:
        """Whether a new session is resolved through the product before it is gated: the
        product is configured, or seen, not to send X-AUSERNAME."""
        return not product.ausername_header or self._ausername_misses.get(product.name, 0) >= AUSERNAME_MISSES

    def saw_answer(self, product: ProductSettings, named: str | None) -> None:
        if named is None:
            self._ausername_misses[product.name] = self._ausername_misses.get(product.name, 0) + 1
        elif self._ausername_misses:
            self._ausername_misses.pop(product.name, None)
