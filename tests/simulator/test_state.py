"""Pure-logic rules of the simulated product (no HTTP)."""

from __future__ import annotations

import time

import pytest

from seatgate_simulator.config import SimConfig
from seatgate_simulator.state import (
    AlreadyMember,
    Faults,
    NotMember,
    SimState,
    UnknownGroup,
    UnknownUser,
)


def test_initial_directory() -> None:
    s = SimState(SimConfig(product="jira", users=3))
    assert set(s.users) == {"admin", "alice", "bob", "carol", "dave", "erin", "user0001", "user0002", "user0003"}
    assert s.members("jira-software-users") == ["admin"]
    assert s.members("jira-administrators") == ["admin"]
    assert s.members("service-accounts") == []
    assert "admin" not in s.members("staff") and len(s.members("staff")) == 8
    assert s.users["user0001"].key.startswith("JIRAUSER")  # key != name for newer users
    assert s.check_password("alice", "alice") and not s.check_password("alice", "wrong")
    assert not s.check_password("nobody", "nobody")


def test_confluence_defaults_and_custom_group() -> None:
    s = SimState(SimConfig(product="confluence"))
    assert s.license_group == "confluence-users" and s.is_admin("admin")
    assert s.members("confluence-administrators") == ["admin"]
    custom = SimState(SimConfig(product="jira", license_group="floating"))
    assert custom.members("floating") == ["admin"] and "jira-software-users" not in custom.groups


def test_membership_errors_and_high_water_mark() -> None:
    s = SimState(SimConfig(seats=2))
    s.add_member("alice", "jira-software-users")
    with pytest.raises(AlreadyMember):
        s.add_member("alice", "jira-software-users")
    with pytest.raises(UnknownUser):
        s.add_member("nobody", "jira-software-users")
    with pytest.raises(UnknownGroup):
        s.add_member("alice", "no-such-group")
    s.add_member("bob", "jira-software-users")  # over the seats: recorded, not refused
    assert s.seats_used == 3 and s.seats_remaining == -1 and s.over_licence
    s.remove_member("bob", "jira-software-users")
    s.remove_member("alice", "jira-software-users")
    with pytest.raises(NotMember):
        s.remove_member("alice", "jira-software-users")
    assert s.max_members == 3
    s.ensure_member("alice", "jira-software-users", False)  # idempotent form: no error
    s.reset()
    assert s.max_members == 1 and s.members("jira-software-users") == ["admin"]


def test_sessions_remember_me_and_tokens() -> None:
    s = SimState(SimConfig())
    session = s.new_session("alice")
    assert s.sessions[session.sid].user == "alice" and len(session.short_id) <= 7
    value = s.new_remember_me("alice")
    assert s.remember_me[value] == "alice"
    s.forget_remember_me(value)
    assert value not in s.remember_me
    token, raw = s.create_token("alice", "ci", 30)
    assert len(raw) == 44 and s.token_user(raw) == "alice"
    token.expires = time.time() - 1
    assert s.token_user(raw) is None
    assert s.revoke_token("alice", token.token_id) and not s.user_tokens("alice")


def test_faults_update_is_all_or_nothing() -> None:
    faults = Faults()
    faults.update({"fail_rate": 0.5, "latency_ms": 10})
    assert faults.fail_rate == 0.5 and faults.latency_ms == 10
    for bad in ({"fail_rate": 2}, {"latency_ms": -1}, {"nope": 1}, {"timeout_s": "x"}, {"fail_rate": True}):
        with pytest.raises(ValueError):
            faults.update({"timeout_rate": 0.1, **bad})
        assert faults.timeout_rate == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"product": "bamboo"},
        {"seats": -1},
        {"fail_rate": 1.5},
        {"poll_interval": 0},
        {"license_group": " "},
        {"confluence_api": "soap"},
        {"users": -1},
    ],
)
def test_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SimConfig(**kwargs)


def test_request_log_is_bounded() -> None:
    s = SimState(SimConfig(request_log_size=3))
    for i in range(5):
        s.record_request({"path": f"/{i}"})
    assert [r["path"] for r in s.requests] == ["/2", "/3", "/4"] and s.request_seq == 5
