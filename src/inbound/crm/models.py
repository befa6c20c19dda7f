"""The CRM sync's tables: each contact's place in HubSpot, erasures to carry out there, backfills,
and the sync's own state."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, text
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id, utcnow

PENDING = "pending"
SYNCED = "synced"
FAILED = "failed"
# Deleted in HubSpot by someone there: the HubSpot id is forgotten, and changes here are not
# sent (they would create the contact again) until the person fills in a form again or a
# backfill asks for it.
UNLINKED = "unlinked"
PENDING_ONLY = text("state = 'pending'")
FAILED_ONLY = text("state = 'failed'")
NOT_DONE = text("done_at IS NULL")


class CrmContact(SQLModel, table=True):
    """A contact's sync to HubSpot: its id there, and whether HubSpot has its latest state.

    The row is also the queue: a change to the contact makes it `pending` and moves its
    generation on, however many changes come before the next sync, which sends the contact as
    it is then. A sync that answers for an older generation leaves the row pending.
    """

    __tablename__ = "crm_contacts"
    __table_args__ = (
        Index("ix_crm_contacts_due", "due_at", postgresql_where=PENDING_ONLY,
              sqlite_where=PENDING_ONLY),
        Index("ix_crm_contacts_failed", "failed_at", postgresql_where=FAILED_ONLY,
              sqlite_where=FAILED_ONLY),
        Index("ix_crm_contacts_crm_id", "crm_id"),
        Index("ix_crm_contacts_resync_id", "resync_id"),
    )  # fmt: skip

    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True)
    crm_id: str | None = Field(default=None, max_length=32)
    state: str = Field(default=PENDING, max_length=8)
    generation: int = 1
    due_at: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Tries since the last success, for the backoff after server errors and timeouts.
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The backfill that queued it, whose progress counts it when it is done.
    resync_id: uuid.UUID | None = Field(
        default=None, foreign_key="crm_resyncs.id", ondelete="SET NULL"
    )
    # HubSpot's own properties (lead status, stage, name, ...) as last written there: sales
    # edits them in HubSpot too, so a sync sends only those that changed here since.
    last_sent: dict[str, str] | None = Field(default=None, sa_type=JSONType)


class CrmErasure(SQLModel, table=True):
    """A contact erased here, still to be erased in HubSpot (GDPR delete).

    It outlives the contact on purpose: the email is kept only until HubSpot has deleted it.
    """

    __tablename__ = "crm_erasures"
    __table_args__ = (
        Index("ix_crm_erasures_due", "due_at", postgresql_where=NOT_DONE, sqlite_where=NOT_DONE),
        # The sync holds a contact whose email still has an erasure to land (see queue.claim).
        Index("ix_crm_erasures_email", "email", postgresql_where=NOT_DONE,
              sqlite_where=NOT_DONE),
    )  # fmt: skip

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str | None = Field(default=None, max_length=320)
    crm_id: str | None = Field(default=None, max_length=32)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrmResync(SQLModel, table=True):
    """A backfill: the contacts a filter chose, queued for sync, and how far it has come."""

    __tablename__ = "crm_resyncs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    filter: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    total: int = 0
    synced: int = 0
    failed: int = 0
    requested_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrmSyncState(SQLModel, table=True):
    """The sync's one row: which worker leads it, and what HubSpot last told us."""

    __tablename__ = "crm_sync_state"

    id: int = Field(default=1, primary_key=True)
    # One worker syncs at a time, since HubSpot's rate limit is per app; the others wait
    # for its lease to lapse.
    leader: str | None = Field(default=None, max_length=200)
    leader_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The version of our property definitions HubSpot has; the sync creates them when it lags.
    schema_version: int = 0
    schema_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The rate-limit headers of HubSpot's last answer, and when it asked us to wait.
    rate_limit: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    paused_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrmInboundMark(SQLModel, table=True):
    """When HubSpot last changed a property of a contact that we applied: its webhooks come
    out of order and more than once, and an older change must not undo a newer one."""

    __tablename__ = "crm_inbound_marks"

    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True)
    property: str = Field(max_length=64, primary_key=True)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
