"""The settings of the worker's jobs: its passes (next-best content, churn, report days), its
webhook deliveries, and the HubSpot sync."""

from pydantic import BaseModel, SecretStr, field_validator

from inbound.config.addresses import web_address
from inbound.config.fields import count, period, positive, setting


class WorkerSettings(BaseModel):
    """How often the worker makes each pass, and how it delivers webhooks."""

    nbc_refresh_seconds: float = period(
        60.0,
        "How often the worker recomputes next-best-content signals (co-visitation, "
        "click-through); 0 leaves it to `inbound nbc refresh`.",
    )
    nbc_window_days: float = positive(
        30.0, "Days of events the signals are computed over.", le=3650
    )
    nbc_min_together: int = count(2, "Visitors who must view two assets for their lift to count.")
    churn_every_seconds: float = period(
        300.0,
        "How often the worker recomputes every eligible contact's churn risk and "
        "sends `lead.at_risk` / `lead.risk_cleared`; 0 turns it off in this process.",
    )
    churn_threshold: int = count(
        50,
        "The churn risk score (0-100) at which a contact is flagged at risk.",
        le=100,
    )
    report_days_every_seconds: float = period(
        60.0,
        "How often the worker rolls the days that are over, and those changed "
        "since, into the journey report's day tables; 0 turns it off in this process.",
    )
    webhook_timeout_seconds: float = positive(
        10.0, "How long a webhook receiver has to answer.", le=120
    )
    webhook_concurrency: int = count(32, "Webhook deliveries one worker sends at once.", le=1000)
    webhook_batch: int = count(256, "Deliveries one worker takes on per round.", le=5000)
    webhook_retry_base_seconds: float = positive(
        10.0,
        "The wait after a delivery's first failure; it doubles with every further "
        "failure (with jitter), up to INBOUND_WEBHOOK_RETRY_MAX_SECONDS.",
    )
    webhook_retry_max_seconds: float = positive(
        3600.0, "The longest wait between two tries of a delivery."
    )
    webhook_give_up_hours: float = positive(
        24.0, "How long a delivery is retried before it is dead."
    )
    webhook_allow_loopback: bool = setting(
        False,
        "Let webhooks go to this machine's loopback addresses (127.0.0.0/8, ::1, "
        "localhost), for a receiver in local development; private, link-local and other "
        "non-public addresses stay refused.",
    )
    worker_in_process: bool = setting(
        True,
        "Deliver webhooks from inside each API process too; false when "
        "`inbound worker` processes of their own do it.",
    )
    worker_poll_seconds: float = positive(0.5, "How often an idle worker looks for work.", le=60)


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
