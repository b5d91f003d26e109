"""Recording a user's activity (written behind to Redis), here and in linked products."""

from __future__ import annotations

import asyncio
import time

from proxy_addon.grant_client import GrantClient
from proxy_addon.identify import Identity
from proxy_addon.licence_view import LicenceView
from proxy_addon.write_behind import WriteBehind
from seatgate.settings import ProductSettings


class ActivityRecorder:
    def __init__(self, writer: WriteBehind, view: LicenceView, grants: GrantClient, grant_timeout: float) -> None:
        self._writer = writer
        self._view = view
        self._grants = grants
        self._grant_timeout = grant_timeout
        self._background: set[asyncio.Task] = set()  # keeps linked grants alive until done

    def activity(self, product: ProductSettings, user: str) -> None:
        now = time.time()
        self._writer.activity(product.name, user, now)
        for linked in product.also_grant:
            if self._view.is_licensed(linked, user):
                self._writer.activity(linked, user, now)

    def grant_linked(self, name: str, identity: Identity, client: str) -> None:
        """Activity here also licenses a linked product, without holding this request."""
        if self._view.is_licensed(name, identity.user):
            self._writer.activity(name, identity.user, time.time())
            return
        task = asyncio.create_task(
            self._grants.request(
                name,
                identity.user,
                source=f"linked:{identity.source}",
                confirmed=identity.confirmed,
                client=client,
                deadline=self._grant_timeout,
            )
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)
