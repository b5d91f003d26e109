"""A Jira / Confluence Data Center simulator: the upstream of tests and of ``seatgate demo``.

    from seatgate_simulator import SimConfig, create_app, STATE_KEY
    app = create_app(SimConfig(product="jira", seats=5))
    state = app[STATE_KEY]

Names are loaded lazily so that ``seatgate --help`` does not import aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seatgate_simulator.app import create_app
    from seatgate_simulator.config import SimConfig
    from seatgate_simulator.context import STATE_KEY

__all__ = ["STATE_KEY", "SimConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from seatgate_simulator.app import create_app

        return create_app
    if name == "SimConfig":
        from seatgate_simulator.config import SimConfig

        return SimConfig
    if name == "STATE_KEY":
        from seatgate_simulator.context import STATE_KEY

        return STATE_KEY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
