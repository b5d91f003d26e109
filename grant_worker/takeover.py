"""Taking over the grants of a dead worker, at once and never those of a live one.

Every ``takeover_after / 10`` seconds each worker lists the consumers of a product's grant
stream that hold pending entries (XPENDING summary). For one that is not itself, the
TAKE_OVER script checks its heartbeat key and, only when it is gone, claims its entries
(XCLAIM) in the same atomic step, so two standbys cannot both claim them and a worker whose
key exists — a live one in the middle of a slow directory call — keeps them.
"""

from __future__ import annotations

from typing import Any

from seatgate.schema import GROUP, TAKE_OVER, ProductKeys

# Entries claimed from one dead consumer per script call (the rest at the next poll).
BATCH = 1000


class TakeOver:
    def __init__(self, redis: Any, worker_id: str):
        self._redis = redis
        self._worker_id = worker_id
        self._claim = TAKE_OVER.bind(redis)

    async def dead_consumers_entries(self, keys: ProductKeys) -> list[tuple[str, dict[str, str], str]]:
        """Claim the entries of dead consumers: ``(entry id, fields, dead consumer)``."""
        summary = await self._redis.xpending(keys.grants, GROUP)
        claimed: list[tuple[str, dict[str, str], str]] = []
        for consumer in summary.get("consumers") or []:
            name = _text(consumer["name"])
            if name == self._worker_id or not int(consumer["pending"]):
                continue
            entries = await self._claim(
                grants=keys.grants,
                alive=keys.alive(name),
                group=GROUP,
                dead_consumer=name,
                claiming_consumer=self._worker_id,
                max_entries=BATCH,
            )
            for entry_id, flat in entries or []:
                fields = flat or []
                claimed.append(
                    (
                        _text(entry_id),
                        {_text(k): _text(v) for k, v in zip(fields[::2], fields[1::2], strict=True)},
                        name,
                    )
                )
        return claimed


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
