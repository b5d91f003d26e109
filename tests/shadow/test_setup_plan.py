"""`seatgate setup` without an upstream: the target role and Confluence's manual steps."""

from __future__ import annotations

import argparse

import pytest

from grant_worker import setup
from grant_worker.directories.app_role import RoleGroups
from seatgate.settings import ConfigError, load_settings


def product(kind: str = "jira", **overrides):
    spec = {
        "name": kind,
        "kind": kind,
        "upstream": "http://127.0.0.1:1",
        "license_group": "floating",
        **overrides,
    }
    return load_settings(None, {"products": [spec]})


def test_target_keeps_only_the_licence_group_and_excluded_groups():
    settings = product(exclude_groups=["robots"])
    current = RoleGroups("jira-software", ("jira-software-users", "robots", "staff"), ("jira-software-users",))
    target = setup.target_role(settings.products[0], current)
    assert target == RoleGroups("jira-software", ("floating", "robots"), ())
    plan = setup.Plan(settings.products[0], current, target, create_group=False)
    assert plan.losing == ["jira-software-users", "staff"]
    text = "\n".join(plan.lines())
    assert "groups → floating, robots; default groups → none" in text
    assert "jira-software-users, staff lose application access only" in text


def test_nothing_to_do_once_set_up():
    settings = product()
    current = RoleGroups("jira-software", ("floating",), ())
    plan = setup.Plan(settings.products[0], current, setup.target_role(settings.products[0], current), False)
    assert plan.nothing_to_do and "nothing to do" in plan.lines()[-1]


async def test_confluence_gets_the_manual_steps_and_apply_changes_nothing():
    settings = product("confluence", exclude_users=["admin"])
    lines: list[str] = []
    args = argparse.Namespace(apply=False, revert=False, snapshot_file=None)
    assert await setup.run(settings, settings.products[0], args, lines.append) == 0
    text = "\n".join(lines)
    assert "'Can use'" in text and "seatgate doctor" in text and "add admin to 'floating'" in text
    lines.clear()
    args.apply = True
    assert await setup.run(settings, settings.products[0], args, lines.append) == 1
    assert "nothing changed" in lines[-1]


def test_mode_defaults_to_enforce_and_a_bad_mode_is_one_clear_error():
    assert product().products[0].mode == "enforce"
    with pytest.raises(ConfigError) as error:
        product(mode="observe")
    assert str(error.value).startswith("products.jira.mode: ") and "shadow" in str(error.value)
