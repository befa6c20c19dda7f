import uuid
from datetime import datetime

from sqlalchemy import Index, Text, text
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id, utcnow
from inbound.tables import Versioned, partial_index

PENDING = "pending"
PENDING_ONLY = text("status = 'pending'")


class WebhookSubscription(Versioned, table=True):
    """An endpoint that hears of the lead events it chose, signed with its secret."""

    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    url: str = Field(max_length=2048)
    events: list[str] = Field(sa_type=JSONType)
    # Needed in clear to sign each delivery, so it is stored, and shown only when created.
    secret: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=500)
    active: bool = True


class WebhookDelivery(SQLModel, table=True):
    """One event on its way to one subscription: pending until delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        partial_index("ix_webhook_deliveries_due", "next_attempt_at", where=PENDING_ONLY),
        # A lead's deliveries to one endpoint leave in order: the earliest pending goes first.
        partial_index(
            "ix_webhook_deliveries_chain",
            "subscription_id",
            "lead_id",
            "lead_sequence",
            where=PENDING_ONLY,
        ),
        Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id", ondelete="CASCADE")
    event_id: uuid.UUID = Field(foreign_key="lead_events.id", ondelete="CASCADE")
    event_type: str = Field(max_length=32)
    lead_id: uuid.UUID
    # The event's place in its lead's history: lead version, then order within the change.
    lead_sequence: int
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Retries stop here and the delivery is dead; a replay sets it anew.
    give_up_at: datetime = Field(sa_type=UTCDateTime)
    # A worker sending it holds it until then; a worker that died lets it go when it passes.
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One try at sending a delivery, as the receiver answered it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id", ondelete="CASCADE")
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    response_body: str | None = Field(default=None, sa_type=Text)
    duration_ms: float
