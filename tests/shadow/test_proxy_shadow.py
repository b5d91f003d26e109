"""The proxy in shadow mode (gate, learn, follow-ups on fakeredis): it records activity as in
enforce mode, counts a right password refused for the licence as a confirmed user, and never
holds a request or asks for a grant."""

from __future__ import annotations

import fakeredis
import pytest

from proxy_addon.claims import ClaimGuard
from proxy_addon.credentials import Credentials
from proxy_addon.flow_state import FlowState
from proxy_addon.followups import FollowUp, needed
from proxy_addon.gate import Gate, RequestCounter
from proxy_addon.grant_client import GrantStatus
from proxy_addon.headers import AnswerHeaders
from proxy_addon.identify import Identity, Source
from proxy_addon.identity_store import IdentityStore
from proxy_addon.learn import Learner
from proxy_addon.licence_view import LicenceView
from proxy_addon.record import ActivityRecorder
from proxy_addon.write_behind import WriteBehind
from seatgate.keyed_hash import KeyedHasher
from seatgate.protocol import Event, GrantEvent
from seatgate.schema import ProductKeys
from tests.proxy_addon.support import SECRET, flow, settings
from tests.proxy_addon.test_gate_and_learn import Grants

SHADOW = settings().products[0].model_copy(update={"mode": "shadow"})


class ShadowParts:
    def __init__(self, redis: fakeredis.FakeAsyncRedis) -> None:
        s = settings()
        self.view = LicenceView(["jira"], shadow={"jira"})
        self.writer = WriteBehind(redis, 1.0, 100, 3600)
        self.identities = IdentityStore(redis, self.writer, 3600)
        self.grants = Grants(GrantStatus.GRANTED)
        self.claims = ClaimGuard(redis, s.proxy)
        record = ActivityRecorder(self.writer, self.view, self.grants, 1.0)  # type: ignore[arg-type]
        self.gate = Gate(s.proxy, self.view, self.grants, self.claims, record, RequestCounter())  # type: ignore[arg-type]
        self.learner = Learner(
            s.proxy, KeyedHasher(SECRET.encode()), self.identities, self.claims, self.view, record, self.gate.client
        )


def shadow_state(verdict: str = "activity", creds: Credentials | None = None) -> FlowState:
    return FlowState(SHADOW, verdict, creds=creds or Credentials())


async def test_an_unlicensed_users_activity_is_recorded_and_never_held(fake_redis) -> None:
    parts = ShadowParts(fake_redis)
    f = flow()
    assert parts.gate.admit(f, shadow_state(), Identity("dave", Source.SESSION, True)) is None
    assert parts.writer.pending == 1 and parts.grants.asked == [] and f.response is None


@pytest.mark.parametrize(("holding", "recorded"), [(False, 0), (True, 1)])
async def test_passive_keeps_only_a_would_be_seat(fake_redis, holding: bool, recorded: int) -> None:
    parts = ShadowParts(fake_redis)
    if holding:  # the worker's would-be grant, as the proxies hear it
        parts.view.apply("jira", GrantEvent(Event.GRANTED, "alice"))
    assert parts.gate.admit(flow(), shadow_state("passive"), Identity("alice", Source.SESSION, True)) is None
    assert parts.writer.pending == recorded and parts.grants.asked == []


async def test_a_login_claim_is_not_granted_ahead(fake_redis) -> None:
    parts = ShadowParts(fake_redis)
    creds = Credentials(claimed_user="erin", claim_source="login")
    assert parts.gate.admit(flow("POST"), shadow_state(creds=creds), Identity("erin", Source.LOGIN, False)) is None
    assert parts.writer.pending == 0 and parts.grants.asked == []


@pytest.mark.parametrize(("reason", "counted"), [("AUTHORISATION_FAILED", 1), ("AUTHENTICATED_FAILED", 0)])
async def test_a_right_password_without_a_licence_counts(fake_redis, reason: str, counted: int) -> None:
    parts = ShadowParts(fake_redis)
    s = shadow_state(creds=Credentials(basic="basic:1", claimed_user="dave", claim_source="basic"))
    assert parts.gate.admit(flow(), s, Identity("dave", Source.BASIC, False)) is None
    refused = flow(status=401)
    parts.learner.from_answer(refused, s, AnswerHeaders("anonymous", reason))
    # The product's refusal is the answer: no grant and no replay.
    assert FollowUp.REPLAY not in needed(refused, s) and parts.grants.asked == []
    await parts.writer.flush()
    assert (await fake_redis.zscore(ProductKeys("jira").activity, "dave") is not None) == bool(counted)


async def test_an_answer_naming_a_user_counts_their_activity(fake_redis) -> None:
    parts = ShadowParts(fake_redis)
    s = shadow_state(creds=Credentials(basic="basic:2", claimed_user="alice", claim_source="basic"))
    s.identity = Identity("alice", Source.BASIC, False)
    parts.learner.from_answer(flow(status=200), s, AnswerHeaders("alice", "OK"))
    await parts.writer.flush()
    assert await fake_redis.zscore(ProductKeys("jira").activity, "alice") is not None
    assert parts.grants.asked == []
