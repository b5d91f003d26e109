"""Event dispatch of the lean runner: each event goes only to the addons that handle it, in place.

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

import asyncio
import dataclasses
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from mitmproxy import exceptions, flow, hooks
from mitmproxy import version as mitmproxy_version
from mitmproxy.addonmanager import AddonManager
from mitmproxy.master import Master
from mitmproxy.options import Options
from mitmproxy.proxy import commands, mode_servers
from mitmproxy.proxy import events as proxy_events
from mitmproxy.proxy.mode_servers import ProxyConnectionHandler

Handler = Callable[..., Any]
logger = logging.getLogger("mitmproxy.addonmanager")  # where mitmproxy logs addon errors
_FIELDS: dict[type, tuple[str, ...]] = {}


def hook_args(event: hooks.Hook) -> list[Any]:
    """``event.args()`` without asking ``dataclasses.fields`` on every event."""
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(field.name for field in dataclasses.fields(event))  # type: ignore[arg-type]
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
        if handlers:
            rest = _run(handlers, hook_args(event), 0)
            if rest is not None:
                await rest

    def run_now(self, event: hooks.Hook) -> Awaitable[None] | None:
        """``handle_lifecycle`` as far as it can go without waiting: None when every handler
        has finished, else an awaitable that finishes the rest in order."""
        handlers = self.handlers(event)
        rest = _run(handlers, hook_args(event), 0) if handlers else None
        # The follow-up "update" event exists for UIs that redraw flows; without a handler
        # there is no need to build it.
        if self.handlers(hooks.UpdateHook([])):
            message = hook_args(event)[0]
            if isinstance(message, flow.Flow):
                return self._then_update(rest, message)
        return rest

    async def _then_update(self, rest: Awaitable[None] | None, message: flow.Flow) -> None:
        if rest is not None:
            await rest
        await self.trigger_event(hooks.UpdateHook([message]))

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        rest = self.run_now(event)
        if rest is not None:
            await rest


def _run(handlers: tuple[Handler, ...], args: list[Any], start: int) -> Awaitable[None] | None:
    """Call handlers[start:] in order until one returns an awaitable; return what waits for it
    and then calls the others, or None when all are done."""
    for index in range(start, len(handlers)):
        try:
            result = handlers[index](*args)
        except exceptions.AddonHalt:
            return None
        except exceptions.OptionsError:
            raise
        except Exception as err:
            logger.error(f"Addon error: {err}", exc_info=True)
            continue
        if result is not None and inspect.isawaitable(result):
            return _await_then_run(result, handlers, args, index + 1)
    return None


async def _await_then_run(pending: Awaitable[Any], handlers: tuple[Handler, ...], args: list[Any], start: int) -> None:
    try:
        await pending
    except exceptions.AddonHalt:
        return
    except exceptions.OptionsError:
        raise
    except Exception as err:
        logger.error(f"Addon error: {err}", exc_info=True)
    rest = _run(handlers, args, start)
    if rest is not None:
        await rest


class InlineHooks:
    """Stands in for a connection's top layer and runs its hooks in place when it can.

    mitmproxy hands every hook a layer raises to a new task, which the event loop runs on a
    later turn and which then feeds the completion back to the layer: a task, several
    coroutines and a loop turn per hook, four hooks per request, even when every handler
    returns at once. Here the handlers run as soon as the layer raises the hook; when they
    have all returned (the common case) the completion goes straight back into the layer,
    after the layer's current event is done with, as the task would have done. A hook whose
    handler has to wait (a grant) goes on in a task of its own, like mitmproxy's.
    """

    __slots__ = ("_handler", "layer")

    def __init__(self, layer: Any, handler: LeanConnectionHandler):
        self.layer = layer
        self._handler = handler

    def __getattr__(self, name: str) -> Any:
        return getattr(self.layer, name)

    def handle_event(self, event: proxy_events.Event) -> Iterator[commands.Command]:
        queue = deque([event])
        while queue:
            for command in self.layer.handle_event(queue.popleft()):
                if not isinstance(command, commands.StartHook):
                    yield command
                elif self._handler.start_hook(command) and command.blocking:
                    queue.append(proxy_events.HookCompleted(command))


class LeanConnectionHandler(ProxyConnectionHandler):
    """mitmproxy's connection handler with :class:`InlineHooks` around its top layer."""

    @property  # type: ignore[override]
    def layer(self) -> InlineHooks:
        return self._top

    @layer.setter
    def layer(self, layer: Any) -> None:
        # Set at construction and again by the mode's server (its own top layer).
        self._top = layer if isinstance(layer, InlineHooks) else InlineHooks(layer, self)

    def start_hook(self, hook: commands.StartHook) -> bool:
        """Run the hook's handlers; True when they are done, False when a task finishes them
        and then reports the completion itself."""
        (data,) = hook_args(hook)  # mitmproxy's hooks carry one argument
        rest = self.master.addons.run_now(hook)  # type: ignore[attr-defined]  # LeanMaster's addon manager
        if rest is None and not (isinstance(data, flow.Flow) and data.intercepted):
            return True
        task = asyncio.create_task(self._finish_hook(hook, rest, data), name=f"handle_hook({hook.name})")
        self.hook_tasks.add(task)
        task.add_done_callback(self.hook_tasks.discard)
        return False

    async def _finish_hook(self, hook: commands.StartHook, rest: Awaitable[None] | None, data: Any) -> None:
        with self.timeout_watchdog.disarm():
            if rest is not None:
                await rest
            if isinstance(data, flow.Flow):
                await data.wait_for_resume()
        if hook.blocking:
            await self.server_event(proxy_events.HookCompleted(hook))


def use_inline_hooks() -> bool:
    """Make the proxy servers build :class:`LeanConnectionHandler` for new connections.

    mitmproxy's mode servers construct their connection handler by this module-level name
    and offer no other way to choose it; only the lean runner calls this. Where mitmproxy
    is not the major version this was built against, hooks keep mitmproxy's own tasks.
    """
    if not mitmproxy_version.VERSION.startswith("11."):
        logger.warning("mitmproxy %s: hooks run in tasks (in-place hooks need mitmproxy 11)", mitmproxy_version.VERSION)
        return False
    mode_servers.ProxyConnectionHandler = LeanConnectionHandler  # type: ignore[misc]
    return True


class LeanMaster(Master):
    """mitmproxy's Master with :class:`HookTable` dispatch."""

    def __init__(self, opts: Options):
        super().__init__(opts)
        opts.changed.disconnect(self.addons._configure_all)
        self.addons = HookTable(self)
