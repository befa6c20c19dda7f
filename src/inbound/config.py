"""Settings, read only from ``INBOUND_*`` environment variables."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inbound.ratelimit import parse_limit


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
    worker_in_process: bool = Field(
        default=True,
        description="Deliver webhooks from inside each API process too; false when "
        "`inbound worker` processes of their own do it.",
    )
    worker_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often an idle worker looks for work."
    )

    @field_validator("capture_rate_per_ip", "capture_rate_per_key")
    @classmethod
    def _readable_limit(cls, value: str) -> str:
        parse_limit(value)
        return value


@lru_cache
def get_settings() -> Settings:
    """Read the settings from the environment once per process."""
    return Settings()
