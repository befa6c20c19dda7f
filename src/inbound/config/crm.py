"""The settings of the HubSpot sync."""

from pydantic import BaseModel, SecretStr, field_validator

from inbound.config.addresses import web_address
from inbound.config.fields import count, positive, setting


class CrmSettings(BaseModel):
    """The HubSpot account, and how fast and how often the sync calls it."""

    hubspot_token: SecretStr | None = setting(
        None,
        "The HubSpot private app's access token (pat-...); the CRM sync is off "
        "without it. Scopes: crm.objects.contacts.read/write, crm.schemas.contacts.read/write.",
    )
    hubspot_portal_id: int | None = setting(
        None, "The HubSpot account (portal) id, shown in CRM links."
    )
    hubspot_url: str = setting(
        "https://api.hubapi.com",
        "HubSpot's API address; point it at `inbound crm emulator` to try the "
        "sync without a HubSpot account.",
    )
    hubspot_client_secret: SecretStr | None = setting(
        None,
        "The private app's client secret, which signs HubSpot's webhooks; they "
        "are refused without it.",
    )
    hubspot_webhook_url: str | None = setting(
        None,
        "The address HubSpot posts webhooks to, as HubSpot sees it, when a proxy "
        "in between changes it: signatures cover it. Default: the address the request came to.",
    )
    crm_batch_size: int = count(100, "Contacts per HubSpot batch upsert (100 at most).", le=100)
    crm_concurrency: int = count(4, "HubSpot calls the sync has in flight at once.", le=32)
    crm_timeout_seconds: float = positive(30.0, "How long HubSpot has to answer one call.", le=300)
    crm_retry_base_seconds: float = positive(
        2.0,
        "The wait after a HubSpot server error or timeout; it doubles with every "
        "further failure of the same contacts (with jitter), up to INBOUND_CRM_RETRY_MAX_SECONDS.",
    )
    crm_retry_max_seconds: float = positive(
        300.0, "The longest wait before trying a contact again."
    )
    crm_lease_seconds: float = positive(
        30.0,
        "One worker syncs at a time; when it stops renewing its turn for this "
        "long (it died), another takes over.",
    )
    crm_rate_limit: int = count(
        100,
        "Calls allowed per 10 seconds until HubSpot's rate-limit headers say: "
        "100 for Free and Starter accounts, 190 for Professional and Enterprise.",
    )

    @property
    def crm_enabled(self) -> bool:
        """Whether contacts are synced to HubSpot: only with a token."""
        return self.hubspot_token is not None and bool(self.hubspot_token.get_secret_value())

    @field_validator("hubspot_url", "hubspot_webhook_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        return web_address(value)
