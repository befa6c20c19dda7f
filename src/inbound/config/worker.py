"""The settings of the worker's passes: next-best content, churn, report days, webhooks."""

from pydantic import BaseModel

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
