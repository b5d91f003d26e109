"""licence_view.py: the local "licensed?" sets, kept current by events and reloads."""

from __future__ import annotations

import fakeredis

from proxy_addon.licence_view import LicenceView
from seatgate.protocol import Event, GrantEvent
from seatgate.schema import ProductKeys


def test_events_move_users_in_and_out() -> None:
    view = LicenceView(["jira"])
    view.apply("jira", GrantEvent(Event.GRANTED, "alice"))
    assert view.is_licensed("jira", "alice")
    view.apply("jira", GrantEvent(Event.REVOKING, "alice"))
    assert not view.is_licensed("jira", "alice")
    view.apply("jira", GrantEvent(Event.EXCLUDED, "svc"))
    assert view.is_excluded("jira", "svc") and not view.is_licensed("jira", "svc")


def test_other_products_change_nothing() -> None:
    view = LicenceView(["jira"])
    view.apply("confluence", GrantEvent(Event.GRANTED, "alice"))
    assert not view.is_licensed("jira", "alice")


async def test_reload_replaces_the_sets_with_redis(fake_redis: fakeredis.FakeAsyncRedis) -> None:
    view = LicenceView(["jira"])
    view.apply("jira", GrantEvent(Event.GRANTED, "stale"))
    await fake_redis.hset(ProductKeys("jira").licensed, mapping={"alice": "1", "bob": "1"})
    await view.reload(fake_redis)
    assert view.is_licensed("jira", "alice") and view.is_licensed("jira", "bob")
    assert not view.is_licensed("jira", "stale")
