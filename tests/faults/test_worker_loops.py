"""The worker's loops survive Redis error replies, and a loop that dies takes the worker down."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fakeredis import FakeAsyncRedis
from redis.exceptions import ResponseError

from grant_worker.product import ProductRuntime
from grant_worker.worker import GrantWorker, LoopEnded
from seatgate.schema import ProductKeys
from seatgate.settings import Settings


def settings() -> Settings:
    return Settings.model_validate(
        {
            "secret": "s" * 32,
            "products": [
                {
                    "name": "jira",
                    "kind": "jira",
                    "upstream": "http://127.0.0.1:1",
                    "license_group": "jira-software-users",
                }
            ],
        }
    )


class ClusterSettling(FakeAsyncRedis):
    """xreadgroup answers like a Redis Cluster that is still settling, then has an entry."""

    def __init__(self, errors: list[str]):
        super().__init__(decode_responses=True)
        self.errors = list(errors)

    async def xreadgroup(self, *args: Any, **kwargs: Any) -> Any:
        if self.errors:
            raise ResponseError(self.errors.pop(0))
        await asyncio.sleep(0.01)
        return [("stream", [("1-0", {"user": "alice"})])]


@pytest.mark.parametrize(
    "errors",
    [
        ["CLUSTERDOWN The cluster is down"],
        ["TRYAGAIN Multiple keys request during rehashing of slot"],
        ["READONLY You can't write against a read only replica."],
    ],
)
async def test_consumer_waits_out_error_replies(errors: list[str]) -> None:
    redis = ClusterSettling(errors)
    worker = GrantWorker(settings(), redis=redis)
    product = ProductRuntime(worker.settings.products[0], ProductKeys("jira"), directory=None)
    spawned: list[str] = []
    worker._spawn = lambda _product, entry_id, fields: spawned.append(fields["user"])  # type: ignore[method-assign]
    consumer = asyncio.create_task(worker._consume(product))
    try:
        async with asyncio.timeout(10):
            while not spawned:
                assert not consumer.done(), consumer.exception()
                await asyncio.sleep(0.02)
    finally:
        consumer.cancel()
    assert spawned[0] == "alice"


async def test_a_loop_that_ends_stops_the_worker() -> None:
    worker = GrantWorker(settings(), redis=FakeAsyncRedis(decode_responses=True))

    async def crashing() -> None:
        raise RuntimeError("bug")

    async def forever() -> None:
        await asyncio.Event().wait()

    # run() with its loops replaced: one crashes, the others would run on.
    worker._consume = lambda product: crashing()  # type: ignore[method-assign]
    worker._reclaim = lambda product: forever()  # type: ignore[method-assign]
    worker.products = [ProductRuntime(worker.settings.products[0], ProductKeys("jira"), directory=None)]
    with pytest.raises(LoopEnded) as ended:
        async with asyncio.timeout(10):
            await worker.run()
    assert isinstance(ended.value.__cause__, RuntimeError)
