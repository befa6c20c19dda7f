import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id, utcnow
from inbound.tables import Revised, Versioned, partial_index

# Stages besides `subscriber` and `lead` whose reached time reports look up by range.
RANGED_STAGES = ("mql", "sql", "opportunity", "customer", "evangelist")
# What the default cohort funnel and velocity read of each lead, so that they read the index
# alone (PostgreSQL): the groups they break down by and every later stage's time.
COHORT_COLUMNS = ["persona_id", "first_asset_id", "first_site_id", "mql_at", "sql_at",
                  "opportunity_at", "customer_at", "evangelist_at"]  # fmt: skip
# What the journey's cohort (every contact that entered the funnel in the period) reads, so that
# it reads the index alone: a year of 1,000,000 contacts in 0.55 s instead of 3.9 s (shared
# machine, load about 4; bench/journey.py).
JOURNEY_COLUMNS = [*COHORT_COLUMNS[:3], "lead_at", *COHORT_COLUMNS[3:]]


def _reached_index(stage: str) -> Index:
    """The contacts that reached ``stage``, by when: only they are in it."""
    column = f"{stage}_at"
    return partial_index(f"ix_contacts_{column}", column, where=f"{column} IS NOT NULL")


class Contact(Versioned, table=True):
    """A person we know by email: profile, funnel position, persona, fit and engagement."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_stage_id", "stage", "id"),
        Index("ix_contacts_persona_id_id", "persona_id", "id"),
        Index("ix_contacts_lead_at", "lead_at", postgresql_include=COHORT_COLUMNS),
        partial_index(
            "ix_contacts_subscriber_at_cohort",
            "subscriber_at",
            where="subscriber_at IS NOT NULL",
            postgresql_include=JOURNEY_COLUMNS,
        ),
        *(_reached_index(stage) for stage in RANGED_STAGES),
        Index("ix_contacts_created_at", "created_at", postgresql_include=["first_asset_id"]),
        Index("ix_contacts_change_seq_id", "change_seq", "id"),
        Index("ix_contacts_updated_at", "updated_at"),
        partial_index("ix_contacts_owner", "owner", where="owner IS NOT NULL"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    country: str | None = Field(default=None, max_length=100)
    industry: str | None = Field(default=None, max_length=100)
    company_size: int | None = None
    seniority: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    topics: list[str] = Field(default_factory=list, sa_type=JSONType)

    stage: str = Field(max_length=16)
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The first time each stage, or a later one, was reached: what funnel reports count.
    subscriber_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lead_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mql_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sql_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opportunity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    customer_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    evangelist_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    persona_id: uuid.UUID | None = Field(
        default=None, foreign_key="personas.id", ondelete="SET NULL"
    )
    persona_source: str | None = Field(default=None, max_length=8)
    persona_confidence: float | None = None
    persona_explanation: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    # Decayed weight of each captured asset at `touches_at`: the input of content affinity.
    touches: dict[str, float] = Field(default_factory=dict, sa_type=JSONType)
    touches_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    fit: float = 0.0
    grade: str = Field(default="D", max_length=1)
    # Engagement as it stood at `score_at`; it halves every half-life from then on.
    score: float = 0.0
    score_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    consent: bool | None = None
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_text_version: str | None = Field(default=None, max_length=64)
    consent_capture_id: uuid.UUID | None = None

    first_site_id: uuid.UUID | None = Field(
        default=None, foreign_key="sites.id", ondelete="SET NULL"
    )
    first_asset_id: uuid.UUID | None = Field(
        default=None, foreign_key="content_assets.id", ondelete="SET NULL"
    )
    first_utm_source: str | None = Field(default=None, max_length=200)
    first_utm_medium: str | None = Field(default=None, max_length=200)
    first_utm_campaign: str | None = Field(default=None, max_length=200)
    first_utm_term: str | None = Field(default=None, max_length=200)
    first_utm_content: str | None = Field(default=None, max_length=200)
    first_referrer: str | None = Field(default=None, max_length=2048)

    # Sales work, kept apart from the lifecycle stage as CRMs do.
    owner: str | None = Field(default=None, max_length=200)
    owned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lead_status: str = Field(
        default="new", max_length=16, sa_column_kwargs={"server_default": "new"}
    )
    lead_status_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Where the contact's last change sits in the order changes become visible: set by a
    # trigger whenever `version` moves (on PostgreSQL the writing transaction's id, which the
    # change feed holds back until every older transaction has ended).
    change_seq: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class Capture(SQLModel, table=True):
    """One form submission, kept as it was posted."""

    __tablename__ = "captures"
    __table_args__ = (
        Index("ix_captures_contact_id_id", "contact_id", "id"),
        Index("ix_captures_asset_id_id", "asset_id", "id"),
        Index("ix_captures_site_id_id", "site_id", "id"),
        Index("ix_captures_created_at", "created_at", postgresql_include=["asset_id"]),
        # A browser's own captures, for its next-best-content answers.
        partial_index("ix_captures_visitor_id", "visitor_id", where="visitor_id IS NOT NULL"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    # Assets and sites with captures cannot be deleted (archive them): history stays whole.
    asset_id: uuid.UUID = Field(foreign_key="content_assets.id", ondelete="RESTRICT")
    site_id: uuid.UUID = Field(foreign_key="sites.id", ondelete="RESTRICT")
    fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    consent: bool | None = None
    consent_text_version: str | None = Field(default=None, max_length=64)
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)
    referrer: str | None = Field(default=None, max_length=2048)
    page_url: str | None = Field(default=None, max_length=2048)
    user_agent: str | None = Field(default=None, max_length=500)
    ip_prefix: str | None = Field(default=None, max_length=64)
    visitor_id: str | None = Field(default=None, max_length=100)
    idempotency_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaptureIdempotencyKey(SQLModel, table=True):
    """The first capture made under a site's idempotency key; replays answer with it."""

    __tablename__ = "capture_idempotency_keys"

    site_id: uuid.UUID = Field(foreign_key="sites.id", ondelete="CASCADE", primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    capture_id: uuid.UUID
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # SHA-256 of the request the key was first sent with: the same key with another body is
    # refused rather than answered as the first. Null for keys claimed before it was kept.
    request_hash: str | None = Field(default=None, max_length=64)


class StageChange(SQLModel, table=True):
    """A contact's move from one lifecycle stage to another, with when and why."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        Index("ix_stage_changes_contact_id_id", "contact_id", "id"),
        Index("ix_stage_changes_to_stage_changed_at", "to_stage", "changed_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    from_stage: str | None = Field(default=None, max_length=16)
    to_stage: str = Field(max_length=16)
    cause: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_type=Text)
    capture_id: uuid.UUID | None = None
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScoreEvent(SQLModel, table=True):
    """A ledger row: points an activity earned, so every score can be explained and rebuilt."""

    __tablename__ = "score_events"
    __table_args__ = (
        # A contact's points by kind and time (caps), or over all kinds (churn's engagement
        # windows): read from the index alone on PostgreSQL.
        Index(
            "ix_score_events_contact_id_kind_created_at",
            "contact_id",
            "kind",
            "created_at",
            postgresql_include=["points"],
        ),
        partial_index("ix_score_events_merge_id", "merge_id", where="merge_id IS NOT NULL"),
        partial_index(
            "ux_score_events_contact_id_event_id",
            "contact_id",
            "event_id",
            where="event_id IS NOT NULL",
            unique=True,
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    points: float
    capped: bool = False
    capture_id: uuid.UUID | None = None
    # The behaviour event that earned the points, and the identity link that made it the
    # contact's: what undoing that link takes back.
    event_id: uuid.UUID | None = None
    merge_id: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LeadSetting(Revised, table=True):
    """A document of settings (scoring, mapping) an admin changes through the API."""

    __tablename__ = "lead_settings"

    name: str = Field(max_length=32, primary_key=True)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class RemapRun(SQLModel, table=True):
    """One background pass re-mapping contacts after personas, tags or settings changed."""

    __tablename__ = "remap_runs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    fingerprint: str = Field(max_length=64, index=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A pass in progress renews this with every batch; a stale one was abandoned.
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked: int = 0
    changed: int = 0


class LeadNote(SQLModel, table=True):
    """A note a rep wrote on a lead."""

    __tablename__ = "lead_notes"
    __table_args__ = (Index("ix_lead_notes_contact_id_id", "contact_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    body: str = Field(sa_type=Text)
    author: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LeadEvent(SQLModel, table=True):
    """The outbox: what happened to a lead, written in the transaction that made it happen.

    The worker hands each event on (to webhook subscriptions) and marks it dispatched.
    """

    __tablename__ = "lead_events"
    __table_args__ = (
        partial_index("ix_lead_events_undispatched", "seq", where="dispatched_at IS NULL"),
        Index("ix_lead_events_occurred_at", "occurred_at"),
        Index("ix_lead_events_lead_id", "lead_id"),
    )

    # Insertion order: one lead's events are written under its row lock, so they get
    # increasing numbers in the order they happened, whatever the clocks of the writers.
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: uuid.UUID = Field(default_factory=new_id, unique=True)
    type: str = Field(max_length=32)
    lead_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    # The lead's version after the change, and the event's place among that change's events.
    lead_version: int
    ordinal: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the change came from outside and must not be sent back there: `crm` for what
    # HubSpot reported, which the CRM sync leaves out.
    origin: str | None = Field(default=None, max_length=16)
