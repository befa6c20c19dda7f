"""Survey tables: where experience is measured (touchpoints), what is asked (surveys), and
the answers.

An answer keeps the respondent's persona and lifecycle stage as they were when it answered:
figures per persona and stage then stay what they were, and a report over millions of
answers reads one table.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

from inbound.db import UTCDateTime, new_id, utcnow
from inbound.tables import Revised, Versioned, partial_index


class TouchpointKind(StrEnum):
    """What a touchpoint is attached to."""

    STAGE = "stage"  # a lifecycle stage reached (lead, customer...)
    ASSET = "asset"  # a content asset taken or viewed
    CHANNEL = "channel"  # a channel of the company's own (support, onboarding call...)


class Metric(StrEnum):
    NPS = "nps"  # 0-10: how likely to recommend
    CES = "ces"  # 1-5 or 1-7: how easy it was
    CSAT = "csat"  # 1-5: how satisfied


class AnswerSource(StrEnum):
    PUBLIC = "public"  # a site's page, with its public key
    LINK = "link"  # a signed link sent to a known contact


# What the survey report groups, filters and counts by, beside the metric and time.
REPORTED_COLUMNS = [
    "touchpoint_id", "survey_id", "persona_id", "stage", "source", "scale_max", "score",
]  # fmt: skip


class Touchpoint(Versioned, table=True):
    """A moment of the journey where experience is measured."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        CheckConstraint("kind IN ('stage', 'asset', 'channel')", name="kind_known"),
        CheckConstraint("sla_hours > 0", name="sla_positive"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=Text)
    kind: str = Field(max_length=16)
    # Exactly the one the kind names is set.
    stage: str | None = Field(default=None, max_length=16)
    asset_id: uuid.UUID | None = Field(
        default=None, foreign_key="content_assets.id", ondelete="RESTRICT", index=True
    )
    channel: str | None = Field(default=None, max_length=64)
    # How long a negative answer's follow-up may take before it is overdue.
    sla_hours: int = 48
    archived: bool = False


