"""followups.py: which answers need the async response hook, and for what."""

from __future__ import annotations

from proxy_addon.credentials import Credentials
from proxy_addon.followups import FollowUp, added, needed
from proxy_addon.grant_client import GrantOutcome, GrantStatus
from proxy_addon.identify import Identity, Source
from tests.proxy_addon.support import flow, state


def test_a_plain_answer_needs_nothing() -> None:
    s = state()
    s.identity = Identity("alice", Source.SESSION, True)
    s.named = "alice"
    assert needed(flow(status=200), s) == FollowUp.NONE
    assert not needed(flow(status=200), s)


def test_token_creation_is_followed_up() -> None:
    s = state()
    s.identity = Identity("alice", Source.SESSION, True)
    assert needed(flow("POST", "/rest/pat/latest/tokens", status=201), s) == FollowUp.TOKEN


def test_licence_refusal_asks_for_a_replay_once() -> None:
    s = state(creds=Credentials(basic="basic:1", claimed_user="bob", claim_source="basic"))
    s.identity = Identity("bob", Source.BASIC, False)
    s.named, s.login_reason = "anonymous", "AUTHORISATION_FAILED"
    refused = flow(status=401)
    assert FollowUp.REPLAY in needed(refused, s)
    s.grant = GrantOutcome(GrantStatus.GRANTED, request_id="r")  # the replay path has its grant
    assert FollowUp.REPLAY not in needed(refused, s)


def test_rejected_claim_and_unhonoured_credential() -> None:
    s = state(creds=Credentials(basic="basic:1", claimed_user="bob", claim_source="basic"))
    s.identity = Identity("bob", Source.BASIC, False)
    s.named, s.login_reason = "anonymous", "AUTHENTICATED_FAILED"
    # Any 401 may be a licence refusal; the replay step finds no refused user for a rejected claim.
    assert needed(flow(status=401), s) == FollowUp.CLAIM_REJECTED | FollowUp.REPLAY
    assert needed(flow(status=200), s) == FollowUp.CLAIM_REJECTED

    s = state(creds=Credentials(bearer="bearer:1"))
    s.identity = Identity("carol", Source.PAT, True)
    s.grant = GrantOutcome(GrantStatus.GRANTED, request_id="r")
    s.named = "anonymous"
    assert needed(flow(status=401), s) == FollowUp.CREDENTIAL_REJECTED  # it waited for a grant: no replay
    s.grant = GrantOutcome(GrantStatus.GRANTED, "already licensed", request_id="r")
    assert needed(flow(status=401), s) == FollowUp.NONE  # nothing of ours to undo


def test_added() -> None:
    assert added(GrantOutcome(GrantStatus.GRANTED))
    assert not added(GrantOutcome(GrantStatus.GRANTED, "already licensed"))
    assert not added(GrantOutcome(GrantStatus.TIMEOUT))
    assert not added(None)
