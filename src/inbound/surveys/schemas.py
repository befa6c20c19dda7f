"""What the touchpoint, survey and answer endpoints take and answer."""

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, Strict, StringConstraints, field_validator

from inbound.field_messages import describe_pattern
from inbound.leads.schemas import Email, VisitorId, normalise_email
from inbound.leads.stages import LifecycleStage
from inbound.schemas import (
    JSON_INTEGER,
    NO_NUL,
    NOT_BLANK,
    LongText,
    Name,
    RequestSchema,
    ResponseSchema,
    ShortText,
    Slug,
    UpdateSchema,
)
from inbound.surveys.models import AnswerSource, Metric, TouchpointKind

CHANNEL_PATTERN = describe_pattern(
    r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$",
    "must be lower-case letters and digits, in words joined by single hyphens or underscores "
    "(support, onboarding-call)",
)
Channel = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CHANNEL_PATTERN)]
Ref = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK),
    Field(description="An id or a slug."),
]
Kind = Annotated[TouchpointKind, Strict(False)]
Stage = Annotated[LifecycleStage, Strict(False)]
MetricName = Annotated[Metric, Strict(False)]
SlaHours = Annotated[
    int, Field(ge=1, le=8760, description="Hours a negative answer's follow-up may take."),
    JSON_INTEGER,
]  # fmt: skip
WindowDays = Annotated[
    int,
    Field(ge=1, le=3650, description="A contact (or browser) answers once per this many days."),
    JSON_INTEGER,
]
CesScale = Annotated[Literal[5, 7], Field(description="CES only: the top of its 1-to-N scale.")]
Question = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK)]
Comment = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


class TouchpointCreate(RequestSchema):
    """A moment of the journey: a lifecycle stage reached, an asset, or a channel.

    Exactly the field the kind names is given: `stage`, `asset` or `channel`.
    """

    slug: Slug | None = None
    name: Name
    description: LongText | None = None
    kind: Kind
    stage: Stage | None = None
    asset: Ref | None = Field(default=None, description="A live asset, by id or slug.")
    channel: Channel | None = None
    sla_hours: SlaHours = 48


class TouchpointUpdate(UpdateSchema):
    """Fields to change. A new `kind` clears the fields of the other kinds."""

    nullable: ClassVar[frozenset[str]] = frozenset({"description", "stage", "asset", "channel"})

    slug: Slug | None = None
    name: Name | None = None
    description: LongText | None = None
    kind: Kind | None = None
    stage: Stage | None = None
    asset: Ref | None = None
    channel: Channel | None = None
    sla_hours: SlaHours | None = None


class TouchpointRead(ResponseSchema):
    id: uuid.UUID
    slug: str
    name: str
    description: str | None
    kind: Kind
    stage: Stage | None
    asset_id: uuid.UUID | None
    channel: str | None
    sla_hours: int
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: int


class SurveyCreate(RequestSchema):
    """One question at a touchpoint. NPS is asked 0 to 10 and CSAT 1 to 5; CES takes `scale`
    (5 or 7), which the others refuse."""

    slug: Slug | None = None
    touchpoint: Ref
    metric: MetricName
    scale: CesScale | None = None
    question: Question
    comment_prompt: ShortText | None = Field(
        default=None, description="The comment box's prompt; left out, no comment is asked."
    )
    window_days: WindowDays = 90


class SurveyUpdate(UpdateSchema):
    """Fields to change. The metric and scale are fixed once the survey has answers."""

    nullable: ClassVar[frozenset[str]] = frozenset({"comment_prompt", "scale"})

    slug: Slug | None = None
    touchpoint: Ref | None = None
    metric: MetricName | None = None
    scale: CesScale | None = None
    question: Question | None = None
    comment_prompt: ShortText | None = None
    window_days: WindowDays | None = None


class SurveyRead(ResponseSchema):
    id: uuid.UUID
    slug: str
    touchpoint_id: uuid.UUID
    metric: MetricName
    scale_min: int
    scale_max: int
    question: str
    comment_prompt: str | None
    window_days: int
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: int


class AnswerCreate(RequestSchema):
    """An answer from a site's page. Who answers: `email` names a known contact (an unknown
    one is not stored), else a `visitor_id` linked to a contact; otherwise it is anonymous."""

    score: Annotated[int, Field(ge=0, le=10, description="On the survey's scale."), JSON_INTEGER]
    comment: Comment | None = None
    visitor_id: VisitorId | None = None
    email: Email | None = None
    key: str | None = Field(
        default=None,
        alias="_key",
        max_length=200,
        description="The site's public key, for forms that cannot send `Authorization`.",
    )
    redirect: str | None = Field(
        default=None,
        alias="_redirect",
        max_length=2048,
        description="Answer `303 See Other` to this URL (on one of the site's origins).",
    )
    honeypot: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None,
        alias="_hp",
        description="Leave empty: a field hidden from people, so that only bots fill it in.",
    )

    @field_validator("email")
    @classmethod
    def _normalise(cls, email: str) -> str:
        return normalise_email(email)


class LinkAnswerCreate(RequestSchema):
    """An answer through a signed link: the token says who and to what."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
    score: Annotated[int, Field(ge=0, le=10, description="On the survey's scale."), JSON_INTEGER]
    comment: Comment | None = None


class AnswerAccepted(ResponseSchema):
    """A stored answer. It says nothing of who answered: the public key is in every page."""

    id: uuid.UUID
    survey_id: uuid.UUID
    score: int
    answered_at: datetime


class AnswerRead(ResponseSchema):
    """A stored answer, with where the respondent stood when it answered."""

    id: uuid.UUID
    survey_id: uuid.UUID
    touchpoint_id: uuid.UUID
    metric: MetricName
    score: int
    scale_min: int
    scale_max: int
    comment: str | None
    contact_id: uuid.UUID | None
    visitor_id: str | None
    persona_id: uuid.UUID | None
    stage: str | None
    source: Annotated[AnswerSource, Strict(False)]
    site_id: uuid.UUID | None
    answered_at: datetime


class LinkCreate(RequestSchema):
    """A signed link for one contact to answer a survey."""

    # JSON has no UUID type: strict mode alone would refuse every JSON string.
    contact_id: Annotated[uuid.UUID, Strict(False)] = Field(
        description="The contact the link is for."
    )
    expires_in_days: Annotated[int, Field(ge=1, le=365), JSON_INTEGER] = 30


class LinkRead(ResponseSchema):
    token: str
    url: str = Field(description="The page where the contact answers.")
    expires_at: datetime
