"""Settings, read only from ``INBOUND_*`` environment variables."""

from functools import lru_cache

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from inbound.config.addresses import ACCEPTED_DATABASE_URLS, normalized_database_url
from inbound.config.intake import IntakeSettings
from inbound.config.server import ServerSettings
from inbound.config.worker import CrmSettings, WorkerSettings

__all__ = [
    "ACCEPTED_DATABASE_URLS", "Settings", "SettingsError", "describe_settings_error",
    "get_settings", "normalized_database_url",
]  # fmt: skip

# Settings whose values never appear in an error message.
_SECRET_SETTINGS = {
    "hubspot_token", "hubspot_client_secret", "database_url", "redis_url", "signing_key",
}  # fmt: skip


class SettingsError(Exception):
    """A setting holds a value the service cannot use; the message names it and says why."""


# The groups' fields come in the order of the bases from last to first: server, intake, worker, crm.
class Settings(CrmSettings, WorkerSettings, IntakeSettings, ServerSettings, BaseSettings):
    """Everything an operator can change, with the defaults of the embedded setup."""

    model_config = SettingsConfigDict(env_prefix="INBOUND_", extra="ignore")


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
