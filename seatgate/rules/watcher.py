"""Keep a process's rules in step with Redis: pub/sub for speed, a version check for safety.

A save publishes the new version on ``rules_changed``; the watcher wakes on it at once.
Because pub/sub drops messages while a connection is down, the watcher also compares the
stored version every ``check_interval`` seconds. Either way a new version is read,
validated and handed to ``on_change`` whole; until then (and whenever Redis is
unreachable or the stored document is invalid) the process keeps its last good rules.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from seatgate import logs
from seatgate.redis_conn import RedisClient
from seatgate.rules.model import RuleError, RuleSet
from seatgate.rules.store import RulesStore
from seatgate.schema import GlobalKeys

OnChange = Callable[[int, RuleSet], Awaitable[None] | None]

# Every Redis call is bounded: a hung connection must not freeze the watcher.
CALL_DEADLINE = 2.0
RETRY_MAX = 5.0


class RulesWatcher:
    def __init__(self, redis: RedisClient, on_change: OnChange, check_interval: float = 1.0):
        self.redis = redis
        self.store = RulesStore(redis)
        self.on_change = on_change
        self.check_interval = check_interval
        self.version: int | None = None
        self.ruleset: RuleSet | None = None
        self.ready = asyncio.Event()  # set once the first version is held
        self._bad_version: int | None = None  # invalid stored version already reported
        self._log = logs.get("seatgate.rules.watcher")

    async def run(self) -> None:
        """Run until cancelled. Never raises anything but CancelledError."""
        failures = 0
        while True:
            pubsub = None
            try:
                pubsub = await self._subscribe()
                # Subscribe first, then check: a save in between is still seen.
                await self._check()
                failures = 0
                while True:
                    _raise_if_cancelling()
                    if pubsub is not None:
                        async with asyncio.timeout(self.check_interval + CALL_DEADLINE):
                            await pubsub.get_message(ignore_subscribe_messages=True, timeout=self.check_interval)
                    else:
                        await asyncio.sleep(self.check_interval)
                    _raise_if_cancelling()
                    await self._check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down, timeouts, anything: keep the last good rules
                _raise_if_cancelling()
                failures += 1
                delay = min(RETRY_MAX, self.check_interval * failures)
                self._log.warning(
                    "rules_watch_failed",
                    error=f"{type(exc).__name__}: {exc}",
                    held_version=self.version,
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
            finally:
                if pubsub is not None:
                    await _close(pubsub)

    async def _subscribe(self) -> Any:
        try:
            pubsub = self.redis.pubsub()
        except (AttributeError, NotImplementedError):
            return None  # a client without pub/sub: the periodic check alone still converges
        async with asyncio.timeout(CALL_DEADLINE):
            await pubsub.subscribe(GlobalKeys.rules_changed)
        return pubsub

    async def _check(self) -> None:
        async with asyncio.timeout(CALL_DEADLINE):
            stored = await self.store.current_version()
        if stored is not None and stored in (self.version, self._bad_version):
            return
        try:
            async with asyncio.timeout(CALL_DEADLINE):
                version, ruleset = await (self.store.load() if stored is None else self._read())
        except RuleError as exc:
            self._bad_version = stored
            self._log.error("rules_invalid", error=str(exc), held_version=self.version)
            return
        if version == self.version:
            return
        await self._deliver(version, ruleset)

    async def _read(self) -> tuple[int, RuleSet]:
        found = await self.store.read()
        if found is None:  # flushed between the two reads: seed again
            return await self.store.load()
        return found

    async def _deliver(self, version: int, ruleset: RuleSet) -> None:
        try:
            result = self.on_change(version, ruleset)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            # The callback refused (e.g. it could not compile): keep the old rules and do
            # not retry this version; the next saved version gets its own chance.
            self._bad_version = version
            self._log.error("rules_apply_failed", version=version, error=f"{type(exc).__name__}: {exc}")
            return
        self._log.info("rules_loaded", version=version, rules=len(ruleset.rules), previous=self.version)
        self.version, self.ruleset = version, ruleset
        self.ready.set()


def _raise_if_cancelling() -> None:
    # redis-py can swallow a CancelledError that lands while it reconnects, leaving the
    # task running with the cancellation still pending; honour it at every turn.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _close(pubsub: Any) -> None:
    try:
        async with asyncio.timeout(CALL_DEADLINE):
            await pubsub.aclose()
    except Exception:
        pass  # the connection is being dropped anyway
