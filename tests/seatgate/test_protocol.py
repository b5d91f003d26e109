"""seatgate/protocol.py: the proxy↔worker messages round-trip, and malformed ones are refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatgate.protocol import Action, Event, GrantEvent, GrantRequest, ProtocolError

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
USERS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
# requested_at travels with millisecond precision.
TIMES = st.integers(min_value=0, max_value=4_000_000_000_000).map(lambda ms: ms / 1000)

GRANTS = st.builds(GrantRequest, USERS, TEXT, TIMES, TEXT, st.just(Action.GRANT), TEXT, st.booleans(), st.just(""))
ROLLBACKS = st.builds(
    GrantRequest, USERS, TEXT, TIMES, TEXT, st.just(Action.ROLLBACK), st.just(""), st.just(False), TEXT
)
EVENTS = st.builds(
    GrantEvent,
    st.sampled_from(list(Event)),
    USERS,
    TEXT,
    TEXT,
    st.one_of(st.none(), st.integers(min_value=1, max_value=10**6)),
    st.one_of(st.none(), st.floats(min_value=0, max_value=3600, allow_nan=False)),
)


@given(st.one_of(GRANTS, ROLLBACKS))
def test_grant_requests_round_trip(request: GrantRequest) -> None:
    fields = request.to_fields()
    assert all(isinstance(v, str) for v in fields.values())  # what a Redis stream carries
    assert GrantRequest.from_fields(fields) == request


@given(EVENTS)
def test_events_round_trip(event: GrantEvent) -> None:
    assert GrantEvent.from_json(event.to_json()) == event
    assert GrantEvent.from_json(event.to_json().encode()) == event


def test_the_wire_format_stays_what_proxies_and_workers_of_the_previous_release_send() -> None:
    grant = GrantRequest("alice", "r1", 12.5, "10.0.0.1", source="session", confirmed=True)
    assert grant.to_fields() == {
        "user": "alice",
        "request_id": "r1",
        "requested_at": "12.500",
        "client": "10.0.0.1",
        "source": "session",
        "confirmed": "1",
    }
    rollback = GrantRequest("bob", "r2", 1.0, "c", action=Action.ROLLBACK, reason="wrong password")
    assert rollback.to_fields()["action"] == "rollback" and rollback.to_fields()["reason"] == "wrong password"
    queued = GrantEvent(Event.DENIED, "carol", "no free seat", "r3", position=2, retry_after=10)
    assert json.loads(queued.to_json()) == {
        "type": "denied",
        "user": "carol",
        "detail": "no free seat",
        "request_id": "r3",
        "position": 2,
        "retry_after": 10,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "without a user"),
        ({"user": ""}, "without a user"),
        ({"user": "a", "action": "delete"}, "unknown grant action"),
        ({"user": "a", "confirmed": "yes"}, "confirmed must be 0 or 1"),
        ({"user": "a", "requested_at": "soon"}, "requested_at must be a number"),
        ({"user": "a", "requested_at": "nan"}, "requested_at must be finite"),
    ],
)
def test_malformed_grant_requests_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        GrantRequest.from_fields(fields)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"type": "granted"}', "without a user"),
        ('{"type": "granted", "user": 5}', "without a user"),
        ('{"type": "promoted", "user": "a"}', "unknown event type"),
        ('{"type": "denied", "user": "a", "position": "first"}', "position must be an integer"),
        ('{"type": "denied", "user": "a", "position": true}', "position must be an integer"),
        ('{"type": "denied", "user": "a", "retry_after": "later"}', "retry_after must be a number"),
    ],
)
def test_malformed_events_are_refused(data: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        GrantEvent.from_json(data)
