"""The shared rules in Redis: one current version, its history, and an audit trail.

Layout (key names from :class:`seatgate.schema.GlobalKeys`):

* ``rules`` HASH — ``version``, ``doc`` (the JSON rules document), ``saved_at``, ``saved_by``
* ``rules_history`` HASH — version → JSON document, for rollback (last HISTORY_KEEP kept)
* ``rules_audit`` STREAM — one entry per change: version, who, when, reason and, per
  changed rule, its before/after
* ``rules_changed`` channel — the new version, published in the same transaction

A save is one WATCH/MULTI transaction on ``rules``: two admins saving at once cannot
lose each other's change (the second one is told to retry), and no proxy can ever see a
version number without its document.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from redis.exceptions import WatchError

from seatgate.redis_conn import RedisClient
from seatgate.rules.catalogue import load_builtin_ruleset
from seatgate.rules.io import dumps
from seatgate.rules.model import Rule, RuleError, RuleSet, parse_ruleset
from seatgate.schema import AUDIT_MAXLEN, GlobalKeys

HISTORY_KEEP = 500
_SAVE_ATTEMPTS = 10


def _diff(before: RuleSet | None, after: RuleSet) -> list[dict[str, Any]]:
    """Per-rule before/after for the audit trail (whole rules, so a reader needs nothing else)."""
    old: dict[str, Rule] = {r.id: r for r in before.rules} if before else {}
    new: dict[str, Rule] = {r.id: r for r in after.rules}
    changes: list[dict[str, Any]] = []
    for rule_id in [*old, *(i for i in new if i not in old)]:
        a, b = old.get(rule_id), new.get(rule_id)
        if a != b:
            changes.append({"rule": rule_id, "before": a.to_dict() if a else None, "after": b.to_dict() if b else None})
    old_order = [i for i in old if i in new]
    new_order = [i for i in new if i in old]
    if old_order != new_order:
        changes.append({"order": {"before": list(old), "after": list(new)}})
    if before is not None and before.defaults != after.defaults:
        changes.append({"defaults": {"before": dict(before.defaults), "after": dict(after.defaults)}})
    return changes


def parse_stored(doc: str) -> RuleSet:
    """A stored JSON rules document. Rules saved before ``any_path`` existed and having
    neither path nor regex always meant "any path", so they are read as such."""
    try:
        data = json.loads(doc)
    except json.JSONDecodeError as exc:
        raise RuleError(f"invalid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data["rules"] = [
            {**rule, "any_path": True}
            if isinstance(rule, dict) and not {"path", "regex", "any_path"} & rule.keys()
            else rule
            for rule in data["rules"]
        ]
    return parse_ruleset(data)


def _parse_or_none(doc: str | None) -> RuleSet | None:
    # A broken stored document must not block the save that repairs it.
    try:
        return parse_stored(doc) if doc else None
    except RuleError:
        return None


class RulesStore:
    """Load, save, roll back and audit the rules shared by every proxy and worker.

    ``known_products``: the configured products, as names or as a name → kind mapping
    (``{p.name: p.kind for p in settings.products}``). Rules may name these or the kinds
    ``jira`` and ``confluence``; anything else is refused as an unknown product. The
    mapping also lets explain resolve a product name to its kind.
    """

    def __init__(self, redis: RedisClient, known_products: Mapping[str, str] | Iterable[str] = ()):
        self.redis = redis
        self.product_kinds: dict[str, str | None] = (
            dict(known_products) if isinstance(known_products, Mapping) else dict.fromkeys(known_products)
        )
        self.known_products = tuple(self.product_kinds)

    # -- reading -------------------------------------------------------------------
    async def current_version(self) -> int | None:
        value = await self.redis.hget(GlobalKeys.rules, "version")
        return int(value) if value is not None else None

    async def read(self) -> tuple[int, RuleSet] | None:
        """The stored version and rules, or None when nothing is stored yet.

        RuleError when the stored document is invalid (someone wrote it by hand)."""
        version, doc = await self.redis.hmget(GlobalKeys.rules, ["version", "doc"])
        if version is None or doc is None:
            return None
        try:
            return int(version), parse_stored(doc)
        except RuleError as exc:
            raise RuleError(f"stored rules version {version} are invalid: {exc}") from None

    async def load(self) -> tuple[int, RuleSet]:
        """The current version and rules; the built-in catalogue is stored as version 1 if none is."""
        found = await self.read()
        if found is not None:
            return found
        await self._commit(
            load_builtin_ruleset(), who="seatgate", reason="built-in catalogue", expected_version=None, seed=True
        )
        found = await self.read()
        assert found is not None
        return found

    async def version_doc(self, version: int) -> RuleSet:
        doc = await self.redis.hget(GlobalKeys.rules_history, str(version))
        if doc is None:
            raise RuleError(f"no rules version {version} in the history")
        return parse_stored(doc)

    async def versions(self) -> list[dict[str, Any]]:
        """Versions still in the history, newest first, with who saved them, when and why."""
        kept = sorted((int(v) for v in await self.redis.hkeys(GlobalKeys.rules_history)), reverse=True)
        by_version = {entry["version"]: entry for entry in await self.audit(count=len(kept) + 50)}
        return [
            {"version": v, **{k: by_version[v][k] for k in ("who", "when", "reason") if v in by_version}} for v in kept
        ]

    async def audit(self, count: int = 100) -> list[dict[str, Any]]:
        """The latest audit entries, newest first."""
        entries = await self.redis.xrevrange(GlobalKeys.rules_audit, count=count)
        result = []
        for entry_id, fields in entries:
            result.append(
                {
                    "id": entry_id,
                    "version": int(fields["version"]),
                    "previous_version": int(fields["previous_version"]) if fields.get("previous_version") else None,
                    "who": fields["who"],
                    "when": float(fields["when"]),
                    "reason": fields.get("reason", ""),
                    "changes": json.loads(fields.get("changes", "[]")),
                }
            )
        return result

    # -- writing -------------------------------------------------------------------
    async def save(self, ruleset: RuleSet, who: str, reason: str = "", expected_version: int | None = None) -> int:
        """Store ``ruleset`` as a new version and tell every proxy; returns the version.

        With ``expected_version`` the save is refused (RuleError) if someone else saved
        since that version was read; without it the save applies on top of whatever is
        current. Saving rules identical to the current ones changes nothing.
        """
        ruleset.check_products(self.known_products)
        return await self._commit(ruleset, who, reason, expected_version)

    async def edit(
        self, change: Callable[[RuleSet], RuleSet], who: str, reason: str, expected_version: int | None = None
    ) -> tuple[int, RuleSet]:
        """Apply ``change`` to the current rules and save the result as one new version.

        The edit is made on the version read here, and saved only if that is still the
        current version (or ``expected_version``, when the caller read the rules earlier,
        as an editor page does): a concurrent edit is never silently overwritten.
        """
        version, ruleset = await self.load()
        if expected_version is not None and expected_version != version:
            raise RuleError(
                f"the rules changed meanwhile (now version {version}, edit was made on version "
                f"{expected_version}); nothing saved, reload and try again"
            )
        changed = change(ruleset)
        return await self.save(changed, who, reason, expected_version=version), changed

    async def rollback(self, version: int, who: str, reason: str = "") -> int:
        """Make an earlier version current again (as a new version, so history stays linear)."""
        ruleset = await self.version_doc(version)
        return await self.save(ruleset, who, reason or f"rollback to version {version}")

    async def _commit(
        self, ruleset: RuleSet, who: str, reason: str, expected_version: int | None, seed: bool = False
    ) -> int:
        doc = dumps(ruleset, "json")
        for attempt in range(_SAVE_ATTEMPTS):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(GlobalKeys.rules)
                    current, current_doc = await pipe.hmget(GlobalKeys.rules, ["version", "doc"])
                    current_version = int(current) if current is not None else 0
                    if seed and current is not None:
                        return current_version  # another process seeded first
                    if expected_version is not None and expected_version != current_version:
                        raise RuleError(
                            f"the rules changed meanwhile (now version {current_version}, edit was made on "
                            f"version {expected_version}); nothing saved, run the command again"
                        )
                    if current_doc == doc:
                        return current_version
                    before = _parse_or_none(current_doc)
                    version = current_version + 1
                    now = time.time()
                    pipe.multi()
                    pipe.hset(
                        GlobalKeys.rules,
                        mapping={
                            "version": version,
                            "doc": doc,
                            "saved_at": f"{now:.3f}",
                            "saved_by": who,
                        },
                    )
                    pipe.hset(GlobalKeys.rules_history, str(version), doc)
                    if version > HISTORY_KEEP:
                        pipe.hdel(GlobalKeys.rules_history, str(version - HISTORY_KEEP))
                    pipe.xadd(
                        GlobalKeys.rules_audit,
                        {
                            "version": version,
                            "previous_version": current_version or "",
                            "who": who,
                            "when": f"{now:.3f}",
                            "reason": reason,
                            "changes": json.dumps(_diff(before, ruleset), separators=(",", ":")),
                        },
                        maxlen=AUDIT_MAXLEN,
                        approximate=True,
                    )
                    pipe.publish(GlobalKeys.rules_changed, str(version))
                    await pipe.execute()
                    return version
                except WatchError:
                    # Someone saved in between: re-read and retry, spread out a little.
                    await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RuleError("the rules kept changing while saving; nothing saved, try again")
