"""A stand-in proxy for the multi-process rules test: a RulesWatcher that prints each version.

Run as ``python -m tests.rules.watch_probe REDIS_URL``; prints ``version N at EPOCH`` per
version it takes on (the proxy addon runs the very same watcher).
"""

from __future__ import annotations

import asyncio
import sys
import time

from seatgate.redis_conn import connect
from seatgate.rules import Classifier, RuleSet, RulesWatcher


async def main(url: str) -> None:
    holder: dict[str, Classifier] = {}

    def on_change(version: int, ruleset: RuleSet) -> None:
        holder["classifier"] = Classifier(ruleset)  # what a proxy does with a new version
        print(f"version {version} at {time.time():.6f}", flush=True)

    await RulesWatcher(connect(url), on_change=on_change, check_interval=1.0).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