class Survey(Versioned, table=True):
    """One question at a touchpoint: NPS, CES or CSAT, with an optional comment."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("metric IN ('nps', 'ces', 'csat')", name="metric_known"),
        CheckConstraint(
            "(metric = 'nps' AND scale_min = 0 AND scale_max = 10)"
            " OR (metric = 'ces' AND scale_min = 1 AND scale_max IN (5, 7))"
            " OR (metric = 'csat' AND scale_min = 1 AND scale_max = 5)",
            name="scale_of_metric",
        ),
        CheckConstraint("window_days > 0", name="window_positive"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    touchpoint_id: uuid.UUID = Field(foreign_key="touchpoints.id", ondelete="RESTRICT", index=True)
    metric: str = Field(max_length=8)
    question: str = Field(max_length=500)
    scale_min: int
    scale_max: int
    # The comment box's prompt; None: no comment asked.
    comment_prompt: str | None = Field(default=None, max_length=500)
    # A contact (or browser) answers once per this many days.
    window_days: int = 90
    archived: bool = False


class SurveyAnswer(SQLModel, table=True):
    """One answer, with who answered and where they stood then."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        # Every index is written by each answer, the hot path: only what a reader needs.
        # The survey report: one metric's answers over a period, read from the index alone
        # (PostgreSQL): it holds every column the report groups and filters by.
        Index(
            "ix_survey_answers_metric_answered_at",
            "metric",
            "answered_at",
            postgresql_include=REPORTED_COLUMNS,
        ),
        # A survey's answers, page after page, in the order they came.
        Index("ix_survey_answers_survey_id_id", "survey_id", "id"),
        # A lead's answers, for its timeline and its erasure.
        partial_index("ix_survey_answers_contact_id", "contact_id", where="contact_id IS NOT NULL"),
        # A browser's anonymous answers, for the erasure of the lead it is linked to.
        partial_index(
            "ix_survey_answers_visitor_id_anonymous",
            "visitor_id",
            where="contact_id IS NULL AND visitor_id IS NOT NULL",
        ),
        CheckConstraint("score BETWEEN scale_min AND scale_max", name="score_on_scale"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    survey_id: uuid.UUID = Field(foreign_key="surveys.id", ondelete="RESTRICT")
    touchpoint_id: uuid.UUID = Field(foreign_key="touchpoints.id", ondelete="RESTRICT")
    metric: str = Field(max_length=8)
    score: int
    # The scale as asked: figures never mix scales.
    scale_min: int
    scale_max: int
    comment: str | None = Field(default=None, max_length=5000)
    # None: an answer of nobody we know (a page's visitor without a linked id).
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contacts.id", ondelete="CASCADE"
    )
    visitor_id: str | None = Field(default=None, max_length=100)
    # Where the contact stood when it answered: stays as it was.
    persona_id: uuid.UUID | None = Field(
        default=None, foreign_key="personas.id", ondelete="SET NULL"
    )
    stage: str | None = Field(default=None, max_length=16)
    source: str = Field(max_length=8)
    site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id", ondelete="SET NULL")
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurveyRespondent(SQLModel, table=True):
    """Who answered a survey, and when their current window began: one row per respondent.

    The once-per-window rule is a single upsert on this row (taken only when the window has
    ended), so two answers racing from the same contact or browser cannot both pass. A signed
    link's answer also takes a window that a page's answer took (`source` `public`): a page's
    word for who answers never keeps the contact's own link from answering.
    """

    __tablename__ = "survey_respondents"

    survey_id: uuid.UUID = Field(foreign_key="surveys.id", ondelete="CASCADE", primary_key=True)
    # `contact:<id>` or `visitor:<browser id>`.
    respondent: str = Field(max_length=120, primary_key=True)
    # Set for a contact, so that erasing the contact erases its windows too.
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contacts.id", ondelete="CASCADE", index=True
    )
    answered_at: datetime = Field(sa_type=UTCDateTime)
    # The door of the answer that took the window: `link` (verified) or `public`.
    source: str = Field(
        default=AnswerSource.PUBLIC.value,
        max_length=8,
        sa_column_kwargs={"server_default": AnswerSource.PUBLIC.value},
    )


class SigningKey(SQLModel, table=True):
    """A secret made once and shared by every process (survey links, when no key is set)."""

    __tablename__ = "signing_keys"

    name: str = Field(max_length=64, primary_key=True)
    secret: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseStatus(StrEnum):
    """Where the follow-up of a negative answer stands; it moves forward only."""

    OPEN = "open"  # nobody has reached the respondent yet
    CONTACTED = "contacted"  # someone reached out; the problem is not settled
    RESOLVED = "resolved"  # settled: the respondent may be asked again


class FeedbackCase(Revised, table=True):
    """The follow-up of one negative answer (an NPS detractor, a CES or CSAT at the bottom of
    its scale), opened in the answer's transaction and due by the touchpoint's SLA."""

    __tablename__ = "feedback_cases"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'contacted', 'resolved')", name="status_known"),
        # The overdue list and the open cases by due time: only cases not yet resolved.
        partial_index(
            "ix_feedback_cases_due_at_unresolved", "due_at", where="status <> 'resolved'"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # One case per answer: a retried answer cannot open a second.
    answer_id: uuid.UUID = Field(foreign_key="survey_answers.id", ondelete="CASCADE", unique=True)
    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    survey_id: uuid.UUID = Field(foreign_key="surveys.id", ondelete="RESTRICT", index=True)
    touchpoint_id: uuid.UUID = Field(foreign_key="touchpoints.id", ondelete="RESTRICT")
    status: str = Field(default=CaseStatus.OPEN.value, max_length=16)
    owner: str | None = Field(default=None, max_length=200)
    # What was done, in the owner's words (the last note given).
    note: str | None = Field(default=None, sa_type=Text)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    contacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
