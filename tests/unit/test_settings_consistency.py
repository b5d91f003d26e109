"""Empty or inconsistent configurations are refused at start-up: exit 2 and one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seatgate.settings import ConfigError, load_settings

SECRET = 'secret = "0123456789abcdef0123456789abcdef"\n'


def product(name: str, listen: str | None = None) -> str:
    text = f"""
[[products]]
name = "{name}"
kind = "jira"
upstream = "http://127.0.0.1:8090"
license_group = "jira-software-users"
"""
    return text + (f'listen = "{listen}"\n' if listen else "")


def write(tmp_path, text: str):
    path = tmp_path / "seatgate.toml"
    path.write_text(SECRET + text)
    return path


def run(command: str, path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seatgate", command, "--config", str(path)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # two products on one listen address
        (product("jira") + product("jsm", "127.0.0.1:8080"), "products.jsm.listen 127.0.0.1:8080: the same address"),
        # the wildcard address covers every other one on that port
        (
            '[proxy]\nlisten = "0.0.0.0:8080"\n' + product("jira") + product("jsm", "127.0.0.1:8080"),
            "products.jsm.listen 127.0.0.1:8080: the same address as proxy.listen",
        ),
        # metrics on the listen port
        (
            '[proxy]\nmetrics_listen = "127.0.0.1:8080"\n' + product("jira"),
            "proxy.metrics_listen 127.0.0.1:8080: the same address as proxy.listen",
        ),
        (
            '[proxy]\nmetrics_listen = "127.0.0.1:9000"\n' + product("jira") + product("jsm", "127.0.0.1:9000"),
            "proxy.metrics_listen 127.0.0.1:9000: the same address as products.jsm.listen",
        ),
    ],
)
def test_address_clashes_refused(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text))


def test_distinct_addresses_and_port_zero_accepted(tmp_path):
    text = (
        '[proxy]\nmetrics_listen = "127.0.0.1:0"\n' + product("jira", "127.0.0.1:0") + product("jsm", "127.0.0.1:8081")
    )
    settings = load_settings(write(tmp_path, text))
    assert [a for _, a in settings.proxy_addresses()] == ["127.0.0.1:0", "127.0.0.1:8081", "127.0.0.1:0"]
    # The worker's admin address is another process's: the proxy's default 9180 does not clash with it.
    assert load_settings(write(tmp_path, '[worker]\nadmin_listen = "127.0.0.1:8080"\n' + product("jira")))


@pytest.mark.parametrize("command", ["proxy", "worker"])
def test_no_products_exits_2_with_one_line(tmp_path, command):
    result = run(command, write(tmp_path, ""))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"seatgate {command}: configuration error: products: none configured" in result.stderr


@pytest.mark.parametrize("command", ["proxy", "worker"])
def test_clash_exits_2_with_one_line(tmp_path, command):
    result = run(command, write(tmp_path, product("jira") + product("jsm", "127.0.0.1:8080")))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "products.jsm.listen 127.0.0.1:8080: the same address as proxy.listen" in result.stderr


def test_replaced_reclaim_after_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"^worker: reclaim_after was replaced by takeover_after"):
        load_settings(write(tmp_path, '[worker]\nreclaim_after = "10s"\n' + product("jira")))
