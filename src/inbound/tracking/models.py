"""Behaviour events as sites send them, and the message ids already taken.

Events are append-only and kept apart from contacts. On PostgreSQL the table is partitioned by
month of `occurred_at` (a month is dropped whole when it leaves the retention period) with a
BRIN index on time; SQLite keeps one plain table. An event names its visitor by the ids the
page sent; which contact that is, is the identity map's answer at read time, so a merge undone
leaves every event as it was.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id
from inbound.tables import partial_index


class TrackingEvent(SQLModel, table=True):
    """One `page`, `track` or `identify` call, with its time corrected for the client's clock."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        Index("ix_tracking_events_occurred_at", "occurred_at", postgresql_using="brin"),
        Index("ix_tracking_events_anonymous_id_occurred_at", "anonymous_id", "occurred_at"),
        partial_index(
            "ix_tracking_events_user_id_occurred_at",
            "user_id",
            "occurred_at",
            where="user_id IS NOT NULL",
        ),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # Part of the key: PostgreSQL keys a partitioned table by its partition column too.
    occurred_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime)
    # No foreign key: a check per row would halve the ingest rate; a deleted site's events
    # are removed by the retention job.
    site_id: uuid.UUID
    message_id: str = Field(max_length=200)
    type: str = Field(max_length=16)
    # A `track` call's event name, or a `page` call's page name.
    event: str | None = Field(default=None, max_length=200)
    anonymous_id: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, sa_type=Text)
    referrer: str | None = Field(default=None, sa_type=Text)
    title: str | None = Field(default=None, max_length=500)
    # The content asset the event is about, when the page or the event names one.
    asset_id: uuid.UUID | None = None
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # What the page said of itself (campaign, locale, user agent); never an IP address.
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class TrackingMessage(SQLModel, table=True):
    """A message id a site already sent: the same id again within 48 hours is a retry."""

    __tablename__ = "tracking_messages"

    site_id: uuid.UUID = Field(primary_key=True)
    message_id: str = Field(max_length=200, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


class VisitorIdentity(SQLModel, table=True):
    """Which contact an id a page sent belongs to; an id belongs to one contact at most.

    ``kind`` is `anonymous` for a browser's anonymous id, `user` for a site's own user id.
    """

    __tablename__ = "visitor_identities"
    __table_args__ = (Index("ix_visitor_identities_contact_id", "contact_id", "kind"),)

    kind: str = Field(max_length=16, primary_key=True)
    external_id: str = Field(max_length=200, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    linked_at: datetime = Field(sa_type=UTCDateTime)
    # The merge-log entry that made this link, so that undoing it removes exactly this.
    merge_id: uuid.UUID | None = None


class IdentityMerge(SQLModel, table=True):
    """One attempt to join an id to a contact, linked or refused, and whether it was undone.

    A linked entry is also the backfill's to-do: `scored_at` stays empty until the worker has
    scored the id's earlier events for the contact.
    """

    __tablename__ = "identity_merges"
    __table_args__ = (
        Index("ix_identity_merges_contact_id_id", "contact_id", "id"),
        Index("ix_identity_merges_outcome_id", "outcome", "id"),
        partial_index(
            "ix_identity_merges_unscored", "id", where="outcome = 'linked' AND scored_at IS NULL"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    external_id: str = Field(max_length=200)
    # `capture` or `identify`: what asked for the link.
    cause: str = Field(max_length=16)
    capture_id: uuid.UUID | None = None
    message_id: str | None = Field(default=None, max_length=200)
    outcome: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    scored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by: str | None = Field(default=None, max_length=200)


class EngagementTask(SQLModel, table=True):
    """Work the event writer leaves for the worker: an identify to link, or an event of a known
    id to score. The writer's transaction only appends here; contacts are locked by the
    worker, as captures lock them, so the two never wait on each other in a circle."""

    __tablename__ = "engagement_tasks"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # `identify` or `activity`.
    task: str = Field(max_length=16)
    event_id: uuid.UUID
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    site_id: uuid.UUID
    message_id: str | None = Field(default=None, max_length=200)
    anonymous_id: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(default=None, max_length=200)
    # An identify's normalised email (from its traits or its userId), when it named one.
    email: str | None = Field(default=None, max_length=320)
    # An activity's kind of points (`page_view`, `content_view`).
    activity: str | None = Field(default=None, max_length=32)
