"""structlog set-up shared by every process: key=value events, JSON lines by default."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "info", fmt: str = "json") -> None:
    renderer: structlog.typing.Processor
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get(name: str, **bound: object) -> structlog.typing.FilteringBoundLogger:
    # Lazy: bind() would build the logger now, with whatever configuration holds at import
    # time, so a module imported before configure() (a command imported to build the CLI's
    # parser) would log to stdout at info level for ever (cache_logger_on_first_use).
    return structlog.get_logger(name, **bound)
