"""Settings, read only from ``INBOUND_*`` environment variables."""

import ipaddress
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from inbound.ratelimit import parse_limit

ACCEPTED_DATABASE_URLS = (
    "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
)
# The drivers we run on, by what URLs commonly name (psql's and Heroku's postgres://, plain sqlite).
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
# Settings whose values never appear in an error message.
_SECRET_SETTINGS = {
    "hubspot_token", "hubspot_client_secret", "database_url", "redis_url", "signing_key",
}  # fmt: skip


class SettingsError(Exception):
    """A setting holds a value the service cannot use; the message names it and says why."""


class Settings(BaseSettings):
    """Everything an operator can change, with the defaults of the embedded setup."""

    model_config = SettingsConfigDict(env_prefix="INBOUND_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./inbound.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = Field(default=True, description="JSON log lines; false for plain text.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    docs_enabled: bool = True
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Reverse proxies (IP addresses or CIDR networks, comma-separated) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty believes none.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://HOST:PORT/DB; rate-limit counters are shared there when set.",
    )
    capture_rate_per_ip: str = Field(
        default="30/minute", description="Captures one client address may post."
    )
    capture_rate_per_key: str = Field(
        default="3000/minute", description="Captures one site key may post."
    )
    tracking_rate_per_ip: str = Field(
        default="1200/minute",
        description="Requests to the event endpoints (`/api/v1/batch`, `/api/v1/t`, ...) one "
        "client address may send.",
    )
    survey_rate_per_ip: str = Field(
        default="30/minute", description="Survey answers one client address may post."
    )
    survey_answer_commit: Literal["async", "sync"] = Field(
        default="async",
        description="On PostgreSQL, `async` answers a survey answer before its commit is "
        "flushed to disk (a database crash loses at most the last moment's answers, never "
        "half of one); `sync` waits for the flush, as every other write does.",
    )
    signing_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs survey links; when unset, a random key made once and kept in the "
        "database.",
    )
    public_url: str | None = Field(
        default=None,
        description="The service's address as the public reaches it (https://HOST[/PATH]), "
        "which signed survey links are built on; unset: the address each request came to.",
    )
    tracking_retention_days: int = Field(
        default=395,
        ge=1,
        le=36_500,
        description="How long events are kept; older ones are refused at ingest and removed "
        "by the worker (whole months on PostgreSQL) and by `inbound tracking prune`.",
    )
    custom_fields_per_contact: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Custom form fields a contact keeps; new names past it stay on their "
        "captures only.",
    )
    custom_fields_bytes_per_contact: int = Field(
        default=65_536,
        ge=1024,
        le=16_777_216,
        description="Bytes of JSON a contact's custom form fields may take together.",
    )
    cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long a process keeps site keys, assets, personas and settings for "
        "captures; another process's changes reach it within this time. 0 keeps nothing.",
    )
    remap_interval_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often to look for persona, tag or setting changes to re-map "
        "contacts after; 0 turns background re-mapping off in this process.",
    )

    nbc_refresh_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How often the worker recomputes next-best-content signals (co-visitation, "
        "click-through); 0 leaves it to `inbound nbc refresh`.",
    )
    nbc_window_days: float = Field(
        default=30.0, gt=0, le=3650, description="Days of events the signals are computed over."
    )
    nbc_min_together: int = Field(
        default=2, ge=1, description="Visitors who must view two assets for their lift to count."
    )

    churn_every_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How often the worker recomputes every eligible contact's churn risk and "
        "sends `lead.at_risk` / `lead.risk_cleared`; 0 turns it off in this process.",
    )
    churn_threshold: int = Field(
        default=50,
        ge=1,
        le=100,
        description="The churn risk score (0-100) at which a contact is flagged at risk.",
    )

    report_days_every_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How often the worker rolls the days that are over, and those changed "
        "since, into the journey report's day tables; 0 turns it off in this process.",
    )

    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="How long a webhook receiver has to answer."
    )
    webhook_concurrency: int = Field(
        default=32, ge=1, le=1000, description="Webhook deliveries one worker sends at once."
    )
    webhook_batch: int = Field(
        default=256, ge=1, le=5000, description="Deliveries one worker takes on per round."
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0,
        gt=0,
        description="The wait after a delivery's first failure; it doubles with every further "
        "failure (with jitter), up to INBOUND_WEBHOOK_RETRY_MAX_SECONDS.",
    )
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="The longest wait between two tries of a delivery."
    )
    webhook_give_up_hours: float = Field(
        default=24.0, gt=0, description="How long a delivery is retried before it is dead."
    )
    webhook_allow_loopback: bool = Field(
        default=False,
        description="Let webhooks go to this machine's loopback addresses (127.0.0.0/8, ::1, "
        "localhost), for a receiver in local development; private, link-local and other "
        "non-public addresses stay refused.",
    )
    worker_in_process: bool = Field(
        default=True,
        description="Deliver webhooks from inside each API process too; false when "
        "`inbound worker` processes of their own do it.",
    )
    worker_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often an idle worker looks for work."
    )

    hubspot_token: SecretStr | None = Field(
        default=None,
        description="The HubSpot private app's access token (pat-...); the CRM sync is off "
        "without it. Scopes: crm.objects.contacts.read/write, crm.schemas.contacts.read/write.",
    )
    hubspot_portal_id: int | None = Field(
        default=None, description="The HubSpot account (portal) id, shown in CRM links."
    )
    hubspot_url: str = Field(
        default="https://api.hubapi.com",
        description="HubSpot's API address; point it at `inbound crm emulator` to try the "
        "sync without a HubSpot account.",
    )
    hubspot_client_secret: SecretStr | None = Field(
        default=None,
        description="The private app's client secret, which signs HubSpot's webhooks; they "
        "are refused without it.",
    )
    hubspot_webhook_url: str | None = Field(
        default=None,
        description="The address HubSpot posts webhooks to, as HubSpot sees it, when a proxy "
        "in between changes it: signatures cover it. Default: the address the request came to.",
    )
    crm_batch_size: int = Field(
        default=100, ge=1, le=100, description="Contacts per HubSpot batch upsert (100 at most)."
    )
    crm_concurrency: int = Field(
        default=4, ge=1, le=32, description="HubSpot calls the sync has in flight at once."
    )
    crm_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="How long HubSpot has to answer one call."
    )
    crm_retry_base_seconds: float = Field(
        default=2.0,
        gt=0,
        description="The wait after a HubSpot server error or timeout; it doubles with every "
        "further failure of the same contacts (with jitter), up to INBOUND_CRM_RETRY_MAX_SECONDS.",
    )
    crm_retry_max_seconds: float = Field(
        default=300.0, gt=0, description="The longest wait before trying a contact again."
    )
    crm_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="One worker syncs at a time; when it stops renewing its turn for this "
        "long (it died), another takes over.",
    )
    crm_rate_limit: int = Field(
        default=100,
        ge=1,
        description="Calls allowed per 10 seconds until HubSpot's rate-limit headers say: "
        "100 for Free and Starter accounts, 190 for Professional and Enterprise.",
    )

    @property
    def crm_enabled(self) -> bool:
        """Whether contacts are synced to HubSpot: only with a token."""
        return self.hubspot_token is not None and bool(self.hubspot_token.get_secret_value())

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value
        networks = []
        for item in (str(item).strip() for item in items):
            if not item:
                continue
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or a CIDR network (e.g. 10.0.0.0/8)"
                ) from None
        return networks

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return normalized_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("not a Redis URL; use redis://HOST:PORT/DB (or rediss:// for TLS)")
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ValueError(
                "needs the Redis client, an optional extra: pip install 'inbound[redis]'"
            ) from None
        return value.strip()

    @field_validator("hubspot_url", "hubspot_webhook_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not a web address; use https://HOST (or http://HOST:PORT)")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not a web address; use https://HOST (or https://HOST/PATH)")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("an address without query, fragment, user name or password")
        return value.strip().rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "capture_rate_per_ip", "capture_rate_per_key", "tracking_rate_per_ip", "survey_rate_per_ip"
    )
    @classmethod
    def _readable_limit(cls, value: str) -> str:
        parse_limit(value)
        return value


def normalized_database_url(value: str) -> str:
    """The URL with the driver we use named: `postgres://` and `postgresql://` run on asyncpg,
    `sqlite://` on aiosqlite; anything else is refused."""
    try:
        url = make_url(value.strip())
    except ArgumentError:
        raise ValueError(f"not a database URL; use {ACCEPTED_DATABASE_URLS}") from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(f"{url.drivername}:// is not supported; use {ACCEPTED_DATABASE_URLS}")
    return url.set(drivername=driver).render_as_string(hide_password=False)


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad variable, its value (unless secret) and the reason."""
    problems = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else ""
        reason = str(item["msg"]).removeprefix("Value error, ")
        shown = "" if name in _SECRET_SETTINGS else f"={item.get('input')!r}"
        problems.append(f"INBOUND_{name.upper()}{shown}: {reason}")
    return "; ".join(problems)


@lru_cache
def get_settings() -> Settings:
    """Read the settings from the environment once per process."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_settings_error(error)) from None
