"""identify.py: one decision, taken from the cache first and again after the lookups."""

from __future__ import annotations

import asyncio

import fakeredis
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_addon.credentials import Credentials
from proxy_addon.identify import NEEDS_LOOKUP, Identifier, Identity, Source, claimed, named_user
from proxy_addon.identity_store import IdentityStore
from proxy_addon.write_behind import WriteBehind
from seatgate.keyed_hash import KeyedHasher
from seatgate.schema import ProductKeys
from tests.proxy_addon.support import SECRET, product
from tests.proxy_addon.support import settings as make_settings

ORDER = [
    ("session", Source.SESSION),
    ("bearer", Source.PAT),
    ("basic", Source.BASIC),
    ("rememberme", Source.REMEMBERME),
]


class NoCurrentUser:
    """Jira sends X-AUSERNAME: the current-user resource must never be asked."""

    async def resolve(self, *args: object) -> str | None:
        raise AssertionError("current user asked")


def identifier(redis: fakeredis.FakeAsyncRedis) -> Identifier:
    s = make_settings()
    writer = WriteBehind(redis, 1.0, 1000, 3600)
    store = IdentityStore(redis, writer, 3600)
    return Identifier(s.proxy, KeyedHasher(SECRET.encode()), store, NoCurrentUser())  # type: ignore[arg-type]


def reference(creds: Credentials, known: dict[str, str]) -> Identity | None:
    """Naive: the first secret, in Seraph's order, whose owner Redis knows; else the claim."""
    for attr, source in ORDER:
        digest = getattr(creds, attr)
        if digest is not None and digest in known:
            return Identity(known[digest], source, True)
    return claimed(creds)


SECRETS = st.fixed_dictionaries(
    {attr: st.one_of(st.none(), st.sampled_from([f"{attr}:1", f"{attr}:2"])) for attr, _ in ORDER}
)


@settings(max_examples=60, deadline=None)
@given(
    SECRETS,
    st.dictionaries(st.sampled_from([f"{a}:{n}" for a, _ in ORDER for n in (1, 2)]), st.sampled_from(["alice", "bob"])),
    st.sampled_from([None, "carol"]),
)
def test_cache_step_then_lookup_equals_a_naive_reference(
    secrets: dict[str, str | None], known: dict[str, str], claimed_user: str | None
) -> None:
    creds = Credentials(**secrets, claimed_user=claimed_user, claim_source="basic" if claimed_user else None)

    async def run() -> tuple[object, Identity | None, object]:
        redis = fakeredis.FakeAsyncRedis(decode_responses=True)
        for digest, user in known.items():
            await redis.set(ProductKeys("jira").identity(digest), user)
        ident = identifier(redis)
        first = ident.cached(product(), creds)
        resolved = await ident.resolve(product(), creds, "")
        again = ident.cached(product(), creds)  # everything is in the local cache now
        await redis.aclose()
        return first, resolved, again

    first, resolved, again = asyncio.run(run())
    expected = reference(creds, known)
    if any(v is not None for v in secrets.values()):
        assert first is NEEDS_LOOKUP  # nothing is in this proxy's cache yet
    else:
        assert first == expected
    assert resolved == expected
    assert again == expected


def test_a_login_names_its_user_whatever_cookies_it_carries() -> None:
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    creds = Credentials(session="session:1", claimed_user="dave", claim_source="login")
    assert identifier(redis).cached(product(), creds) == Identity("dave", Source.LOGIN, False)


def test_named_user() -> None:
    assert named_user("alice") == "alice"
    assert named_user("anonymous") is None
    assert named_user(None) is None
    assert named_user("x" * 300) is None
