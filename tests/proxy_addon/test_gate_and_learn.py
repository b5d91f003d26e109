"""gate.py and learn.py with real stores on fakeredis: who is forwarded, held, recorded, learned."""

from __future__ import annotations

import asyncio
from typing import Any

import fakeredis
import pytest

from proxy_addon.claims import ClaimGuard
from proxy_addon.credentials import Credentials
from proxy_addon.gate import Gate, RequestCounter
from proxy_addon.grant_client import GrantOutcome, GrantStatus
from proxy_addon.headers import AnswerHeaders
from proxy_addon.identify import Identity, Source
from proxy_addon.identity_store import IdentityStore
from proxy_addon.learn import Learner, vouched_digests
from proxy_addon.licence_view import LicenceView
from proxy_addon.record import ActivityRecorder
from proxy_addon.write_behind import WriteBehind
from seatgate.keyed_hash import KeyedHasher
from seatgate.protocol import Event, GrantEvent
from tests.proxy_addon.support import SECRET, flow, settings, state


class Grants:
    """Stands in for GrantClient: answers every grant with a fixed outcome, and counts."""

    def __init__(self, status: GrantStatus) -> None:
        self.status = status
        self.asked: list[str] = []

    async def request(self, product: str, user: str, **kwargs: Any) -> GrantOutcome:
        self.asked.append(user)
        return GrantOutcome(self.status, request_id="r1")


class Parts:
    def __init__(self, redis: fakeredis.FakeAsyncRedis, status: GrantStatus, failure_mode: str = "open") -> None:
        s = settings(failure_mode=failure_mode)
        self.view = LicenceView(["jira"])
        self.writer = WriteBehind(redis, 1.0, 100, 3600)
        self.identities = IdentityStore(redis, self.writer, 3600)
        self.grants = Grants(status)
        self.claims = ClaimGuard(redis, s.proxy)
        record = ActivityRecorder(self.writer, self.view, self.grants, 1.0)  # type: ignore[arg-type]
        self.gate = Gate(s.proxy, self.view, self.grants, self.claims, record, RequestCounter())  # type: ignore[arg-type]
        self.learner = Learner(
            s.proxy, KeyedHasher(SECRET.encode()), self.identities, self.claims, self.view, record, self.gate.client
        )


