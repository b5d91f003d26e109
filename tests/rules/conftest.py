"""Fixtures of the rules tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from seatgate.cli import main as seatgate_main

CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def rules_cli(redis_url, tmp_path, capsys, monkeypatch) -> Callable[[str], CliRun]:
    """``rules_cli(config_text)`` → ``run(*args)``: ``seatgate rules`` in-process against the
    test Redis with that settings file, answering (exit status, stdout, stderr)."""
    for name in ("SEATGATE_REDIS_URL", "SEATGATE_PRODUCTS", "SEATGATE_SECRET"):
        monkeypatch.delenv(name, raising=False)

    def with_config(text: str) -> CliRun:
        config = tmp_path / "seatgate.toml"
        config.write_text(text)

        def run(*args: str) -> tuple[int, str, str]:
            capsys.readouterr()
            code = seatgate_main(["rules", "--config", str(config), "--redis-url", redis_url, *args])
            out, err = capsys.readouterr()
            return code, out, err

        return run

    return with_config
