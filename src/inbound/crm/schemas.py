"""What the CRM API takes and gives."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, Strict, computed_field

from inbound.leads.stages import LifecycleStage
from inbound.schemas import RequestSchema, ResponseSchema


class RateLimitSeen(ResponseSchema):
    """HubSpot's rate-limit headers on its last answer."""

    max: int | None = Field(default=None, description="Calls allowed per interval.")
    remaining: int | None = Field(default=None, description="Calls left in the interval.")
    interval_milliseconds: int | None = None
    daily: int | None = Field(default=None, description="Calls allowed per day.")
    daily_remaining: int | None = None
    seen_at: datetime | None = None


class CrmFailure(ResponseSchema):
    """A contact HubSpot refused, and why; a later change to it tries again."""

    lead_id: uuid.UUID
    email: str
    error: str
    failed_at: datetime


class CrmStatus(ResponseSchema):
    """How the sync to HubSpot stands."""

    enabled: bool = Field(description="false: no INBOUND_HUBSPOT_TOKEN, nothing is synced.")
    portal_id: int | None
    properties_ready: bool = Field(
        description="Our contact properties exist in HubSpot (made on the sync's first run)."
    )
    pending: int = Field(description="Contacts waiting to be sent, changed since their sync.")
    due: int = Field(description="Pending contacts whose turn has come (not backing off).")
    synced: int
    failed: int
    deleted_in_hubspot: int = Field(
        description="Contacts someone deleted in HubSpot: their changes are not sent, until the "
        "person fills in a form again or a backfill asks for them."
    )
    failures: list[CrmFailure] = Field(description="The latest failures, newest first (20).")
    erasures_pending: int = Field(description="Erased contacts still to delete in HubSpot.")
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    rate_limit: RateLimitSeen | None
    paused_until: datetime | None = Field(
        description="HubSpot asked us to wait (429) or the token was refused, until then."
    )
    worker: str | None = Field(description="The worker whose turn it is to sync.")


StageList = Annotated[
    list[Annotated[LifecycleStage, Strict(False)]],
    Field(min_length=1, max_length=len(LifecycleStage), description="Only contacts at these."),
]


class ResyncRequest(RequestSchema):
    """Which contacts to send to HubSpot again; none given: every contact."""

    stages: StageList | None = None
    persona: str | None = Field(
        default=None, max_length=100, description="A persona's id or slug, or `none`."
    )
    site: Annotated[uuid.UUID, Strict(False)] | None = Field(
        default=None, description="First captured on this site."
    )
    updated_since: Annotated[AwareDatetime, Strict(False)] | None = Field(
        default=None, description="Only contacts changed since (RFC 3339, with an offset)."
    )
    only_unsynced: bool = Field(
        default=False, description="Only contacts HubSpot does not have yet, or refused."
    )
    include_deleted_in_hubspot: bool = Field(
        default=False,
        description="Also send the chosen contacts someone deleted in HubSpot, which creates "
        "them there again; without it they are left out.",
    )


class ResyncRead(ResponseSchema):
    """A backfill and how far it has come."""

    id: uuid.UUID
    filter: dict[str, object]
    total: int = Field(description="Contacts it queued.")
    synced: int
    failed: int
    created_at: datetime
    finished_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining(self) -> int:
        return max(0, self.total - self.synced - self.failed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """The share done, from 0 to 1."""
        return 1.0 if self.total == 0 else round((self.synced + self.failed) / self.total, 4)


class RejectedEvent(ResponseSchema):
    """An event of HubSpot's webhook request skipped as malformed; the others were applied."""

    index: int = Field(description="Its place in the request's array, from 0.")
    field: str = Field(description="The event's field at fault, e.g. `occurredAt`.")
    message: str


class WebhookReceipt(ResponseSchema):
    """What a HubSpot webhook request came to."""

    received: int = Field(description="Events in the request.")
    applied: int = Field(description="Events that changed, unlinked or erased a contact.")
    rejected: list[RejectedEvent] = Field(
        description="Events skipped because they are not what HubSpot sends."
    )
