"""The settings of the server: its database, its address, its logs, and what it believes."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from inbound.config.addresses import normalized_database_url, redis_address, trusted_networks
from inbound.config.fields import setting


class ServerSettings(BaseModel):
    """Where the service runs and on what."""

    database_url: str = setting(
        "sqlite+aiosqlite:///./inbound.db",
        "SQLAlchemy URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = setting(True, "JSON log lines; false for plain text.")
    max_body_bytes: int = setting(1_048_576, "Largest request body.", ge=1024)
    docs_enabled: bool = True
    trusted_proxies: Annotated[list[str], NoDecode] = setting(
        [],
        "Reverse proxies (IP addresses or CIDR networks, comma-separated) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty believes none.",
    )
    redis_url: str | None = setting(
        None, "redis://HOST:PORT/DB; rate-limit counters are shared there when set."
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> list[str]:
        return trusted_networks(value)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return normalized_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        return redis_address(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
