"""All of seatgate's configuration, in one pydantic-settings model.

Sources, highest priority first: explicit overrides (CLI flags), environment variables
(prefix ``SEATGATE_``, nested keys joined by ``__``, e.g. ``SEATGATE_PROXY__GRANT_TIMEOUT``,
lists as JSON, e.g. ``SEATGATE_PRODUCTS='[...]'``), the TOML file given by ``--config``,
then the defaults below.

A bad value never reaches the running code: :func:`load_settings` raises
:class:`ConfigError` carrying the dotted key and the reason, which the CLI prints as one
line before exiting with status 2.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from seatgate.rules.model import Verdict  # the rules' verdict: one definition


class ConfigError(Exception):
    """A configuration problem, already phrased for the operator: ``key: reason``."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}" if key else reason)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """``"90s"``, ``"30m"``, ``"1h30m"``, ``"250ms"`` or a plain number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 90s, 30m or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            pos, seconds = 0, 0.0
            for match in _DURATION_PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(f"{value!r} is not a duration such as 90s, 30m or 1h30m")
    else:
        raise ValueError("must be a duration such as 90s, 30m or 1h30m")
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _check_listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT (for example 127.0.0.1:8080)")
    return value


Listen = Annotated[str, AfterValidator(_check_listen)]


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    if "?" in value or "#" in value:
        raise ValueError(f"{value!r}: give the base URL only, without a query or fragment")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_check_url)]

# Atlassian's own floors: Confluence batches notifications every 10 minutes, so a user
# revoked sooner than 15 minutes after their last action misses notifications about it.
INACTIVITY_FLOOR = {"jira": 300.0, "confluence": 900.0}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductSettings(_Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["jira", "confluence"]
    # "shadow": observe only. The proxy identifies and records activity but never holds,
    # queues or refuses a request; the worker keeps a would-be seat state under keys of
    # its own and never writes the directory. Switching to "enforce" needs a restart only.
    mode: Literal["enforce", "shadow"] = "enforce"
    upstream: HttpUrl
    license_group: str = Field(min_length=1)
    app_role: str = "jira-software"
    directory: Literal["jira", "confluence-rest", "confluence-jsonrpc", "crowd", "auto"] = "auto"
    admin_user: str = "admin"
    admin_password: SecretStr | None = None
    admin_password_file: Path | None = None
    crowd_url: HttpUrl | None = None
    crowd_app: str | None = None
    crowd_password: SecretStr | None = None
    seats: int | None = Field(default=None, ge=0)
    reserved_seats: int = Field(default=0, ge=0)
    inactivity: Duration = 1800.0
    allow_short_inactivity: bool = False
    exclude_users: list[str] = []
    exclude_groups: list[str] = []
    managed_groups: list[str] = []
    # Where this product's reverse proxy listens; defaults to [proxy] listen for the
    # first product. Several products in one proxy process need one port each.
    listen: Listen | None = None
    default_verdict: Verdict = "activity"
    # Confluence Data Center may or may not send X-AUSERNAME; when it does not, the proxy
    # resolves a new session once through /rest/api/user/current.
    ausername_header: bool = True
    # Activity here also grants these products (Confluence → Jira for issue macros).
    also_grant: list[str] = []
    # When no seat is free, revoke the longest-idle managed user idle for longer than
    # evict_after to make room (only for a requester whose identity upstream confirmed).
    pressure_eviction: bool = False
    evict_after: Duration = 600.0
    # Members of the licence group that seatgate did not put there: "leave" them alone
    # (they count against the licence as unmanaged) or "adopt" them as floating users.
    unmanaged_members: Literal["leave", "adopt"] = "leave"

    @property
    def origin(self) -> str:
        """``upstream`` without its path: where the reverse proxy sends requests, whose
        paths already carry the context path."""
        parts = urlsplit(self.upstream)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def context_path(self) -> str:
        """The path of ``upstream`` (``/jira`` in ``http://jira:8080/jira``): where the product
        is deployed. seatgate's own REST calls go below it, and it is stripped from client
        requests before they are classified and logins recognised."""
        return urlsplit(self.upstream).path

    @model_validator(mode="after")
    def _check(self) -> ProductSettings:
        floor = INACTIVITY_FLOOR[self.kind]
        if self.inactivity < floor and not self.allow_short_inactivity:
            raise ValueError(
                f"inactivity {self.inactivity:g}s is below the {self.kind} floor of {floor:g}s "
                "(set allow_short_inactivity = true only for tests and demos)"
            )
        if self.inactivity <= 0:
            raise ValueError("inactivity must be greater than zero")
        if self.pressure_eviction and self.evict_after >= self.inactivity:
            raise ValueError(
                f"evict_after ({self.evict_after:g}s) must be shorter than inactivity ({self.inactivity:g}s)"
            )
        if self.admin_password is not None and self.admin_password_file is not None:
            raise ValueError("set admin_password or admin_password_file, not both")
        if self.directory == "crowd" and not (self.crowd_app and self.crowd_password):
            raise ValueError("directory = 'crowd' needs crowd_app and crowd_password")
        return self

    def password(self) -> str:
        """The admin password, read from the file when one is configured."""
        if self.admin_password_file is not None:
            try:
                return self.admin_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"products.{self.name}.admin_password_file", f"cannot read: {exc.strerror}") from exc
        return self.admin_password.get_secret_value() if self.admin_password else ""


class ProxySettings(_Section):
    listen: Listen = "127.0.0.1:8080"
    metrics_listen: Listen | None = "127.0.0.1:9180"
    # How long a request of an unlicensed user may be held while its grant is made.
    grant_timeout: float = Field(default=5.0, gt=0, le=120)
    # On timeout or error: forward anyway ("open") or answer 503 ("closed").
    failure_mode: Literal["open", "closed"] = "open"
    # Activity is written behind in batches; this is the longest a batch waits.
    activity_flush_interval: float = Field(default=1.0, gt=0, le=1.0)
    # Most activity entries kept in memory while Redis is unreachable.
    activity_buffer_max: int = Field(default=100_000, ge=100)
    # How long a learned cookie/token → user mapping is kept without being seen again.
    session_ttl: Duration = 14 * 86400.0
    # Full reload of the licensed-users cache, in case a pub/sub message was missed.
    cache_resync_interval: Duration = 30.0
    # Largest request body kept so a request can be replayed after a late grant.
    replay_max_body: int = Field(default=1 << 20, ge=0)
    # App-link requests (OAuth with xoauth_requestor_id) act for a user server to server;
    # by default they keep a licensed user licensed but never take a seat.
    applink_activity: bool = False
    # Page shown while no seat is free.
    waiting_message: str = "All licences are in use. You will be let in as soon as one is free."
    waiting_logo_url: str | None = None
    # Identity headers a client might forge; removed from every request.
    strip_request_headers: list[str] = ["X-AUSERNAME", "X-AUSERID"]
    # Remember-me cookie names; they come from login.cookie.key in seraph-config.xml.
    session_cookies: list[str] = ["JSESSIONID"]
    rememberme_cookies: list[str] = ["seraph.rememberme.cookie", "seraph.confluence"]
    # How long a learned Personal Access Token → user mapping is kept without being seen
    # again. Tokens live up to a year and automation may use one rarely: a forgotten token
    # of an unlicensed owner could not be attributed again.
    pat_ttl: Duration = 365 * 86400.0
    # Deadline of a replayed request (the original request's answer is kept when it passes).
    replay_timeout: Duration = 60.0
    # Deadline of one GET /rest/api/user/current (products that do not send X-AUSERNAME).
    current_user_timeout: float = Field(default=5.0, gt=0, le=60)
    # SSO assertion consumers: a POST here carries a SAMLResponse whose NameID is the user
    # logging in (Atlassian Data Center SSO, resolution SAML SSO, miniOrange).
    saml_paths: list[str] = ["/plugins/servlet/samlconsumer", "/plugins/servlet/samlsso", "/plugins/servlet/saml/auth"]
    # Seat-abuse defence. A claimed username (login form, SAML, Basic with a body too big to
    # replay) is granted before upstream has checked it only within these limits; beyond
    # them the request goes upstream as it is and a right password is granted and replayed.
    # Claims granted ahead per client address and per username, per minute:
    claim_rate_per_client: int = Field(default=10, ge=0)
    claim_rate_per_user: int = Field(default=5, ge=0)
    # After upstream rejected a claim for a username, claims for it are not granted ahead,
    # from any client, for this long (they still reach upstream, which checks them).
    claim_cooldown: Duration = 300.0
    # Grants made ahead for claims whose upstream answer has not arrived yet, per product.
    claim_unconfirmed_max: int = Field(default=20, ge=0)
    # Reverse proxies in front of seatgate (nginx), as addresses or CIDR networks: for their
    # requests the client is the last address in X-Forwarded-For that is not one of them.
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @field_validator("saml_paths")
    @classmethod
    def _check_paths(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not entry.startswith("/"):
                raise ValueError(f"{entry!r} must be a path starting with /")
        return value


class WorkerSettings(_Section):
    admin_listen: Listen = "127.0.0.1:9181"
    admin_token: SecretStr | None = None
    admin_token_file: Path | None = None
    # Grants handled at the same time by one worker.
    concurrency: int = Field(default=32, ge=1, le=1024)
    # A grant entry not acknowledged for this long is taken over by another worker.
    reclaim_after: Duration = 10.0
    sweep_interval: Duration = 5.0
    # Seconds between marking a user "revoking" and removing them, so activity that was
    # still in a proxy's write-behind buffer can land and cancel the revoke.
    revoke_grace: Duration = 1.5
    lease_ttl: Duration = 15.0
    directory_timeout: float = Field(default=10.0, gt=0)
    directory_retries: int = Field(default=3, ge=0, le=10)
    # Failed attempts in a row (retries included) that open a directory's circuit breaker,
    # and how long it then refuses calls before letting one trial call through.
    directory_breaker_threshold: int = Field(default=5, ge=1, le=1000)
    directory_breaker_cooldown: Duration = 5.0
    seat_refresh_interval: Duration = 60.0
    reconcile_interval: Duration = 300.0
    # The waiting page retries this often; a queued user who has not retried for
    # queue_timeout has left and drops out of the queue.
    queue_retry_after: int = Field(default=10, ge=1, le=300)
    queue_timeout: Duration = 45.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SEATGATE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    redis_url: str = "redis://127.0.0.1:6379/0"
    # Key for the keyed hashes (HMAC-SHA256) of cookies, tokens and credentials.
    secret: SecretStr | None = None
    secret_file: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    proxy: ProxySettings = ProxySettings()
    worker: WorkerSettings = WorkerSettings()
    products: list[ProductSettings] = []

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not re.match(r"^(redis|rediss|unix|redis\+sentinel|redis\+cluster)://", value):
            raise ValueError(
                f"{value!r} is not a Redis URL (redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://)"
            )
        from seatgate.redis_conn import connect  # builds the client as the processes will, connects nothing

        try:
            connect(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a usable Redis URL: {exc}") from None  # no echo: it may hold a password
        return value

    @model_validator(mode="after")
    def _check_products(self) -> Settings:
        names = [p.name for p in self.products]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"product names must be unique; repeated: {', '.join(dupes)}")
        for product in self.products:
            unknown = [n for n in product.also_grant if n not in names or n == product.name]
            if unknown:
                raise ValueError(f"product {product.name!r}: also_grant names unknown product {unknown[0]!r}")
        if len(self.products) > 1:
            missing = [p.name for p in self.products[1:] if p.listen is None]
            if missing:
                raise ValueError(
                    f"product {missing[0]!r}: with several products each one after the first needs its own listen"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs (see load_settings) merged under the CLI
        # overrides, so environment variables must win over it: env first.
        return env_settings, init_settings

    # -- helpers used by both components -------------------------------------------
    def product(self, name: str) -> ProductSettings:
        for product in self.products:
            if product.name == name:
                return product
        raise KeyError(name)

    def secret_key(self) -> bytes:
        if self.secret_file is not None:
            try:
                return self.secret_file.read_bytes().strip()
            except OSError as exc:
                raise ConfigError("secret_file", f"cannot read: {exc.strerror}") from exc
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        raise ConfigError("secret", "is required (or secret_file): it keys the hashes of cookies and tokens")

    def admin_token(self) -> str | None:
        if self.worker.admin_token_file is not None:
            try:
                return self.worker.admin_token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError("worker.admin_token_file", f"cannot read: {exc.strerror}") from exc
        return self.worker.admin_token.get_secret_value() if self.worker.admin_token else None

    def product_listen(self, product: ProductSettings) -> str:
        return product.listen or self.proxy.listen


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _error_key(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Turn pydantic's location into the key an operator wrote: products.jira.inactivity."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            entry = node[item]
            name = entry.get("name") if isinstance(entry, dict) else None
            parts.append(str(name) if isinstance(name, str) else str(item))
            node = entry
            continue
        if isinstance(item, str) and item.startswith(("function-", "constrained-", "lax-", "json-")):
            continue
        parts.append(str(item))
        node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def load_settings(config: Path | str | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read the TOML file (if any), the environment and overrides; raise ConfigError on bad input."""
    data: dict[str, Any] = {}
    if config is not None:
        path = Path(config)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("--config", f"{path}: no such file") from exc
        except OSError as exc:
            raise ConfigError("--config", f"{path}: cannot read ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError("--config", f"{path}: not UTF-8 text") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", f"{path}: invalid TOML: {exc}") from exc
        except RecursionError:
            raise ConfigError("--config", f"{path}: invalid TOML: arrays or tables nested too deeply") from None
    if overrides:
        data = _merge(data, overrides)
    # pydantic-settings reads keyword arguments starting with "_" as options of its own
    # (_env_file, _secrets_dir, _cli_parse_args, ...): no settings file may reach them.
    for key in data:
        if key.startswith("_"):
            raise ConfigError(key, "unknown setting")
    try:
        return Settings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _error_key(tuple(first["loc"]), data)
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            reason = "unknown setting" + _did_you_mean(tuple(first["loc"]))
        elif first["type"] == "missing":
            reason = "is required"
        raise ConfigError(key, reason) from None


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    """`` (did you mean 'x'?)`` for an unknown key close to a setting of the same table."""
    model: Any = Settings
    for item in loc[:-1]:
        if isinstance(item, int):
            continue
        field = model.model_fields.get(item) if isinstance(item, str) else None
        if field is None:
            return ""
        annotation = field.annotation
        model = getattr(annotation, "__args__", (annotation,))[0]  # list[ProductSettings] -> ProductSettings
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
