"""``seatgate setup``: the cut-over of application access to the floating licence group.

Without ``--apply`` it prints the plan and changes nothing. For Jira the plan is:

1. create the licence group if it is missing;
2. put the users in ``exclude_users`` (the admin account, service accounts) in it, so they
   keep application access that nobody will grant them on demand;
3. make the application role (``app_role``) granted by the licence group — and by the
   groups in ``exclude_groups`` that grant it today — and by nothing else: the other groups
   lose application access but keep their members and their project permissions. Its
   default groups are emptied (a new user gets a seat on first use).

``--apply`` first stores a snapshot of the role's groups (in Redis, never overwritten while
it exists, and in a file) and then makes the changes; ``--revert`` puts the snapshot back
exactly (the group created in step 1 stays, unused). Run it right before switching the
product to ``mode = "enforce"``: from then on only the licence group grants the application.

Confluence has no REST endpoint for the "Can use" global permission: the plan lists the
manual steps and ``seatgate doctor`` checks the result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grant_worker.directories import CircuitOpen, DirectoryError, make_directory
from grant_worker.directories.app_role import ApplicationAccess, RoleGroups
from seatgate.redis_conn import RedisClient
from seatgate.schema import ProductKeys
from seatgate.settings import ConfigError, ProductSettings, Settings

REDIS_DEADLINE = 5.0


@dataclass
class Plan:
    product: ProductSettings
    current: RoleGroups
    target: RoleGroups
    create_group: bool
    add_members: list[str] = field(default_factory=list)

    @property
    def losing(self) -> list[str]:
        return [g for g in self.current.groups if g not in self.target.groups]

    @property
    def nothing_to_do(self) -> bool:
        return not self.create_group and not self.add_members and self.current.same_groups(self.target)

    def lines(self) -> list[str]:
        p, group, role = self.product, self.product.license_group, self.current.key
        out = [
            f"{p.name}: application role {role!r} is granted today by: {', '.join(self.current.groups) or 'no group'}"
            f" (default groups: {', '.join(self.current.default_groups) or 'none'})"
        ]
        if self.nothing_to_do:
            return [*out, f"  nothing to do: only {group!r} (and exclude_groups) grant {role}"]
        step = 0
        if self.create_group:
            step += 1
            out.append(f"  {step}. create the licence group {group!r}")
        if self.add_members:
            step += 1
            out.append(f"  {step}. add {', '.join(self.add_members)} (exclude_users) to {group!r} so they keep access")
        step += 1
        out.append(
            f"  {step}. application role {role!r}: groups → {', '.join(self.target.groups)}; "
            f"default groups → {', '.join(self.target.default_groups) or 'none'}"
        )
        if self.losing:
            out.append(
                f"     {', '.join(self.losing)} lose application access only: members and project "
                "permissions stay; their users get a seat from seatgate on first use"
            )
        return out


def target_role(product: ProductSettings, current: RoleGroups) -> RoleGroups:
    kept = [g for g in current.groups if g in product.exclude_groups and g != product.license_group]
    return RoleGroups(current.key, (product.license_group, *kept), ())


async def make_plan(access: ApplicationAccess, directory: Any, product: ProductSettings) -> Plan:
    current = await access.role(product.app_role)
    exists = await access.group_exists(product.license_group)
    members = set(await directory.members()) if exists else set()
    missing = [u for u in product.exclude_users if u not in members and await directory.user_exists(u)]
    return Plan(product, current, target_role(product, current), not exists, missing)


def confluence_steps(product: ProductSettings) -> list[str]:
    group = product.license_group
    return [
        f"{product.name}: Confluence has no REST endpoint for the 'Can use' permission; do it by hand:",
        f"  1. User management → Groups: create {group!r} if it is missing",
        f"  2. add {', '.join(product.exclude_users) or 'the admin and service accounts'} to {group!r}",
        f"  3. General configuration → Global permissions: tick 'Can use' for {group!r} and untick it for "
        "every other group (except exclude_groups); their space permissions stay",
        "  4. note what you changed (to undo it), then run `seatgate doctor`: it checks that only "
        f"{group!r} grants Confluence",
    ]


# -- snapshot -----------------------------------------------------------------------------
def snapshot_doc(product: ProductSettings, role: RoleGroups) -> dict[str, Any]:
    return {"product": product.name, "taken_at": time.time(), "role": role.as_json()}


def parse_snapshot(text: str, product: ProductSettings) -> RoleGroups:
    try:
        doc = json.loads(text)
        if doc.get("product") != product.name:
            raise ValueError(f"it is the snapshot of product {doc.get('product')!r}")
        role = RoleGroups.from_json(doc.get("role"))
    except (ValueError, AttributeError) as exc:
        raise ConfigError("--snapshot-file", f"not a seatgate setup snapshot: {exc}") from None
    if role.key != product.app_role:
        raise ConfigError("--snapshot-file", f"the snapshot is of role {role.key!r}, app_role is {product.app_role!r}")
    return role


class Cutover:
    def __init__(self, settings: Settings, product: ProductSettings, redis: RedisClient, out: Any = print):
        self.settings = settings
        self.product = product
        self.keys = ProductKeys(product.name)
        self.redis = redis
        self.out = out

    async def _stored(self) -> str | None:
        stored = await asyncio.wait_for(self.redis.get(self.keys.setup_snapshot), REDIS_DEADLINE)
        return stored.decode() if isinstance(stored, bytes) else stored

    async def apply(self, access: ApplicationAccess, directory: Any, plan: Plan, snapshot_file: Path) -> None:
        if plan.nothing_to_do:
            self.out("nothing changed")
            return
        # Stored before any change. An earlier snapshot is the state before the first
        # apply, which is what a revert must bring back: it is kept.
        if await self._stored() is not None:
            self.out(f"a snapshot from an earlier --apply is kept in Redis ({self.keys.setup_snapshot})")
        else:
            doc = json.dumps(snapshot_doc(self.product, plan.current), indent=2)
            try:
                await asyncio.to_thread(snapshot_file.write_text, doc + "\n", encoding="utf-8")
            except OSError as exc:
                raise ConfigError("--snapshot-file", f"{snapshot_file}: cannot write ({exc.strerror})") from None
            await asyncio.wait_for(self.redis.set(self.keys.setup_snapshot, doc, nx=True), REDIS_DEADLINE)
            self.out(f"snapshot of {plan.current.key!r} stored in Redis and in {snapshot_file}:\n{doc}")
        if plan.create_group:
            await access.create_group(self.product.license_group)
            self.out(f"created group {self.product.license_group!r}")
        for user in plan.add_members:
            await directory.add(user)
            self.out(f"added {user} to {self.product.license_group!r}")
        after = await access.put_role(plan.target, plan.current.etag)
        self.out(f"application role {after.key!r} is now granted by: {', '.join(after.groups)}")

    async def revert(self, access: ApplicationAccess, snapshot_file: Path | None) -> RoleGroups:
        if snapshot_file is not None:
            try:
                text = await asyncio.to_thread(snapshot_file.read_text, encoding="utf-8")
            except OSError as exc:
                raise ConfigError("--snapshot-file", f"{snapshot_file}: cannot read ({exc.strerror})") from None
        else:
            stored = await self._stored()
            if stored is None:
                raise ConfigError(
                    "--revert", "no snapshot stored in Redis: give the file --apply wrote with --snapshot-file"
                )
            text = stored
        wanted = parse_snapshot(text, self.product)
        current = await access.role(wanted.key)
        if (current.groups, current.default_groups) != (wanted.groups, wanted.default_groups):
            restored = await access.put_role(wanted, current.etag)
            self.out(f"application role {restored.key!r} is granted again by: {', '.join(restored.groups)}")
        else:
            self.out(f"application role {wanted.key!r} already matches the snapshot")
        await asyncio.wait_for(self.redis.delete(self.keys.setup_snapshot), REDIS_DEADLINE)
        return wanted


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (TOML); SEATGATE_* environment variables also apply")
    parser.add_argument("--product", required=True, help="the [[products]] name to set up")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--apply", action="store_true", help="make the changes (after storing a snapshot)")
    action.add_argument("--revert", action="store_true", help="restore the application role from the snapshot")
    parser.add_argument(
        "--snapshot-file",
        type=Path,
        help="--apply: where to write the snapshot (default: ./seatgate-setup-PRODUCT-TIME.json); "
        "--revert: restore from this file instead of the copy in Redis",
    )


async def run(settings: Settings, product: ProductSettings, args: argparse.Namespace, out: Any = print) -> int:
    from seatgate import redis_conn

    if product.kind == "confluence":
        for line in confluence_steps(product):
            out(line)
        if args.apply or args.revert:
            out("nothing changed: Confluence's 'Can use' permission is changed by hand (steps above)")
            return 1
        return 0
    # One attempt per call: an operator runs this and reads the outcome.
    worker = settings.worker.model_copy(update={"directory_retries": 0})
    directory = await make_directory(product, worker)
    redis = redis_conn.connect(settings.redis_url) if args.apply or args.revert else None
    try:
        access = ApplicationAccess(directory)
        if args.revert:
            assert redis is not None
            await Cutover(settings, product, redis, out).revert(access, args.snapshot_file)
            return 0
        plan = await make_plan(access, directory, product)
        for line in plan.lines():
            out(line)
        if not args.apply:
            out("plan only: nothing changed (run again with --apply to carry it out)")
            return 0
        assert redis is not None
        default = Path(f"seatgate-setup-{product.name}-{time.strftime('%Y%m%dT%H%M%S')}.json")
        await Cutover(settings, product, redis, out).apply(access, directory, plan, args.snapshot_file or default)
        return 0
    finally:
        await directory.close()
        if redis is not None:
            await redis.aclose()


def main(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from seatgate import logs
    from seatgate.settings import load_settings

    settings = load_settings(args.config)
    logs.configure("error", "console")
    try:
        product = settings.product(args.product)
    except KeyError:
        raise ConfigError("--product", f"no product named {args.product!r} in the settings") from None
    try:
        return asyncio.run(run(settings, product, args))
    except (DirectoryError, CircuitOpen) as exc:
        raise ConfigError(
            f"products.{product.name}", f"stopped, nothing more changed: {exc} (--revert restores a changed role)"
        ) from None
    except (RedisError, OSError, TimeoutError) as exc:
        raise ConfigError("redis_url", f"Redis is not reachable ({type(exc).__name__})") from None