async def test_a_licensed_users_activity_is_recorded_without_waiting(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    parts = Parts(fake_redis, GrantStatus.GRANTED)
    parts.view.apply("jira", GrantEvent(Event.GRANTED, "alice"))
    assert parts.gate.admit(flow(), state(), Identity("alice", Source.SESSION, True)) is None
    assert parts.writer.pending == 1 and parts.grants.asked == []


@pytest.mark.parametrize("verdict", ["background", "passive"])
async def test_background_and_passive_take_no_seat(fake_redis: fakeredis.FakeAsyncRedis, verdict: str) -> None:
    parts = Parts(fake_redis, GrantStatus.GRANTED)
    assert parts.gate.admit(flow(), state(verdict), Identity("bob", Source.SESSION, True)) is None
    assert parts.writer.pending == 0 and parts.grants.asked == []


async def test_an_unlicensed_users_activity_waits_for_the_grant(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    parts = Parts(fake_redis, GrantStatus.GRANTED)
    f, s = flow(), state()
    waiting = parts.gate.admit(f, s, Identity("bob", Source.SESSION, True))
    assert waiting is not None
    await asyncio.wait_for(waiting, 5)
    assert parts.grants.asked == ["bob"] and f.response is None and parts.writer.pending == 1


async def test_a_failed_grant_fails_closed_with_503(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    parts = Parts(fake_redis, GrantStatus.TIMEOUT, failure_mode="closed")
    f, s = flow(), state()
    await asyncio.wait_for(parts.gate.admit(f, s, Identity("bob", Source.SESSION, True)), 5)  # type: ignore[arg-type]
    assert f.response is not None and f.response.status_code == 503 and s.answered


async def test_an_answer_naming_the_user_vouches_for_the_session_and_new_cookies(
    fake_redis: fakeredis.FakeAsyncRedis,
) -> None:
    parts = Parts(fake_redis, GrantStatus.GRANTED)
    s = state(creds=Credentials(session="session:old"))
    answer = AnswerHeaders("alice", "OK", ["JSESSIONID=new; Path=/", "other=1", "seraph.rememberme.cookie=; Max-Age=0"])
    parts.learner.from_answer(flow(status=200), s, answer)
    hasher = KeyedHasher(SECRET.encode())
    assert parts.identities.cached("jira", "session:old") == (True, "alice")
    assert parts.identities.cached("jira", hasher.digest("session", "new")) == (True, "alice")
    assert parts.identities.cached("jira", hasher.digest("rememberme", "")) == (False, None)


async def test_a_wrong_password_learns_nothing(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    parts = Parts(fake_redis, GrantStatus.GRANTED)
    s = state(creds=Credentials(basic="basic:1", claimed_user="mallory", claim_source="basic"))
    s.identity = Identity("mallory", Source.BASIC, False)
    parts.learner.from_answer(flow(status=401), s, AnswerHeaders("anonymous", "AUTHENTICATED_FAILED"))
    assert parts.identities.cached("jira", "basic:1") == (False, None)


def test_a_session_decides_before_per_request_credentials() -> None:
    both = Credentials(session="session:1", bearer="bearer:1", basic="basic:1", claimed_user="alice")
    assert vouched_digests(both, "alice") == ["session:1"]
    alone = Credentials(bearer="bearer:1", basic="basic:1", claimed_user="alice")
    assert vouched_digests(alone, "alice") == ["bearer:1", "basic:1"]
    assert vouched_digests(alone, "bob") == ["bearer:1"]


def _streamed(f: Any) -> Any:
    f.request.stream = True
    f.request.data.content = None  # what mitmproxy leaves while the body streams through
    return f


async def test_a_streamed_basic_claim_is_granted_ahead_and_a_kept_one_is_not(
    fake_redis: fakeredis.FakeAsyncRedis,
) -> None:
    parts = Parts(fake_redis, GrantStatus.GRANTED)
    claim = Identity("bob", Source.BASIC, False)
    kept = flow("POST", "/rest/api/2/issue/A-1/attachments", body=b"small")
    assert parts.gate.admit(kept, state(), claim) is None  # upstream checks the password, then replay
    assert parts.grants.asked == []
    f, s = _streamed(flow("POST", "/rest/api/2/issue/A-1/attachments")), state()
    admitting = Gate.streamed(f, parts.gate.admit(f, s, claim))
    assert admitting is not None
    await asyncio.wait_for(admitting, 5)
    assert parts.grants.asked == ["bob"] and s.claim_token is not None  # within the claim limits
    assert f.response is None and f.request.stream  # forwarded, still streaming


async def test_a_streamed_request_the_gate_answers_is_no_longer_streamed(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    # mitmproxy cannot answer a request it streams upstream: the body is read in instead.
    parts = Parts(fake_redis, GrantStatus.TIMEOUT, failure_mode="closed")
    f, s = _streamed(flow("POST", "/rest/api/2/issue/A-1/attachments")), state()
    admitting = Gate.streamed(f, parts.gate.admit(f, s, Identity("bob", Source.SESSION, True)))
    await asyncio.wait_for(admitting, 5)  # type: ignore[arg-type]
    assert f.response is not None and f.response.status_code == 503 and not f.request.stream
    licensed = _streamed(flow("POST", "/rest/api/2/issue/A-1/attachments"))
    parts.view.apply("jira", GrantEvent(Event.GRANTED, "alice"))
    admitted = parts.gate.admit(licensed, state(), Identity("alice", Source.SESSION, True))
    assert Gate.streamed(licensed, admitted) is None and licensed.request.stream
