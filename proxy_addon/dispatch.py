"""Event dispatch of the lean runner: each mitmproxy event goes only to the addons that handle it.

mitmproxy's ``AddonManager`` delivers every event by walking the whole addon tree, looking
each hook up with ``getattr`` and entering a ``safecall`` context manager and a coroutine
per addon, whether or not the addon handles the event; every flow event is then sent a
second time as an ``update`` event the same way. A proxied request raises eight such
events, so each addon on the chain costs every request dozens of calls even where it has
nothing to do. Here the handlers of each event name are listed once, on first use (the
list is dropped whenever an addon is added or removed), and only those are called, with
``safecall``'s error handling written out: an exception in one handler is logged and the
others still run, ``AddonHalt`` stops the event, ``OptionsError`` propagates.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable
from typing import Any

from mitmproxy import exceptions, flow, hooks
from mitmproxy.addonmanager import AddonManager
from mitmproxy.master import Master
from mitmproxy.options import Options

Handler = Callable[..., Any]
logger = logging.getLogger("mitmproxy.addonmanager")  # where mitmproxy logs addon errors
_FIELDS: dict[type, tuple[str, ...]] = {}


def hook_args(event: hooks.Hook) -> list[Any]:
    """``event.args()`` without asking ``dataclasses.fields`` on every event."""
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(field.name for field in dataclasses.fields(event))
    return [getattr(event, name) for name in names]


class HookTable(AddonManager):
    def __init__(self, master: Master):
        super().__init__(master)
        self._handlers: dict[str, tuple[Handler, ...]] = {}

    def handlers(self, event: hooks.Hook) -> tuple[Handler, ...]:
        found = self._handlers.get(event.name)
        if found is None:
            # _iter_hooks walks each top-level addon and its sub-addons in chain order,
            # the order AddonManager calls them in.
            found = tuple(func for addon in self.chain for _, func in self._iter_hooks(addon, event))
            self._handlers[event.name] = found
        return found

    def register(self, addon: Any) -> Any:
        self._handlers.clear()
        return super().register(addon)

    def add(self, *addons: Any) -> None:
        super().add(*addons)
        self._handlers.clear()  # the chain grows after register() has returned

    def remove(self, addon: Any) -> None:
        self._handlers.clear()
        super().remove(addon)

    def clear(self) -> None:
        self._handlers.clear()
        super().clear()

    async def trigger_event(self, event: hooks.Hook) -> None:
        handlers = self.handlers(event)
        if not handlers:
            return
        args = hook_args(event)
        for func in handlers:
            try:
                result = func(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as err:
                logger.error(f"Addon error: {err}", exc_info=True)

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        await self.trigger_event(event)
        # The follow-up "update" event exists for UIs that redraw flows; without a handler
        # there is no need to build it.
        if self.handlers(hooks.UpdateHook([])):
            message = hook_args(event)[0]
            if isinstance(message, flow.Flow):
                await self.trigger_event(hooks.UpdateHook([message]))


class LeanMaster(Master):
    """mitmproxy's Master with :class:`HookTable` dispatch."""

    def __init__(self, opts: Options):
        super().__init__(opts)
        opts.changed.disconnect(self.addons._configure_all)
        self.addons = HookTable(self)
