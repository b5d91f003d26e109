import subprocess
import sys

import pytest

from seatgate.settings import ConfigError, load_settings, parse_duration

PRODUCT = """
[[products]]
name = "jira"
kind = "jira"
upstream = "http://127.0.0.1:8090"
license_group = "jira-software-users"
{extra}
"""


def write(tmp_path, text):
    path = tmp_path / "seatgate.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text,seconds", [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("250ms", 0.25), (45, 45), ("2d", 172800), ("12", 12)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "m30", "1h 30", "-5s", True, None, "30 minutes"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_full_file(tmp_path):
    path = write(
        tmp_path,
        'redis_url = "redis://127.0.0.1:7000/1"\n[proxy]\nlisten = "127.0.0.1:9000"\n'
        '[worker]\nadmin_listen = "127.0.0.1:9001"\n' + PRODUCT.format(extra='inactivity = "10m"\nseats = 5'),
    )
    settings = load_settings(path)
    assert settings.redis_url.endswith(":7000/1")
    assert settings.proxy.listen == "127.0.0.1:9000"
    assert settings.worker.admin_listen == "127.0.0.1:9001"
    product = settings.product("jira")
    assert (product.inactivity, product.seats, product.directory) == (600, 5, "auto")


def test_environment_overrides_file(tmp_path, monkeypatch):
    path = write(tmp_path, PRODUCT.format(extra=""))
    monkeypatch.setenv("SEATGATE_PROXY__GRANT_TIMEOUT", "2.5")
    monkeypatch.setenv("SEATGATE_REDIS_URL", "redis://10.0.0.1:6379/0")
    settings = load_settings(path)
    assert settings.proxy.grant_timeout == 2.5
    assert settings.redis_url == "redis://10.0.0.1:6379/0"


def test_password_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    settings = load_settings(write(tmp_path, PRODUCT.format(extra=f'admin_password_file = "{secret}"')))
    assert settings.product("jira").password() == "s3cret"


@pytest.mark.parametrize(
    "extra,key,reason",
    [
        ('inactivity = "60s"', "products.jira", "below the jira floor"),
        ('inactivity = "ten minutes"', "products.jira.inactivity", "not a duration"),
        ('kind = "bitbucket"', "products.jira.kind", "jira"),
        ('upstream = "ftp://x"', "products.jira.upstream", "not an http"),
        ('upstream = "http://jira:8080/jira?x=1"', "products.jira.upstream", "without a query"),
        ("seats = -1", "products.jira.seats", "greater than or equal to 0"),
        ('colour = "blue"', "products.jira.colour", "unknown setting"),
        ('inactivty = "30m"', "products.jira.inactivty", "unknown setting (did you mean 'inactivity'?)"),
        ('directory = "crowd"', "products.jira", "crowd_app"),
    ],
)
def test_bad_product_values_name_key_and_reason(tmp_path, extra, key, reason):
    text = PRODUCT.format(extra="")
    if extra.split("=")[0].strip() in ("kind", "upstream"):
        field = extra.split("=")[0].strip()
        text = "\n".join(line for line in text.splitlines() if not line.startswith(field))
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text + "\n" + extra + "\n"))
    assert info.value.key == key
    assert reason in info.value.reason


def test_confluence_floor_is_15_minutes_unless_allowed(tmp_path):
    text = PRODUCT.format(extra='inactivity = "10m"').replace('kind = "jira"', 'kind = "confluence"')
    with pytest.raises(ConfigError, match="confluence floor of 900s"):
        load_settings(write(tmp_path, text))
    settings = load_settings(write(tmp_path, text + "allow_short_inactivity = true\n"))
    assert settings.products[0].inactivity == 600


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "[proxy\nlisten ="))
    with pytest.raises(ConfigError, match="HOST:PORT"):
        load_settings(write(tmp_path, '[proxy]\nlisten = "8080"\n'))
    with pytest.raises(ConfigError, match="not a Redis URL"):
        load_settings(write(tmp_path, 'redis_url = "http://x"\n'))


def test_duplicate_products_refused(tmp_path):
    text = PRODUCT.format(extra="") + PRODUCT.format(extra='listen = "127.0.0.1:8081"')
    with pytest.raises(ConfigError, match="unique"):
        load_settings(write(tmp_path, text))


def test_cli_prints_one_line_and_exits_2(tmp_path):
    path = write(tmp_path, PRODUCT.format(extra='inactivity = "soon"'))
    result = subprocess.run(
        [sys.executable, "-m", "seatgate", "worker", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "products.jira.inactivity" in result.stderr
    assert "Traceback" not in result.stderr


def test_upstream_with_a_context_path(tmp_path):
    text = "\n".join(line for line in PRODUCT.format(extra="").splitlines() if not line.startswith("upstream"))
    settings = load_settings(write(tmp_path, text + '\nupstream = "http://jira:8080/jira/"\n'))
    product = settings.product("jira")
    assert (product.upstream, product.origin, product.context_path) == (
        "http://jira:8080/jira",
        "http://jira:8080",
        "/jira",
    )
    from proxy_addon.runner import proxy_modes

    assert proxy_modes(settings)[0].startswith("reverse:http://jira:8080@")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('redis_ulr = "redis://x"\n', "redis_ulr: unknown setting (did you mean 'redis_url'?)"),
        ("[proxy]\ngrant_timout = 3\n", "proxy.grant_timout: unknown setting (did you mean 'grant_timeout'?)"),
        (
            "[worker]\nadmin_listn = '127.0.0.1:1'\n",
            "worker.admin_listn: unknown setting (did you mean 'admin_listen'?)",
        ),
        ("[proxy]\nzzzz = 3\n", "proxy.zzzz: unknown setting"),
    ],
)
def test_unknown_keys_suggest_the_closest_setting(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert str(info.value) == message
