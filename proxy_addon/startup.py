"""Starting the lean mitmproxy Master so that nothing is accepted that cannot be served.

mitmproxy's ``Master.run`` opens the listeners first and runs the addons' ``running``
hooks afterwards: a client connecting meanwhile is accepted, and dropped without an answer
when an addon then fails to start. Here the order is reversed — every addon's ``running``
hook (Redis client, metrics listener, ...) first, the proxy listeners last — and any
failure on the way becomes :class:`StartupFailed`: one line naming the setting to change
and the cause, e.g. ``proxy.metrics_listen 127.0.0.1:9180: address already in use``.

Errors that mitmproxy only logs (an addon hook that raised, a listener that failed to
bind) are collected while starting instead of being printed, and the first one is turned
into that line; the other start-up log records are passed on once the start succeeded.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import Any

from mitmproxy import exceptions
from mitmproxy.utils import asyncio_utils

from seatgate.settings import ConfigError, Settings

_ERRNO = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)
_BIND = re.compile(r"bind on address \('?\[?([^'\]]*)\]?'?, (\d+)")


class StartupFailed(Exception):
    """The proxy cannot serve: one line for the operator."""


class _Collect(logging.Handler):
    """Holds mitmproxy's log records while starting (nothing reaches stderr meanwhile)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first_error(self) -> logging.LogRecord | None:
        return next((r for r in self.records if r.levelno >= logging.ERROR), None)


def describe(exc: BaseException, settings: Settings, setting_hint: str | None = None) -> str:
    """One line: the setting (and its value) to change, then the cause."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, exceptions.OptionsError):
        return str(exc).removeprefix("seatgate: ")
    if isinstance(exc, OSError):
        reason = _reason(exc)
        address = _bound_address(str(exc))
        setting = setting_hint
        if address is not None:
            setting = _setting_of(settings, *address) or setting
            value = dict(settings.proxy_addresses()).get(setting or "", f"{address[0]}:{address[1]}")
            return f"{setting or 'listen address'} {value}: {reason}"
        return f"{setting}: {reason}" if setting else reason
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line}".rstrip(": ")


def _reason(exc: OSError) -> str:
    """The system's words for the error ("address already in use"), without the wrappers around them."""
    errno = exc.errno
    if errno is None:  # mitmproxy wraps the bind error in a message of its own
        match = _ERRNO.search(str(exc))
        errno = int(match.group(1)) if match else None
    return os.strerror(errno).lower() if errno else str(exc).lower()


def _bound_address(message: str) -> tuple[str, int] | None:
    match = _BIND.search(message)
    return (match.group(1), int(match.group(2))) if match else None


def _setting_of(settings: Settings, host: str, port: int) -> str | None:
    for setting, address in settings.proxy_addresses():
        own_host, _, own_port = address.rpartition(":")
        if int(own_port) == port and own_host.strip("[]") in (host, "0.0.0.0", "::", ""):
            return setting
    return None


def _record_exception(record: logging.LogRecord) -> BaseException | None:
    if record.exc_info and record.exc_info[1] is not None:
        return record.exc_info[1]
    return None


async def serve(master: Any, settings: Settings, configure: Callable[[], None]) -> None:
    """Configure and run ``master`` like ``Master.run``, the listeners started last; raise StartupFailed."""
    collect = _Collect()
    mitm_logger = logging.getLogger("mitmproxy")
    propagate = mitm_logger.propagate
    mitm_logger.addHandler(collect)
    mitm_logger.propagate = False
    started = False
    try:
        try:
            configure()  # the addons' configure hooks (settings, secret)
        except exceptions.OptionsError as exc:
            raise StartupFailed(describe(exc, settings)) from None
        _raise_first_error(collect, settings)
        with (
            asyncio_utils.install_exception_handler(master._asyncio_exception_handler),
            asyncio_utils.set_eager_task_factory(),
        ):
            master.should_exit.clear()
            try:
                await master.running()
                _raise_first_error(collect, settings)
                proxyserver = master.addons.get("proxyserver")
                if proxyserver is not None and not await proxyserver.setup_servers():
                    raise StartupFailed(_listen_failure(proxyserver, settings) or _first_line(collect, settings))
                _raise_first_error(collect, settings)
                started = True
                _release(collect, mitm_logger, propagate)
                await master.should_exit.wait()
            finally:
                await master.done()
    finally:
        if not started:
            mitm_logger.removeHandler(collect)
            mitm_logger.propagate = propagate


def _release(collect: _Collect, logger: logging.Logger, propagate: bool) -> None:
    """Started: log records go their usual way again, those held meanwhile included."""
    logger.removeHandler(collect)
    logger.propagate = propagate
    for record in collect.records:
        logging.getLogger(record.name).handle(record)


def _raise_first_error(collect: _Collect, settings: Settings) -> None:
    if collect.first_error() is not None:
        raise StartupFailed(_first_line(collect, settings))


def _first_line(collect: _Collect, settings: Settings) -> str:
    record = collect.first_error()
    if record is None:
        return "an error without a reason"
    exc = _record_exception(record)
    if exc is not None:
        return describe(exc, settings)
    return record.getMessage().splitlines()[0]


def _listen_failure(proxyserver: Any, settings: Settings) -> str | None:
    """The first listener that failed to start, as the setting of its address."""
    for instance in proxyserver.servers:
        exc = getattr(instance, "last_exception", None)
        if exc is not None:
            return describe(exc, settings)
    return None
