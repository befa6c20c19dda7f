"""The settings of what comes in: captures, events and survey answers, their limits, and
the caches that serve them."""

from typing import Literal

from pydantic import BaseModel, SecretStr, field_validator

from inbound.config.addresses import public_address
from inbound.config.fields import count, period, setting
from inbound.ratelimit import parse_limit


class IntakeSettings(BaseModel):
    """How much the public endpoints take, and how long what they read is kept."""

    capture_rate_per_ip: str = setting("30/minute", "Captures one client address may post.")
    capture_rate_per_key: str = setting("3000/minute", "Captures one site key may post.")
    tracking_rate_per_ip: str = setting(
        "1200/minute",
        "Requests to the event endpoints (`/api/v1/batch`, `/api/v1/t`, ...) one "
        "client address may send.",
    )
    survey_rate_per_ip: str = setting("30/minute", "Survey answers one client address may post.")
    survey_answer_commit: Literal["async", "sync"] = setting(
        "async",
        "On PostgreSQL, `async` answers a survey answer before its commit is "
        "flushed to disk (a database crash loses at most the last moment's answers, never "
        "half of one); `sync` waits for the flush, as every other write does.",
    )
    signing_key: SecretStr | None = setting(
        None,
        "Signs survey links; when unset, a random key made once and kept in the database.",
        min_length=32,
    )
    public_url: str | None = setting(
        None,
        "The service's address as the public reaches it (https://HOST[/PATH]), "
        "which signed survey links are built on; unset: the address each request came to.",
    )
    tracking_retention_days: int = count(
        395,
        "How long events are kept; older ones are refused at ingest and removed "
        "by the worker (whole months on PostgreSQL) and by `inbound tracking prune`.",
        le=36_500,
    )
    custom_fields_per_contact: int = count(
        200,
        "Custom form fields a contact keeps; new names past it stay on their captures only.",
        le=10_000,
    )
    custom_fields_bytes_per_contact: int = setting(
        65_536,
        "Bytes of JSON a contact's custom form fields may take together.",
        ge=1024,
        le=16_777_216,
    )
    cache_seconds: float = setting(
        5.0,
        "How long a process keeps site keys, assets, personas and settings for "
        "captures; another process's changes reach it within this time. 0 keeps nothing.",
        ge=0,
        le=60,
    )
    remap_interval_seconds: float = period(
        5.0,
        "How often to look for persona, tag or setting changes to re-map "
        "contacts after; 0 turns background re-mapping off in this process.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_address(cls, value: str | None) -> str | None:
        return public_address(value)

    @field_validator(
        "capture_rate_per_ip",
        "capture_rate_per_key",
        "tracking_rate_per_ip",
        "survey_rate_per_ip",
    )
    @classmethod
    def _readable_limit(cls, value: str) -> str:
        parse_limit(value)
        return value
